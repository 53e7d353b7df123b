import type { Filters } from "./filters.ts";
import type { Reason } from "./handler_context.ts";
import type { ResourceRef } from "../structs/objects.ts";

/** What one decorator declared, kept in the class's decorator metadata until the Operator reads it. */
export interface HandlerDeclaration {
  id: string;
  reason: Reason;
  methodName: string;
  /** Update handlers only: fire when this dotted field path changed. */
  field?: string;
  /** Timers only. */
  intervalMs?: number;
  initialDelayMs?: number;
  filters: Filters;
}

export const HANDLERS = Symbol("operator.handlers");
export const RESOURCE = Symbol("operator.resource");

// A handler may type its context as it likes (HandlerContext<MySpec>): `never` accepts any parameter.
type HandlerMethod<This> = (this: This, ctx: never) => unknown;
type MethodDecorator = <This>(
  method: HandlerMethod<This>,
  context: ClassMethodDecoratorContext<This>,
) => void;

function declare<This>(
  context: ClassMethodDecoratorContext<This>,
  declaration: Omit<HandlerDeclaration, "id" | "methodName">,
) {
  if (context.static || context.private || typeof context.name !== "string") {
    throw new Error(
      `@on${declaration.reason} on ${String(context.name)}: handlers must be public instance methods ` +
        `with a string name (not static, not #private)`,
    );
  }
  const methodName = context.name;
  const id = [declaration.reason, methodName, declaration.field].filter(Boolean).join("/");
  const metadata = context.metadata as Record<symbol, unknown>;
  // Own list per class: the metadata object of a subclass may inherit its parent's.
  if (!Object.hasOwn(metadata, HANDLERS)) metadata[HANDLERS] = [];
  const declarations = metadata[HANDLERS] as HandlerDeclaration[];
  if (declarations.some((d) => d.id === id)) {
    throw new Error(`handler ${id} is declared twice on the same method; remove one decorator`);
  }
  declarations.push({ ...declaration, id, methodName });
}

/** The resource a handler class serves. */
export function resource(ref: ResourceRef) {
  for (const key of ["group", "version", "plural"] as const) {
    if (!ref[key]) throw new Error(`@resource(${JSON.stringify(ref)}): "${key}" is required`);
  }
  return (_target: abstract new (...args: never[]) => unknown, context: ClassDecoratorContext) => {
    (context.metadata as Record<symbol, unknown>)[RESOURCE] = { ...ref };
  };
}

/** Called once for each new object (no last-handled record yet). */
export function onCreate(filters: Filters = {}): MethodDecorator {
  return (_method, context) => declare(context, { reason: "create", filters });
}

/**
 * Called when the object's essence (spec, labels, annotations) changed since it was last handled.
 * With a field (`"spec.replicas"`), only when that field changed; `old`/`new` are then its values.
 */
export function onUpdate(field?: string | Filters, filters: Filters = {}): MethodDecorator {
  const options = typeof field === "object" ? field : filters;
  const path = typeof field === "string" ? field : undefined;
  return (_method, context) => declare(context, { reason: "update", field: path, filters: options });
}

/** Called when the object is being deleted; the framework holds it with a finalizer until then. */
export function onDelete(filters: Filters = {}): MethodDecorator {
  return (_method, context) => declare(context, { reason: "delete", filters });
}

/** Called for objects that exist and were handled before, when this operator (or leader) starts. */
export function onResume(filters: Filters = {}): MethodDecorator {
  return (_method, context) => declare(context, { reason: "resume", filters });
}

/** Called every `intervalMs` for each live object while this operator leads. */
export function timer(
  intervalMs: number,
  options: Filters & { initialDelayMs?: number } = {},
): MethodDecorator {
  if (!(intervalMs > 0)) {
    throw new Error(`@timer(${intervalMs}): the interval must be a positive number of ms`);
  }
  const { initialDelayMs, ...filters } = options;
  return (_method, context) =>
    declare(context, { reason: "timer", intervalMs, initialDelayMs: initialDelayMs ?? intervalMs, filters });
}
