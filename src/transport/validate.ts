/**
 * Checks that a decoded frame is a well-formed Raft Message before it may reach the core: known
 * fields only, each of the right type. The field tables are typed `{ [K in keyof T]-?: ... }`,
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

/** Returns the checked value (bytes are re-viewed) or throws FieldError. */
type Check<T> = (value: unknown) => T;

/**
 * A bad field, with its path built on the way out (".entries[3].term"): paths cost nothing on the
 * hot path, where every message is valid.
 */
class FieldError {
  constructor(public where: string, readonly problem: string) {}
}

function fail(expected: string, value: unknown): never {
  const got = value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : value instanceof Uint8Array
    ? "bytes"
    : typeof value;
  throw new FieldError("", `expected ${expected}, got ${got}`);
}

const count: Check<number> = (value) =>
  Number.isSafeInteger(value) && (value as number) >= 0 ? value as number : fail("an integer >= 0", value);

const nodeId: Check<number> = (value) =>
  Number.isSafeInteger(value) && (value as number) >= 1 ? value as number : fail("a node id >= 1", value);

const bool: Check<boolean> = (value) => typeof value === "boolean" ? value : fail("a boolean", value);

const text: Check<string> = (value) => typeof value === "string" ? value : fail("a string", value);

/** msgpackr decodes bin as Buffer; the core gets a plain Uint8Array view of the same bytes. */
const bytes: Check<Uint8Array> = (value) =>
  value instanceof Uint8Array
    ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    : fail("bytes", value);

function oneOf<T extends string>(allowed: Record<T, true>): Check<T> {
  const names = Object.keys(allowed).join("|");
  return (value) =>
    typeof value === "string" && Object.hasOwn(allowed, value) ? value as T : fail(names, value);
}

/** Checks the elements in place. */
function arrayOf<T>(item: Check<T>): Check<T[]> {
  return (value) => {
    if (!Array.isArray(value)) fail("an array", value);
    for (let i = 0; i < value.length; i++) {
      try {
        const checked = item(value[i]);
        if (checked !== value[i]) value[i] = checked;
      } catch (error) {
        if (error instanceof FieldError) error.where = `[${i}]${error.where}`;
        throw error;
      }
    }
    return value as T[];
  };
}

const OPTIONAL = Symbol("optional");
type FieldCheck<T> = Check<T> & { [OPTIONAL]?: true };

function optional<T>(check: Check<T>): FieldCheck<T | undefined> {
  const wrapped: FieldCheck<T | undefined> = (value) => value === undefined ? undefined : check(value);
  wrapped[OPTIONAL] = true;
  return wrapped;
}

type Fields<T> = { [K in keyof T]-?: FieldCheck<T[K]> };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Checks an object in place: the decoder built it for us alone, so only bytes fields are rewritten. */
function record<T>(fields: Fields<T>): Check<T> {
  const known = Object.keys(fields) as (keyof T & string)[];
  return (value) => {
    if (!isPlainObject(value)) fail("an object", value);
    for (const key in value) {
      if (!Object.hasOwn(fields, key)) throw new FieldError("", `unknown field "${key}"`);
    }
    for (const key of known) {
      const check = fields[key];
      const field = value[key];
      if (field === undefined) {
        if (!check[OPTIONAL]) throw new FieldError(`.${key}`, "missing");
        continue;
      }
      try {
        const checked = check(field);
        if (checked !== field) value[key] = checked;
      } catch (error) {
        if (error instanceof FieldError) error.where = `.${key}${error.where}`;
        throw error;
      }
    }
    return value as T;
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
const confChange = record<ConfChange>({ ops: arrayOf(confChangeOp), joint: bool, context: optional(text) });

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

const snapshotMeta = record<SnapshotMeta>({
  index: count,
  term: count,
  conf: confState,
});

const snapshot = record<Snapshot>({ meta: snapshotMeta, data: bytes });

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

/** `value` as a Message once checked; throws InvalidMessageError naming the bad field. */
export function validateMessage(value: unknown): Message {
  let checked: Message;
  try {
    checked = message(value);
  } catch (error) {
    if (error instanceof FieldError) throw new InvalidMessageError(`message${error.where}: ${error.problem}`);
    throw error;
  }
  if (checked.type === "snap" && checked.snapshot === undefined) {
    throw new InvalidMessageError("message.snapshot: missing on a snap message");
  }
  return checked;
}
