import { matchesFilters } from "./filters.ts";
import type { Reason } from "./handler_context.ts";
import type { RegisteredHandler } from "./registry.ts";
import { deepEqual, diff, type DiffItem, essenceOf } from "../structs/diffs.ts";
import { getField, type KubeObject } from "../structs/objects.ts";

/**
 * Why an object needs attention now, in the order they are dealt with:
 *  - finalizer: our finalizer must be added (delete handlers apply) or removed (none apply any more);
 *  - delete: it is being deleted and still carries our finalizer;
 *  - create: it was never handled (no last-handled essence);
 *  - update: its essence differs from the last handled one (plus resume handlers on first sight);
 *  - resume: first sight in this operator's lifetime of an object handled before;
 *  - none.
 */
export type Cause =
  | { kind: "none" }
  | { kind: "finalizer"; add: boolean }
  | { kind: "delete" }
  | { kind: "create"; essence: Record<string, unknown> }
  | { kind: "update"; essence: Record<string, unknown>; old: Record<string, unknown>; resume: boolean }
  | { kind: "resume"; essence: Record<string, unknown> };

/** One handler chosen for a cause, with the values it will be given. */
export interface Selected {
  handler: RegisteredHandler;
  reason: Reason;
  old?: unknown;
  new?: unknown;
  diff: DiffItem[];
  /** Update handlers: the value whose digest marks the handler as done (reruns when it changes). */
  doneFor?: unknown;
}

export interface CauseInput {
  body: KubeObject;
  handlers: readonly RegisteredHandler[];
  finalizer: string;
  lastHandled: Record<string, unknown> | undefined;
  /** Resume handlers already ran for this object in this operator's lifetime. */
  resumed: boolean;
}

const CHANGE_REASONS: Reason[] = ["create", "update", "resume"];

export function detectCause({ body, handlers, finalizer, lastHandled, resumed }: CauseInput): Cause {
  const hasFinalizer = (body.metadata.finalizers ?? []).includes(finalizer);
  if (body.metadata.deletionTimestamp) return hasFinalizer ? { kind: "delete" } : { kind: "none" };
  const wantsFinalizer = handlers.some((h) => h.reason === "delete" && matchesFilters(h.filters, body));
  if (wantsFinalizer !== hasFinalizer) return { kind: "finalizer", add: wantsFinalizer };
  if (!handlers.some((h) => CHANGE_REASONS.includes(h.reason))) return { kind: "none" };
  const essence = essenceOf(body);
  if (!lastHandled) return { kind: "create", essence };
  const wantsResume = !resumed && handlers.some((h) => h.reason === "resume");
  if (!deepEqual(lastHandled, essence)) {
    return { kind: "update", essence, old: lastHandled, resume: wantsResume };
  }
  return wantsResume ? { kind: "resume", essence } : { kind: "none" };
}

/** The handlers a cause calls, in declaration order, with their old/new/diff. */
export function selectHandlers(
  cause: Cause,
  handlers: readonly RegisteredHandler[],
  body: KubeObject,
): Selected[] {
  const matching = handlers.filter((h) => matchesFilters(h.filters, body));
  const plain = (reason: Reason) =>
    matching.filter((h) => h.reason === reason).map((handler) => ({ handler, reason, diff: [] }));
  switch (cause.kind) {
    case "delete":
      return plain("delete");
    case "create":
      return plain("create");
    case "resume":
      return plain("resume");
    case "update": {
      const selected: Selected[] = [];
      for (const handler of matching) {
        if (handler.reason === "resume" && cause.resume) {
          selected.push({ handler, reason: "resume", diff: [] });
        }
        if (handler.reason !== "update") continue;
        if (!handler.field) {
          const changes = diff(cause.old, cause.essence);
          selected.push({
            handler,
            reason: "update",
            old: cause.old,
            new: cause.essence,
            diff: changes,
            doneFor: cause.essence,
          });
          continue;
        }
        const old = getField(cause.old, handler.field);
        const new_ = getField(cause.essence, handler.field);
        if (deepEqual(old, new_)) continue;
        const changes = diff(old, new_, handler.field.split("."));
        selected.push({ handler, reason: "update", old, new: new_, diff: changes, doneFor: new_ });
      }
      return selected;
    }
    default:
      return [];
  }
}
