/**
 * The unit the checker works on: one client operation with its call and return times.
 * History files (JSON Lines or Jepsen EDN) are turned into these by history.ts / jepsen_history.ts.
 */

/** Values the models understand. The key-value model uses strings only; the register also numbers and null. */
export type Value = string | number | boolean | null;

export type OpName = "get" | "put" | "delete" | "cas" | "append" | "read" | "write";

export const OP_NAMES: readonly OpName[] = ["get", "put", "delete", "cas", "append", "read", "write"];

/** "ok": completed with `output`. "unknown": may have taken effect at any time after its call (return = +Infinity). */
export type OpStatus = "ok" | "unknown";

export interface Operation {
  /** Unique within the history; what reports and the visualization refer to. */
  id: number;
  client: string | number;
  op: OpName;
  key: string;
  /** The value written (put, append, write) or the new value of a cas. */
  value?: Value;
  /** The expected current value of a cas. */
  prev?: Value;
  /** What the operation returned (get/read: the value; cas: true when it swapped). Unset when unknown. */
  output?: Value;
  status: OpStatus;
  /** Call and return times in milliseconds. Intervals are closed: ops with ret === call of another overlap. */
  call: number;
  ret: number;
}

/** A note about the run (a fault injected, a node restarted) shown on the visualization's timelines. */
export interface Annotation {
  time: number;
  text: string;
}

export interface History {
  operations: Operation[];
  annotations: Annotation[];
  /** Operations dropped because they certainly did not take effect (status "fail"). */
  failedCount: number;
}

export function describeOperation(op: Operation): string {
  const args = op.op === "cas"
    ? `${show(op.prev)} -> ${show(op.value)}`
    : op.value === undefined
    ? ""
    : show(op.value);
  const target = op.key === "" ? "" : `[${JSON.stringify(op.key)}]`;
  const result = op.status === "unknown" ? " -> ?" : op.output === undefined ? "" : ` -> ${show(op.output)}`;
  return `${op.op}${target}(${args})${result}`;
}

export function show(v: Value | undefined): string {
  if (v === undefined) return "";
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 28)}…${text.slice(-28)} (${text.length} chars)` : text;
}
