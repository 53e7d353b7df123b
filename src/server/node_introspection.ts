/**
 * Read-only views into a running node that the live view (GET /trace) needs and RaftKvNode does
 * not expose yet: the tail of its Raft log, its ReadIndex round in flight, and its transport
 * (to observe messages). TypeScript's `private` allows element access; doing so only here keeps
 * the coupling to RaftKvNode's internals in one small file.
 */
import type { RaftKvNode } from "../kv/raft_kv_node.ts";
import type { LinearizableReads } from "../kv/linearizable_reads.ts";
import type { Entry, RaftNode } from "../raft/mod.ts";
import type { PeerTransport } from "../transport/mod.ts";
import { decodeCommand } from "../kv/commands.ts";

export interface LogTailEntry {
  index: number;
  term: number;
  /** "noop": a new leader's empty entry; "conf": a configuration change. */
  kind: "normal" | "noop" | "conf";
  /** `put k1`, `+learner 4 +learner 5`, `enter joint: +voter 4 -3`, `leave joint`. */
  text: string;
}

export interface ReadRoundView {
  context: string;
  /** Reads waiting on this round. */
  waiting: number;
  ageMs: number;
}

export function transportOf(node: RaftKvNode): PeerTransport {
  return node["transport"];
}

/** The last `count` entries of the node's log that are still in memory (not compacted away). */
export function logTail(node: RaftKvNode, count: number): LogTailEntry[] {
  const raft: RaftNode = node["raft"];
  const last = raft.lastIndex;
  return raft.entries(Math.max(1, last - count + 1), last + 1).map(describeEntry);
}

/** The ReadIndex round this node is waiting on, if any. */
export function readRound(node: RaftKvNode): ReadRoundView | undefined {
  const reads: LinearizableReads = node["reads"];
  const round = reads["round"];
  if (!round) return undefined;
  return {
    context: round.context,
    waiting: round.reads.length,
    ageMs: Math.round(performance.now() - round.startedAt),
  };
}

export function describeEntry(e: Entry): LogTailEntry {
  const base = { index: e.index, term: e.term };
  if (e.type === "conf") {
    const change = e.change;
    const ops = (change?.ops ?? []).map((op) =>
      op.op === "remove" ? `-${op.node}` : `+${op.op === "addVoter" ? "voter" : "learner"} ${op.node}`
    ).join(" ");
    const text = !change
      ? "configuration"
      : change.joint
      ? `enter joint: ${ops}`
      : ops === ""
      ? "leave joint"
      : ops;
    return { ...base, kind: "conf", text };
  }
  if (!e.data || e.data.length === 0) return { ...base, kind: "noop", text: "no-op" };
  const command = decodeCommand(e.data);
  return { ...base, kind: "normal", text: command ? `${command.op} ${command.key}` : "command" };
}
