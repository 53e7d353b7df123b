import type { KubeObject } from "../structs/objects.ts";
import type { MergePatch } from "../structs/patches.ts";

/**
 * Where the framework keeps its bookkeeping on each object: `status.operator`. The CRD must declare it
 * (see operatorStatusSchema in schema.ts), or the API server prunes it and handlers run again.
 *  - `lastHandled`: the essence (JSON) the last finished create/update cycle handled; the diff base.
 *  - `progress`: one record per handler of the cycle in flight; cleared when the cycle finishes.
 *  - `failures`: handlers that failed permanently, until they succeed again.
 */
export const OPERATOR_STATUS_FIELD = "operator";

export interface ProgressRecord {
  /** First call of the handler for this cycle (ISO time). */
  started: string;
  /** Calls that failed so far. */
  retries: number;
  /** Not to be called again before this time (ISO). */
  delayedUntil?: string;
  success?: boolean;
  failure?: boolean;
  message?: string;
  /** Update handlers: a digest of the `new` value they succeeded with; a later change reruns them. */
  digest?: string;
}

export interface HandlerFailure {
  message: string;
  time: string;
}

export interface OperatorStatus {
  lastHandled?: string;
  progress?: Record<string, ProgressRecord>;
  failures?: Record<string, HandlerFailure>;
}

export function readOperatorStatus(body: KubeObject): OperatorStatus {
  return (body.status?.[OPERATOR_STATUS_FIELD] ?? {}) as OperatorStatus;
}

/** The essence the last cycle handled, or undefined for an object never handled. */
export function readLastHandled(body: KubeObject): Record<string, unknown> | undefined {
  const text = readOperatorStatus(body).lastHandled;
  return text ? JSON.parse(text) : undefined;
}

export function readProgress(body: KubeObject, handlerId: string): ProgressRecord | undefined {
  return readOperatorStatus(body).progress?.[handlerId];
}

/** A status patch that writes `fields` into `status.operator`. */
export function operatorStatusPatch(fields: Partial<Record<keyof OperatorStatus, unknown>>): MergePatch {
  return { status: { [OPERATOR_STATUS_FIELD]: fields } };
}

/** JSON with sorted keys, so equal values give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );
}

/** A short digest of a JSON value, to tell whether a handler already handled exactly this value. */
export async function digestOf(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(value) ?? "undefined");
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
}
