import type { ConditionUpdate } from "../structs/conditions.ts";
import type { DiffItem } from "../structs/diffs.ts";
import type { KubeObject, ObjectMeta } from "../structs/objects.ts";
import type { Logger } from "../engines/logging.ts";

/** Why a handler is called. */
export type Reason = "create" | "update" | "delete" | "resume" | "timer";

/**
 * A merge patch for the handler to fill; the framework applies it after the handler returns.
 * `status` goes to the status subresource, the rest to the object. `null` deletes a field.
 */
export interface ObjectPatch {
  metadata: { labels: Record<string, string | null>; annotations: Record<string, string | null> };
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
  [field: string]: unknown;
}

export type EventType = "Normal" | "Warning";

/** Everything a handler gets, in one object. */
export interface HandlerContext<Spec = Record<string, unknown>, Status = Record<string, unknown>> {
  /** The object as the handler sees it (a copy: edits go through `patch`). */
  body: KubeObject;
  spec: Spec;
  status: Status;
  meta: ObjectMeta;
  name: string;
  namespace?: string;
  uid: string;
  reason: Reason;
  /** The handler id: `reason/method` or `update/method/field`; keys its progress in status. */
  handlerId: string;
  /** Update: the last handled essence (or field value for a field handler). Undefined otherwise. */
  old?: unknown;
  /** Update: the current essence (or field value for a field handler). Undefined otherwise. */
  new?: unknown;
  /** Update: what changed from `old` to `new`. Empty otherwise. */
  diff: DiffItem[];
  patch: ObjectPatch;
  /** Sets a status condition; applied against the freshest status, also on a 409 retry. */
  setCondition(update: ConditionUpdate): void;
  logger: Logger;
  postEvent(type: EventType, reason: string, message: string): Promise<void>;
  /** 0 on the first call of this handler for this change, then 1, 2, ... */
  retry: number;
  /** When this handler was first called for this change. */
  started: Date;
  /** Aborted when the operator stops or loses its Lease: stop soon, the work will be resumed. */
  signal: AbortSignal;
  /**
   * True while this operator replica may still act (it holds a freshly renewed Lease and has not been
   * stopped). Unlike `signal`, it reads the clock when called, so it is already false when a process
   * that was stopped (SIGSTOP) past its Lease resumes: call it right before every action.
   */
  leading(): boolean;
}
