/**
 * RaftNode: the public face of the core (etcd's RawNode, in spirit). The shell loop is:
 *
 *   node.tick() / node.step(msg) / node.propose(...) / node.readIndex(...)   any number of times
 *   if (node.hasReady()) {
 *     const rd = node.ready();
 *     persist rd.snapshot, rd.entries, rd.hardState durably      (persist before you speak)
 *     send rd.messages
 *     restore rd.snapshot (if any) and call node.applySnapshot(rd.snapshot),
 *     then apply rd.committedEntries in order, calling node.applyConfChange(e) for each
 *       configuration entry (it says whether the entry took effect)
 *     serve rd.readStates once applied >= their index
 *     node.advance(rd)
 *   }
 *
 * Exactly one Ready is outstanding at a time; inputs may keep arriving while it is processed,
 * including a snapshot from the leader that covers entries of the outstanding Ready.
 * Committed entries are handed out exactly once, in order. Membership changes take effect only
 * through applyConfChange/applySnapshot, explicitly, in log order (etcd's ApplyConfChange);
 * advance() refuses a Ready whose configuration entries or snapshot were not applied that way.
 */
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  Ready,
  SafetyMode,
  Snapshot,
  SoftState,
} from "./types.ts";
import { DEFAULT_RAFT_CONFIG, Raft, type RaftConfig } from "./raft.ts";
import { RaftLog } from "./log.ts";
import { EMPTY_MEMBERSHIP, fromConfState } from "./membership.ts";

export interface RaftNodeOptions {
  id: NodeId;
  /** Deterministic randomness in [0, 1) (seeded in tests and the simulator). */
  random: () => number;
  electionTick?: number;
  heartbeatTick?: number;
  safetyMode?: SafetyMode;
  maxInflight?: number;
  maxMsgBytes?: number;
  maxUncommittedEntries?: number;
  /** Upper bound of entry bytes handed out for apply in one Ready. */
  maxApplyBytes?: number;
  logger?: (line: string) => void;
}

/** What storage recovered (or the bootstrap state of a brand-new member). */
export interface InitialState {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: string;
  learner: boolean;
  recentActive: boolean;
  inflight: number;
}

export interface NodeStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  lead: NodeId;
  role: SoftState["role"];
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  conf: ConfState;
  joint: boolean;
  leadTransferee: NodeId;
  safetyMode: SafetyMode;
  quarantined: boolean;
  /** Leader only. */
  progress?: Record<string, ProgressStatus>;
}

/**
 * The snapshot every initial member starts from: index 1, term 1, the initial voters, and an
 * empty state machine. Putting the first configuration in a snapshot (rather than in log
 * entries) means a member added later always learns the full membership history from the
 * snapshot it is sent first.
 */
export function bootstrapSnapshot(voters: NodeId[], emptyState: Uint8Array = new Uint8Array()): Snapshot {
  const ids = [...new Set(voters)].sort((a, b) => a - b);
  if (ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id) || id <= 0)) {
    throw new Error(`bootstrap needs at least one positive integer node id, got [${voters.join(", ")}]`);
  }
  return {
    meta: { index: 1, term: 1, conf: { voters: ids, votersOutgoing: [], learners: [], learnersNext: [] } },
    data: emptyState,
  };
}

/**
 * Messages that may leave before the Ready's state is durable: a leader's appends and heartbeats
 * (Raft thesis §10.2.1), and the ReadIndex traffic (a follower's heartbeat answer, a forwarded
 * read request, the leader's read index answer). They promise nothing about the sender's disk: the
 * leader counts its own copy toward a commit only after advance(), i.e. once persisted, and a
 * heartbeat answer only says the sender is at the leader's term now, which a crash cannot make
 * false for the read it confirms (votes are persisted before they are sent). etcd's raft sends the
 * same ones at once (only MsgAppResp, MsgVoteResp and MsgPreVoteResp wait, msgsAfterAppend), so a
 * linearizable read does not wait for fdatasyncs of unrelated writes. Every other message (votes,
 * append acknowledgements) promises durable state and must wait for the fsync.
 */
export function canSendBeforePersist(m: Message): boolean {
  return m.type === "app" || m.type === "heartbeat" || m.type === "heartbeatResp" ||
    m.type === "readIndex" || m.type === "readIndexResp";
}

export class RaftNode {
  private readonly raft: Raft;
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private outstanding: Ready | undefined;
  /** Newest configuration entry (or snapshot) of the outstanding Ready the shell applied. */
  private confHandledThrough = 0;
  private snapshotHandled = false;
  private readonly maxApplyBytes: number;

  constructor(options: RaftNodeOptions, initial: InitialState) {
    const cfg: RaftConfig = {
      ...DEFAULT_RAFT_CONFIG,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as RaftConfig;
    if (cfg.heartbeatTick >= cfg.electionTick) {
      throw new Error(
        `heartbeatTick (${cfg.heartbeatTick}) must be smaller than electionTick (${cfg.electionTick})`,
      );
    }
    this.maxApplyBytes = options.maxApplyBytes ?? 4 << 20;
    const log = RaftLog.restore(initial.snapshot, initial.entries, initial.hardState.commit);
    const membership = initial.snapshot ? fromConfState(initial.snapshot.meta.conf) : EMPTY_MEMBERSHIP;
    this.raft = new Raft(cfg, log, membership, initial.snapshot);
    this.raft.term = initial.hardState.term;
    this.raft.vote = initial.hardState.vote;
    this.prevHardState = { ...initial.hardState, commit: log.committed };
    this.prevSoftState = { lead: 0, role: "follower" };
  }

  get id(): NodeId {
    return this.raft.id;
  }

  // ------------------------------------------------------------ inputs

  tick(): void {
    this.raft.tick();
  }

  /** Feeds a message from a peer. Anything malformed is dropped and counted, never thrown. */
  step(message: unknown): void {
    this.raft.step(message);
  }

  /** Appends commands; returns the log index of the first. Throws NotLeaderError / ProposalDroppedError. */
  propose(commands: Uint8Array[]): number {
    return this.raft.propose(commands);
  }

  /** Proposes a membership change; returns its log index. Throws ConfChangeError if invalid now. */
  proposeConfChange(change: ConfChange): number {
    return this.raft.proposeConfChange(change);
  }

  /** Requests a linearizable read; the answer arrives as a ReadState with the same context. */
  readIndex(context: string): void {
    this.raft.readIndex(context);
  }

  transferLeadership(target: NodeId): void {
    this.raft.transferLeadership(target);
  }

  /**
   * Starts an election now, as if leadership were being transferred here (no pre-vote, and
   * voters ignore their election lease). For tests and manual recovery; normal operation never
   * needs it.
   */
  campaign(): void {
    this.raft.forceCampaign();
  }

  /** The transport could not reach `id`: stop streaming to it optimistically. */
  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  /** The transport finished (ok) or gave up on (!ok) sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  /**
   * The shell took a snapshot of its state machine at `snapshot.meta.index` (<= applied, with
   * the configuration from confState() at that point). Keeps it to send to lagging followers and
   * discards log entries before `snapshot.meta.index - retainEntries`.
   */
  compact(snapshot: Snapshot, retainEntries = 0): void {
    const log = this.raft.log;
    const { index, term } = snapshot.meta;
    if (index > log.applied) {
      throw new Error(`snapshot index ${index} is beyond applied index ${log.applied}`);
    }
    if (index > log.snapshotIndex && log.term(index) !== term) {
      throw new Error(`snapshot term ${term} does not match the log's term ${log.term(index)} at ${index}`);
    }
    // At the same index it stands for the same state: the shell may swap the image it gave for
    // another form of it (raft-kv: metadata only, the image staying in its snapshot file).
    if (!this.raft.snapshot || index >= this.raft.snapshot.meta.index) this.raft.snapshot = snapshot;
    log.compact(Math.max(log.snapshotIndex, index - retainEntries));
  }

  /** A member whose storage was lost must not vote or campaign until re-added as a learner. */
  setQuarantined(quarantined: boolean): void {
    this.raft.quarantined = quarantined;
  }

  /** unsafe-no-joint only: adopt a configuration out of band (throws in any other mode). */
  adoptConfigUnsafe(conf: ConfState): void {
    this.raft.adoptConfigUnsafe(conf);
  }

  // ------------------------------------------------------------ outputs

  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    return r.msgs.length > 0 || r.readStates.length > 0 || r.droppedReads.length > 0 ||
      r.log.hasUnstableEntries() || r.log.pendingSnapshot !== undefined || r.log.hasEntriesToApply() ||
      this.hardStateChanged() || this.softStateChanged();
  }

  ready(): Ready {
    if (this.outstanding) throw new Error("ready() called again before advance() of the previous Ready");
    const r = this.raft;
    r.flushAppends();
    const committedEntries = r.log.nextCommittedEntries(this.maxApplyBytes);
    const rd: Ready = {
      entries: r.log.unstableEntries(),
      snapshot: r.log.pendingSnapshot,
      messages: r.msgs,
      committedEntries,
      readStates: r.readStates,
      droppedReads: r.droppedReads,
    };
    if (this.softStateChanged()) rd.softState = { lead: r.lead, role: r.role };
    if (this.hardStateChanged()) rd.hardState = { term: r.term, vote: r.vote, commit: r.log.committed };
    r.msgs = [];
    r.readStates = [];
    r.droppedReads = [];
    if (committedEntries.length) r.log.applying = committedEntries[committedEntries.length - 1].index;
    this.outstanding = rd;
    this.confHandledThrough = 0;
    this.snapshotHandled = false;
    return rd;
  }

  /**
   * The shell restored `snapshot` (the outstanding Ready's) into its state machine: its
   * configuration takes effect now.
   */
  applySnapshot(snapshot: Snapshot): void {
    if (!this.outstanding || this.outstanding.snapshot !== snapshot) {
      throw new Error("applySnapshot() must be given the snapshot of the outstanding Ready");
    }
    this.raft.applySnapshotConf(snapshot);
    this.snapshotHandled = true;
  }

  /**
   * The shell is applying configuration entry `entry` of the outstanding Ready (in log order):
   * it takes effect now, if it is newer than the configuration in force and valid on it. When it
   * does not (`applied: false`), the shell must not record anything for it either.
   */
  applyConfChange(entry: Entry): { applied: true; conf: ConfState } | { applied: false; reason: string } {
    const rd = this.outstanding;
    if (!rd || entry.type !== "conf" || !rd.committedEntries.includes(entry)) {
      throw new Error("applyConfChange() must be given a configuration entry of the outstanding Ready");
    }
    if (entry.index <= this.confHandledThrough) {
      throw new Error(`configuration entry ${entry.index} was already applied; apply entries once, in order`);
    }
    this.confHandledThrough = entry.index;
    return this.raft.applyConfEntry(entry);
  }

  /** The shell has persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new Error("advance() must be given the Ready returned by ready()");
    if (rd.snapshot && !this.snapshotHandled) {
      throw new Error("advance(): the Ready's snapshot was not applied (call applySnapshot first)");
    }
    for (const e of rd.committedEntries) {
      if (e.type === "conf" && e.index > this.confHandledThrough) {
        throw new Error(`advance(): configuration entry ${e.index} was not applied (call applyConfChange)`);
      }
    }
    this.outstanding = undefined;
    const r = this.raft;
    if (rd.softState) this.prevSoftState = rd.softState;
    if (rd.hardState) this.prevHardState = rd.hardState;
    if (rd.snapshot) r.log.snapshotApplied(rd.snapshot.meta.index);
    if (rd.entries.length) {
      const last = rd.entries[rd.entries.length - 1];
      r.log.stableTo(last.index, last.term);
    }
    for (const e of rd.committedEntries) r.log.appliedTo(e.index);
    if (r.role === "leader") {
      const self = r.tracker.progress.get(r.id);
      if (self && self.maybeUpdate(r.log.persisted) && r.maybeCommit()) r.bcastAppend();
    }
  }

  private hardStateChanged(): boolean {
    const r = this.raft, p = this.prevHardState;
    return r.term !== p.term || r.vote !== p.vote || r.log.committed !== p.commit;
  }

  private softStateChanged(): boolean {
    return this.raft.lead !== this.prevSoftState.lead || this.raft.role !== this.prevSoftState.role;
  }

  // ------------------------------------------------------------ introspection

  get role(): SoftState["role"] {
    return this.raft.role;
  }

  get leader(): NodeId {
    return this.raft.lead;
  }

  get term(): number {
    return this.raft.term;
  }

  get appliedIndex(): number {
    return this.raft.log.applied;
  }

  get commitIndex(): number {
    return this.raft.log.committed;
  }

  get lastIndex(): number {
    return this.raft.log.lastIndex();
  }

  get droppedMessages(): number {
    return this.raft.droppedMessages;
  }

  /** The configuration in force: the one a snapshot at the applied index must carry. */
  confState(): ConfState {
    return this.raft.confState();
  }

  /** Log index of the configuration in force (its entry, or the snapshot that carried it). */
  get confIndex(): number {
    return this.raft.confIndex;
  }

  /** Log entries currently held in memory, for the simulator's invariant checks and tests. */
  entries(lo: number, hi: number): Entry[] {
    return this.raft.log.slice(Math.max(lo, this.raft.log.firstIndex()), hi) ?? [];
  }

  termAt(index: number): number | undefined {
    return this.raft.log.term(index);
  }

  get snapshotIndex(): number {
    return this.raft.log.snapshotIndex;
  }

  /** The newest snapshot this node holds (what it sends to followers behind its log). */
  get latestSnapshot(): Snapshot | undefined {
    return this.raft.snapshot;
  }

  status(): NodeStatus {
    const r = this.raft;
    const s: NodeStatus = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      lead: r.lead,
      role: r.role,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      snapshotIndex: r.log.snapshotIndex,
      conf: r.confState(),
      joint: r.isJoint(),
      leadTransferee: r.leadTransferee,
      safetyMode: r.mode,
      quarantined: r.quarantined,
    };
    if (r.role === "leader") {
      s.progress = {};
      for (const [id, pr] of r.tracker.progress) {
        s.progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          learner: pr.isLearner,
          recentActive: pr.recentActive,
          inflight: pr.inflights.count,
        };
      }
    }
    return s;
  }
}
