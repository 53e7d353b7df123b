import type { Selected } from "../intents/causes.ts";
import type { Outcome } from "./invocation.ts";
import { digestOf, type HandlerFailure, type ProgressRecord } from "./progress.ts";

/** Whether a handler's record says it is finished for the value it is now selected for. */
export async function isFinished(record: ProgressRecord | undefined, selected: Selected): Promise<boolean> {
  if (!record?.success && !record?.failure) return false;
  if (selected.doneFor === undefined) return true;
  return record.digest === await digestOf(selected.doneFor);
}

/** When a handler that is not finished may be called again (0: now). */
export function dueAt(record: ProgressRecord | undefined): number {
  return record?.delayedUntil ? Date.parse(record.delayedUntil) : 0;
}

/**
 * The handler's next progress record, and the change to its entry in `failures`: set, null to clear
 * (after a success), undefined to leave as it is (a retry).
 */
export async function progressAfter(
  previous: ProgressRecord | undefined,
  outcome: Outcome,
  selected: Selected,
  started: Date,
  now = Date.now(),
): Promise<{ record: ProgressRecord; failure: HandlerFailure | null | undefined }> {
  const retries = previous?.retries ?? 0;
  const digest = selected.doneFor === undefined ? undefined : await digestOf(selected.doneFor);
  const base = { started: started.toISOString(), retries, ...(digest ? { digest } : {}) };
  switch (outcome.kind) {
    case "success":
      return { record: { ...base, success: true }, failure: null };
    case "permanent":
      return {
        record: { ...base, failure: true, message: outcome.message },
        failure: { message: outcome.message, time: new Date(now).toISOString() },
      };
    case "retry":
      return {
        record: {
          started: base.started,
          retries: retries + 1,
          delayedUntil: new Date(now + outcome.delayMs).toISOString(),
          message: outcome.message,
        },
        failure: undefined,
      };
  }
}

/** A merge patch value that replaces a record whole: fields it lacks are deleted. */
export function replacingRecord(record: ProgressRecord): Record<string, unknown> {
  const cleared = { delayedUntil: null, success: null, failure: null, message: null, digest: null };
  return { ...cleared, ...record };
}
