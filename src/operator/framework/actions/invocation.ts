import { PermanentError, TemporaryError } from "../intents/errors.ts";
import type { EventType, HandlerContext, ObjectPatch, Reason } from "../intents/handler_context.ts";
import type { RegisteredHandler } from "../intents/registry.ts";
import type { Logger } from "../engines/logging.ts";
import type { ConditionUpdate } from "../structs/conditions.ts";
import type { DiffItem } from "../structs/diffs.ts";
import { cloneJson, type KubeObject } from "../structs/objects.ts";

/** How a handler call ended. `delayMs` says when to call it again. */
export type Outcome =
  | { kind: "success" }
  | { kind: "retry"; delayMs: number; message: string }
  | { kind: "permanent"; message: string };

/** What a call produced: its outcome and what the handler asked to write. */
export interface Invocation {
  outcome: Outcome;
  patch: ObjectPatch;
  conditions: ConditionUpdate[];
}

export interface InvocationInput {
  handler: RegisteredHandler;
  reason: Reason;
  body: KubeObject;
  old?: unknown;
  new?: unknown;
  diff: DiffItem[];
  retry: number;
  started: Date;
  logger: Logger;
  postEvent(type: EventType, reason: string, message: string): Promise<void>;
  signal: AbortSignal;
  leading?: () => boolean;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Exponential backoff for unexpected errors: initial * 2^retry, capped, with 10 % jitter. */
export function backoffDelay(backoff: Backoff, retry: number): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(retry, 30));
  return Math.round(base * (0.9 + Math.random() * 0.1));
}

export function emptyPatch(): ObjectPatch {
  return { metadata: { labels: {}, annotations: {} }, spec: {}, status: {} };
}

/** Calls the handler with its context and classifies what happened; it never throws. */
export async function invokeHandler(input: InvocationInput, backoff: Backoff): Promise<Invocation> {
  const body = cloneJson(input.body);
  const patch = emptyPatch();
  const conditions: ConditionUpdate[] = [];
  const context: HandlerContext = {
    body,
    spec: body.spec ?? {},
    status: body.status ?? {},
    meta: body.metadata,
    name: body.metadata.name,
    namespace: body.metadata.namespace,
    uid: body.metadata.uid,
    reason: input.reason,
    handlerId: input.handler.id,
    old: input.old,
    new: input.new,
    diff: input.diff,
    patch,
    setCondition: (update) => void conditions.push(update),
    logger: input.logger,
    postEvent: input.postEvent,
    retry: input.retry,
    started: input.started,
    signal: input.signal,
    leading: () => !input.signal.aborted && (input.leading?.() ?? true),
  };
  try {
    await input.handler.call(context);
    return { outcome: { kind: "success" }, patch, conditions };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof PermanentError) {
      return { outcome: { kind: "permanent", message }, patch, conditions };
    }
    const delayMs = error instanceof TemporaryError ? error.delayMs : backoffDelay(backoff, input.retry);
    const described = error instanceof TemporaryError
      ? message
      : `${(error as Error)?.name ?? "Error"}: ${message}`;
    // The patch is still applied: "waiting for X" in a condition is worth writing before a retry.
    return { outcome: { kind: "retry", delayMs, message: described }, patch, conditions };
  }
}
