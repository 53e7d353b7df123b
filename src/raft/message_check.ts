/**
 * Shape checks for anything that claims to be a Message. `step()` runs them first, so a
 * malformed or hostile message is dropped at the door instead of throwing deep inside the
 * protocol (the fuzz test feeds `step()` garbage to prove it).
 */
import type { ConfChange, ConfState, Entry, Message, MessageType, Snapshot } from "./types.ts";

export const MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  "app",
  "appResp",
  "heartbeat",
  "heartbeatResp",
  "preVote",
  "preVoteResp",
  "vote",
  "voteResp",
  "snap",
  "timeoutNow",
  "readIndex",
  "readIndexResp",
  "transferLeader",
]);

const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isId = (v: unknown): v is number => isIndex(v) && v > 0;
const optional = <T>(v: unknown, check: (x: unknown) => x is T) => v === undefined || check(v);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isIdList = (v: unknown): v is number[] => Array.isArray(v) && v.every(isId);

function isConfChange(v: unknown): v is ConfChange {
  if (!isRecord(v) || typeof v.joint !== "boolean" || !Array.isArray(v.ops)) return false;
  if (v.context !== undefined && typeof v.context !== "string") return false;
  return v.ops.every((op) =>
    isRecord(op) && (op.op === "addVoter" || op.op === "addLearner" || op.op === "remove") && isId(op.node)
  );
}

export function isConfState(v: unknown): v is ConfState {
  return isRecord(v) && isIdList(v.voters) && isIdList(v.votersOutgoing) && isIdList(v.learners) &&
    isIdList(v.learnersNext);
}

function isEntry(v: unknown): v is Entry {
  if (!isRecord(v) || !isIndex(v.term) || !isId(v.index)) return false;
  if (v.type === "normal") return optional(v.data, (d): d is Uint8Array => d instanceof Uint8Array);
  return v.type === "conf" && isConfChange(v.change);
}

function isSnapshot(v: unknown): v is Snapshot {
  return isRecord(v) && isRecord(v.meta) && isIndex(v.meta.index) && isIndex(v.meta.term) &&
    isConfState(v.meta.conf) && v.data instanceof Uint8Array;
}

/** Entries must be consecutive, start right after `index`, and never go back in term. */
function entriesFollow(entries: Entry[], prevIndex: number, prevTerm: number): boolean {
  let index = prevIndex, term = prevTerm;
  for (const e of entries) {
    if (e.index !== index + 1 || e.term < term) return false;
    index = e.index;
    term = e.term;
  }
  return true;
}

export function isWellFormedMessage(v: unknown): v is Message {
  if (!isRecord(v)) return false;
  if (!MESSAGE_TYPES.has(v.type as MessageType)) return false;
  if (!isId(v.from) || !isId(v.to) || !isIndex(v.term)) return false;
  if (!optional(v.logTerm, isIndex) || !optional(v.index, isIndex) || !optional(v.commit, isIndex)) {
    return false;
  }
  if (!optional(v.rejectHint, isIndex)) return false;
  if (v.reject !== undefined && typeof v.reject !== "boolean") return false;
  if (v.transfer !== undefined && typeof v.transfer !== "boolean") return false;
  if (v.context !== undefined && typeof v.context !== "string") return false;
  if (v.entries !== undefined && !(Array.isArray(v.entries) && v.entries.every(isEntry))) return false;
  if (v.snapshot !== undefined && !isSnapshot(v.snapshot)) return false;
  switch (v.type as MessageType) {
    case "app":
      return isIndex(v.index) && isIndex(v.logTerm) && isIndex(v.commit) &&
        entriesFollow((v.entries as Entry[] | undefined) ?? [], v.index as number, v.logTerm as number);
    case "appResp":
      return v.reject ? isIndex(v.index) : optional(v.index, isIndex);
    case "vote":
    case "preVote":
      return isIndex(v.index) && isIndex(v.logTerm);
    case "snap":
      return v.snapshot !== undefined;
    case "readIndex":
      return typeof v.context === "string";
    case "readIndexResp":
      return typeof v.context === "string" && isIndex(v.index);
    case "transferLeader":
      return isId(v.index);
    default:
      return true;
  }
}
