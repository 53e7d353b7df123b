/**
 * Checks that a decoded frame is a well-formed Raft Message before it may reach the core, and
 * rebuilds it from the known fields only. The field tables are typed `{ [K in keyof T]-?: ... }`,
 * so a field added to a Raft type fails `deno check` here until the validator learns about it.
 */
import type {
  ConfChange,
  ConfChangeOp,
  ConfState,
  Entry,
  EntryType,
  Message,
  MessageType,
  Snapshot,
  SnapshotMeta,
} from "../raft/types.ts";

/** A decoded value that is not a valid Message; `message` names the offending field. */
export class InvalidMessageError extends Error {
  override name = "InvalidMessageError";
}

type Check<T> = (value: unknown, path: string) => T;

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : value instanceof Uint8Array
    ? "bytes"
    : typeof value;
  throw new InvalidMessageError(`${path}: expected ${expected}, got ${got}`);
}

const count: Check<number> = (value, path) =>
  Number.isSafeInteger(value) && (value as number) >= 0
    ? value as number
    : fail(path, "an integer >= 0", value);

const nodeId: Check<number> = (value, path) =>
  Number.isSafeInteger(value) && (value as number) >= 1
    ? value as number
    : fail(path, "a node id >= 1", value);

const bool: Check<boolean> = (value, path) =>
  typeof value === "boolean" ? value : fail(path, "a boolean", value);

const text: Check<string> = (value, path) =>
  typeof value === "string" ? value : fail(path, "a string", value);

/** msgpackr decodes bin as Buffer; the core gets a plain Uint8Array view of the same bytes. */
const bytes: Check<Uint8Array> = (value, path) =>
  value instanceof Uint8Array
    ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    : fail(path, "bytes", value);

function oneOf<T extends string>(allowed: Record<T, true>): Check<T> {
  const names = Object.keys(allowed).join("|");
  return (value, path) =>
    typeof value === "string" && Object.hasOwn(allowed, value) ? value as T : fail(path, names, value);
}

function arrayOf<T>(item: Check<T>): Check<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) fail(path, "an array", value);
    return value.map((element, i) => item(element, `${path}[${i}]`));
  };
}

const OPTIONAL = Symbol("optional");
type FieldCheck<T> = Check<T> & { [OPTIONAL]?: true };

function optional<T>(check: Check<T>): FieldCheck<T | undefined> {
  const wrapped: FieldCheck<T | undefined> = (value, path) =>
    value === undefined ? undefined : check(value, path);
  wrapped[OPTIONAL] = true;
  return wrapped;
}

type Fields<T> = { [K in keyof T]-?: FieldCheck<T[K]> };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function record<T>(fields: Fields<T>): Check<T> {
  const known = Object.keys(fields) as (keyof T & string)[];
  return (value, path) => {
    if (!isPlainObject(value)) fail(path, "an object", value);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(fields, key)) throw new InvalidMessageError(`${path}: unknown field "${key}"`);
    }
    const out: Partial<T> = {};
    for (const key of known) {
      const check = fields[key];
      const field = value[key];
      if (field === undefined && !check[OPTIONAL]) throw new InvalidMessageError(`${path}.${key}: missing`);
      const checked = check(field, `${path}.${key}`);
      if (checked !== undefined) out[key] = checked;
    }
    return out as T;
  };
}

const MESSAGE_TYPES: Record<MessageType, true> = {
  app: true,
  appResp: true,
  heartbeat: true,
  heartbeatResp: true,
  preVote: true,
  preVoteResp: true,
  vote: true,
  voteResp: true,
  snap: true,
  timeoutNow: true,
  readIndex: true,
  readIndexResp: true,
  transferLeader: true,
};

const ENTRY_TYPES: Record<EntryType, true> = { normal: true, conf: true };
const CONF_CHANGE_OPS: Record<ConfChangeOp["op"], true> = { addVoter: true, addLearner: true, remove: true };

const confChangeOp = record<ConfChangeOp>({ op: oneOf(CONF_CHANGE_OPS), node: nodeId });
const confChange = record<ConfChange>({ ops: arrayOf(confChangeOp), joint: bool });

const entry = record<Entry>({
  term: count,
  index: count,
  type: oneOf(ENTRY_TYPES),
  data: optional(bytes),
  change: optional(confChange),
});

const confState = record<ConfState>({
  voters: arrayOf(nodeId),
  votersOutgoing: arrayOf(nodeId),
  learners: arrayOf(nodeId),
  learnersNext: arrayOf(nodeId),
});

export const checkSnapshotMeta: Check<SnapshotMeta> = record<SnapshotMeta>({
  index: count,
  term: count,
  conf: confState,
});

const snapshot = record<Snapshot>({ meta: checkSnapshotMeta, data: bytes });

const message = record<Message>({
  type: oneOf(MESSAGE_TYPES),
  from: nodeId,
  to: nodeId,
  term: count,
  logTerm: optional(count),
  index: optional(count),
  entries: optional(arrayOf(entry)),
  commit: optional(count),
  reject: optional(bool),
  rejectHint: optional(count),
  snapshot: optional(snapshot),
  context: optional(text),
  transfer: optional(bool),
});

/** The Message in `value`, rebuilt from known fields; throws InvalidMessageError naming the bad field. */
export function validateMessage(value: unknown): Message {
  const checked = message(value, "message");
  if (checked.type === "snap" && checked.snapshot === undefined) {
    throw new InvalidMessageError("message.snapshot: missing on a snap message");
  }
  return checked;
}
