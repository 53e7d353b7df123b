/**
 * A simulator trace as JSON, for replay in the live view (`deno task ui`, "Replay"): every
 * traced event (a message delivered, a leader elected, a crash, a partition, the core's own log
 * lines) with the virtual time, and the state of each node that changed since the event before
 * (role, term, vote, commit, applied, configuration, the tail of its log). Written by
 * `deno task sim --scenario S --mode M --seed N --trace-json FILE`.
 *
 * Recording hooks SimCluster.trace for the length of one synchronous run, so that the scenarios
 * need not know about it; the text trace is produced exactly as before.
 */
import type { ConfState, Entry, NodeId, Role, SafetyMode } from "../raft/mod.ts";
import { SimCluster, type SimNode } from "./cluster.ts";
import { payloadOf, type Violation } from "./invariants.ts";

export const SIM_TRACE_FORMAT = "raft-kv-sim-trace";
/** Entries of each node's log tail. */
const TAIL = 30;
/**
 * Events kept. A longer run keeps its first and last halves; the middle is folded into one gap
 * event that carries the state of the nodes as it was at the end of the gap.
 */
export const MAX_EVENTS = 20_000;
const HEAD = MAX_EVENTS / 2;

export interface SimTraceEntry {
  index: number;
  term: number;
  kind: "normal" | "noop" | "conf";
  text: string;
}

export interface SimNodeState {
  alive: boolean;
  role: Role;
  term: number;
  vote: NodeId;
  lead: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  conf: ConfState;
  joint: boolean;
  logTail: SimTraceEntry[];
}

export interface SimTraceEvent {
  /** Virtual milliseconds. */
  time: number;
  text: string;
  /** For a delivered message: who sent it to whom, its type and term. */
  message?: { from: NodeId; to: NodeId; type: string; term: number };
  /** Nodes whose state changed since the previous event, as they are when this event happens. */
  nodes?: Record<string, SimNodeState>;
  /** The node pairs the network cuts (either way), when that changed with this event. */
  cut?: Array<[NodeId, NodeId]>;
}

export interface SimTraceFile {
  format: typeof SIM_TRACE_FORMAT;
  version: 1;
  scenario: string;
  mode: SafetyMode;
  seed: number;
  violations: Violation[];
  /** Node states before the first event. */
  initial: Record<string, SimNodeState>;
  events: SimTraceEvent[];
  /** Events left out of the middle of a run longer than MAX_EVENTS (see the gap event). */
  truncated: number;
}

const MESSAGE_LINE = /^(\d+)->(\d+) (\w+) t(\d+)/;

function describeEntry(e: Entry): SimTraceEntry {
  const base = { index: e.index, term: e.term };
  if (e.type === "conf") {
    const ops = (e.change?.ops ?? []).map((op) =>
      op.op === "remove" ? `-${op.node}` : `+${op.op === "addVoter" ? "voter" : "learner"} ${op.node}`
    ).join(" ");
    const text = e.change?.joint ? `enter joint: ${ops}` : ops === "" ? "leave joint" : ops;
    return { ...base, kind: "conf", text };
  }
  if (!e.data?.length) return { ...base, kind: "noop", text: "no-op" };
  return { ...base, kind: "normal", text: payloadOf(e) };
}

/**
 * What decides whether a node's state changed, read without building its log tail (that is
 * built only on a change): the fields shown, and the last entry's term (a truncated and
 * rewritten log may end at the same index).
 */
function changeKey(node: SimNode): string {
  const raft = node.raft;
  const s = raft.status();
  const c = s.conf;
  return `${node.alive}|${s.role}|${s.term}|${s.vote}|${s.lead}|${s.commit}|${s.applied}|${s.lastIndex}|` +
    `${raft.termAt(s.lastIndex)}|${c.voters}|${c.votersOutgoing}|${c.learners}|${c.learnersNext}`;
}

function stateOf(node: SimNode): SimNodeState {
  const s = node.raft.status();
  const last = s.lastIndex;
  return {
    alive: node.alive,
    role: s.role,
    term: s.term,
    vote: s.vote,
    lead: s.lead,
    commit: s.commit,
    applied: s.applied,
    lastIndex: last,
    conf: s.conf,
    joint: s.joint,
    logTail: node.raft.entries(Math.max(1, last - TAIL + 1), last + 1).map(describeEntry),
  };
}

class Recorder {
  readonly events: SimTraceEvent[] = [];
  readonly initial: Record<string, SimNodeState> = {};
  #last = new Map<NodeId, string>();
  #lastState = new Map<NodeId, SimNodeState>();
  #lastCut = "";
  truncated = 0;

  onTrace(cluster: SimCluster, line: string): void {
    const event: SimTraceEvent = { time: cluster.now, text: line };
    const m = MESSAGE_LINE.exec(line);
    if (m) event.message = { from: Number(m[1]), to: Number(m[2]), type: m[3], term: Number(m[4]) };
    for (const node of cluster.nodes.values()) {
      // A node still opening its storage has no core to read: until then it is shown as it last was.
      const known = this.#lastState.get(node.id);
      const key = node.driver ? changeKey(node) : `${node.alive}|starting`;
      if (this.#last.get(node.id) === key) continue;
      const state = node.driver ? stateOf(node) : known && { ...known, alive: node.alive };
      if (!state) continue;
      this.#last.set(node.id, key);
      this.#lastState.set(node.id, state);
      (event.nodes ??= {})[node.id] = state;
    }
    const ids = [...cluster.nodes.keys()].sort((a, b) => a - b);
    const cut = ids.flatMap((a) =>
      ids.filter((b) => b > a && (cluster.net.isBlocked(a, b) || cluster.net.isBlocked(b, a)))
        .map((b): [NodeId, NodeId] => [a, b])
    );
    const cutKey = JSON.stringify(cut);
    if (cutKey !== this.#lastCut) {
      this.#lastCut = cutKey;
      event.cut = cut;
    }
    this.events.push(event);
    if (this.events.length >= MAX_EVENTS + HEAD) this.#foldMiddle();
  }

  #gap: SimTraceEvent | undefined;

  /** Folds the events after the first HEAD (and after the gap, once there is one) into the gap. */
  #foldMiddle(): void {
    const start = this.#gap ? HEAD + 1 : HEAD;
    const keepTail = MAX_EVENTS - HEAD - 1;
    const dropped = this.events.splice(start, this.events.length - keepTail - start);
    if (!dropped.length) return;
    const gap: SimTraceEvent = this.#gap ?? { time: dropped[0].time, text: "", nodes: {} };
    for (const event of dropped) {
      Object.assign(gap.nodes!, event.nodes ?? {});
      if (event.cut) gap.cut = event.cut;
    }
    this.truncated += dropped.length;
    gap.text =
      `... ${this.truncated} events left out, up to ${dropped.at(-1)!.time} ms (the state shown is ` +
      `as of their end) ...`;
    if (!this.#gap) {
      this.#gap = gap;
      this.events.splice(HEAD, 0, gap);
    }
  }

  finish(): void {
    if (this.events.length > MAX_EVENTS) this.#foldMiddle();
  }
}

/** Runs `run` (one simulation with tracing on) and records its structured trace. */
export function recordSimTrace<T extends { violations: Violation[] }>(
  meta: { scenario: string; mode: SafetyMode; seed: number },
  run: () => T,
): { result: T; trace: SimTraceFile } {
  const recorder = new Recorder();
  const original = SimCluster.prototype.trace;
  SimCluster.prototype.trace = function (this: SimCluster, line: string) {
    original.call(this, line);
    if (this.tracing) recorder.onTrace(this, line);
  };
  let result: T;
  try {
    result = run();
  } finally {
    SimCluster.prototype.trace = original;
  }
  recorder.finish();
  if (recorder.events.length === 0) {
    throw new Error("the simulation traced nothing: run it with tracing on (trace = true)");
  }
  return {
    result,
    trace: {
      format: SIM_TRACE_FORMAT,
      version: 1,
      ...meta,
      violations: result.violations,
      initial: recorder.initial,
      events: recorder.events,
      truncated: recorder.truncated,
    },
  };
}
