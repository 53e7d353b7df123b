/**
 * Raft's safety properties (Figure 3 of the paper), checked as the simulation runs:
 * - Election Safety: at most one leader per term;
 * - Log Matching: entries with the same index and term are the same entry (and, checked
 *   pairwise at the end, identical prefixes);
 * - Leader Completeness: a new leader holds every entry committed before it;
 * - State Machine Safety: no two different entries are committed or applied at one index;
 * - Configuration Agreement: every node that has applied up to index i has the same
 *   configuration in force there (the one its log, or the snapshot covering i, prescribes);
 * - One Vote Per Term: a node grants its vote to one candidate per term, across restarts and
 *   lost disks (a wiped voter that voted again would break Election Safety).
 * An entry's identity is its term plus its payload.
 */
import type { ConfState, Entry, NodeId } from "../raft/mod.ts";
import { decodeCommand } from "../kv/commands.ts";

export type InvariantName =
  | "ElectionSafety"
  | "LogMatching"
  | "LeaderCompleteness"
  | "StateMachineSafety"
  | "ConfigurationAgreement"
  | "OneVotePerTerm";

export interface Violation {
  invariant: InvariantName;
  time: number;
  detail: string;
}

const decoder = new TextDecoder();

export function payloadOf(e: Entry): string {
  if (e.type === "conf") return `conf${JSON.stringify(e.change?.ops)}${e.change?.joint ? "joint" : ""}`;
  if (!e.data || !e.data.length) return "(no-op)";
  const c = decodeCommand(e.data);
  if (!c) return decoder.decode(e.data);
  return c.op === "delete" ? `delete ${c.key}` : `${c.key}=${c.value}`;
}

/** Entries are shared by reference between nodes: each one's identity is computed once. */
const identities = new WeakMap<Entry, string>();

export function entryIdentity(e: Entry): string {
  let identity = identities.get(e);
  if (identity === undefined) {
    identity = `t${e.term} ${payloadOf(e)}`;
    identities.set(e, identity);
  }
  return identity;
}

/** The parts of a node the checker needs to look at. */
export interface LogView {
  id: NodeId;
  snapshotIndex: number;
  lastIndex: number;
  entryAt(index: number): Entry | undefined;
}

export class InvariantChecker {
  readonly violations: Violation[] = [];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly entryAtIndexTerm = new Map<string, string>();
  private readonly committed = new Map<number, string>();
  private readonly applied = new Map<number, { node: NodeId; identity: string }>();
  private readonly configAt = new Map<number, { node: NodeId; conf: string }>();
  private readonly votes = new Map<string, NodeId>();
  maxCommitted = 0;

  constructor(private readonly clock: () => number) {}

  private fail(invariant: InvariantName, detail: string): void {
    this.violations.push({ invariant, time: this.clock(), detail });
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  onLeader(term: number, view: LogView): void {
    const existing = this.leaderOfTerm.get(term);
    if (existing !== undefined && existing !== view.id) {
      this.fail("ElectionSafety", `term ${term} has two leaders: ${existing} and ${view.id}`);
    }
    this.leaderOfTerm.set(term, view.id);
    for (let i = view.snapshotIndex + 1; i <= this.maxCommitted; i++) {
      const want = this.committed.get(i);
      if (want === undefined) continue;
      const e = view.entryAt(i);
      const have = e ? entryIdentity(e) : "(missing)";
      if (have !== want) {
        this.fail(
          "LeaderCompleteness",
          `node ${view.id}, leader of term ${term}, lacks committed entry ${i} [${want}]; it has [${have}]`,
        );
        return;
      }
    }
  }

  onPersist(node: NodeId, entries: readonly Entry[]): void {
    for (const e of entries) {
      const key = `${e.index}:${e.term}`;
      const payload = entryIdentity(e);
      const seen = this.entryAtIndexTerm.get(key);
      if (seen === undefined) this.entryAtIndexTerm.set(key, payload);
      else if (seen !== payload) {
        this.fail(
          "LogMatching",
          `node ${node} has entry ${e.index} term ${e.term} = [${payload}], another has [${seen}]`,
        );
      }
    }
  }

  /** A node's commit index moved from `from` to `to`; its log holds the entries it committed. */
  onCommit(view: LogView, from: number, to: number): void {
    for (let i = Math.max(from, view.snapshotIndex) + 1; i <= to; i++) {
      const e = view.entryAt(i);
      if (!e) continue;
      const identity = entryIdentity(e);
      const seen = this.committed.get(i);
      if (seen === undefined) this.committed.set(i, identity);
      else if (seen !== identity) {
        this.fail(
          "StateMachineSafety",
          `index ${i} committed as [${seen}] and by node ${view.id} as [${identity}]`,
        );
      }
    }
    if (to > this.maxCommitted) this.maxCommitted = to;
  }

  onApply(node: NodeId, e: Entry): void {
    const identity = entryIdentity(e);
    const seen = this.applied.get(e.index);
    if (seen === undefined) this.applied.set(e.index, { node, identity });
    else if (seen.identity !== identity) {
      this.fail(
        "StateMachineSafety",
        `index ${e.index} applied as [${seen.identity}] by node ${seen.node} and as [${identity}] by node ${node}`,
      );
    }
  }

  /** After a Ready: `node` has applied up to `applied`, with configuration `conf` in force. */
  onConfigInForce(node: NodeId, applied: number, conf: ConfState): void {
    const text = describeConf(conf);
    const seen = this.configAt.get(applied);
    if (seen === undefined) this.configAt.set(applied, { node, conf: text });
    else if (seen.conf !== text) {
      this.fail(
        "ConfigurationAgreement",
        `at applied index ${applied} node ${seen.node} has ${seen.conf} but node ${node} has ${text}`,
      );
    }
  }

  /** `voter` granted its vote in `term` to `candidate`. */
  onVoteGranted(voter: NodeId, term: number, candidate: NodeId): void {
    const key = `${voter}:${term}`;
    const earlier = this.votes.get(key);
    if (earlier === undefined) this.votes.set(key, candidate);
    else if (earlier !== candidate) {
      this.fail("OneVotePerTerm", `node ${voter} voted for ${earlier} and for ${candidate} in term ${term}`);
    }
  }

  /** Full Log Matching: if two logs agree at (index, term), they agree on everything before it. */
  checkLogPrefixes(views: LogView[]): void {
    for (let a = 0; a < views.length; a++) {
      for (let b = a + 1; b < views.length; b++) {
        const x = views[a], y = views[b];
        const lo = Math.max(x.snapshotIndex, y.snapshotIndex) + 1;
        let agreeing = false;
        for (let i = Math.min(x.lastIndex, y.lastIndex); i >= lo; i--) {
          const ex = x.entryAt(i), ey = y.entryAt(i);
          if (!ex || !ey) continue;
          if (!agreeing) {
            agreeing = ex.term === ey.term;
          } else if (entryIdentity(ex) !== entryIdentity(ey)) {
            this.fail(
              "LogMatching",
              `nodes ${x.id} and ${y.id} agree on a later entry but differ at ${i}: [${
                entryIdentity(ex)
              }] vs [${entryIdentity(ey)}]`,
            );
            return;
          }
        }
      }
    }
  }
}

function describeConf(c: ConfState): string {
  const list = (ids: number[]) => [...ids].sort((a, b) => a - b).join(",");
  let text = `voters [${list(c.voters)}]`;
  if (c.votersOutgoing.length) text += ` outgoing [${list(c.votersOutgoing)}]`;
  if (c.learners.length) text += ` learners [${list(c.learners)}]`;
  if (c.learnersNext.length) text += ` next [${list(c.learnersNext)}]`;
  return text;
}
