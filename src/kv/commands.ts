/**
 * The commands the replicated state machine applies, and their results. A command carries the
 * client's id and sequence number so that a retried write applies once (see sessions.ts).
 */
import { kvPackr } from "./codec.ts";

export type KvCommand =
  | { op: "put"; key: string; value: string; client?: string; seq?: number }
  | { op: "delete"; key: string; client?: string; seq?: number }
  /** Compare-and-swap: set `value` only if the current value is `prev` (null: only if absent). */
  | { op: "cas"; key: string; value: string; prev: string | null; client?: string; seq?: number };

export type KvResult =
  | { op: "put"; index: number; prev: string | null }
  | { op: "delete"; index: number; deleted: boolean }
  | { op: "cas"; index: number; ok: boolean; current: string | null };

export function encodeCommand(command: KvCommand): Uint8Array {
  return kvPackr.pack(command);
}

const isString = (v: unknown): v is string => typeof v === "string";

/** Decodes a committed entry's payload; undefined for anything that is not a valid command. */
export function decodeCommand(data: Uint8Array): KvCommand | undefined {
  let c: unknown;
  try {
    c = kvPackr.unpack(data);
  } catch {
    return undefined;
  }
  if (typeof c !== "object" || c === null) return undefined;
  const o = c as Record<string, unknown>;
  if (!isString(o.key)) return undefined;
  if (o.client !== undefined && !isString(o.client)) return undefined;
  if (o.seq !== undefined && !(typeof o.seq === "number" && Number.isSafeInteger(o.seq))) return undefined;
  switch (o.op) {
    case "put":
      return isString(o.value) ? c as KvCommand : undefined;
    case "delete":
      return c as KvCommand;
    case "cas":
      return isString(o.value) && (o.prev === null || isString(o.prev)) ? c as KvCommand : undefined;
    default:
      return undefined;
  }
}
