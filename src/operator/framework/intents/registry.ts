import { type HandlerDeclaration, HANDLERS, RESOURCE } from "./decorators.ts";
import type { HandlerContext } from "./handler_context.ts";
import type { ResourceRef } from "../structs/objects.ts";

/** A declared handler bound to the instance that serves it. */
export interface RegisteredHandler extends HandlerDeclaration {
  call(ctx: HandlerContext): unknown;
}

/** What one handler class declared: its resource and its handlers in declaration order. */
export interface Registry {
  resource: ResourceRef;
  handlers: RegisteredHandler[];
  owner: string;
}

type Metadata = Record<symbol, unknown>;

/** Reads the decorators of `instance`'s class (and its parent classes, parents first). */
export function readRegistry(instance: object): Registry {
  const owner = instance.constructor.name || "(anonymous class)";
  const chain: Metadata[] = [];
  for (let c = instance.constructor; c && c !== Object; c = Object.getPrototypeOf(c)) {
    const metadata = (c as { [Symbol.metadata]?: Metadata })[Symbol.metadata];
    if (metadata) chain.unshift(metadata);
  }
  const resource = chain.map((m) => (Object.hasOwn(m, RESOURCE) ? m[RESOURCE] : undefined)).filter(Boolean)
    .at(-1) as ResourceRef | undefined;
  if (!resource) {
    throw new Error(
      `${owner} has no @resource decorator: put @resource({ group, version, plural }) above the class`,
    );
  }
  const byId = new Map<string, RegisteredHandler>();
  for (const metadata of chain) {
    if (!Object.hasOwn(metadata, HANDLERS)) continue;
    for (const declaration of metadata[HANDLERS] as HandlerDeclaration[]) {
      const method = (instance as Record<string, unknown>)[declaration.methodName];
      if (typeof method !== "function") throw new Error(`${owner}.${declaration.methodName} is not a method`);
      byId.set(declaration.id, { ...declaration, call: (ctx) => method.call(instance, ctx) });
    }
  }
  return { resource, handlers: [...byId.values()], owner };
}
