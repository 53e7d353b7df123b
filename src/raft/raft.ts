/**
 * The Raft protocol rules for one node, as a deterministic state machine: no I/O, no clock, no
 * randomness but the injected `random`. Inputs are ticks, messages and local requests; outputs
 * accumulate in `msgs`, `readStates` and the log, and are collected by RaftNode.ready().
 *
 * Always on: pre-vote (a partitioned or removed node cannot inflate terms), check-quorum (a
 * leader that loses its quorum steps down), the election lease (nodes that hear from a leader
 * ignore vote requests), step-down on removal, and one pending configuration change at a time,
 * none before the leader has committed an entry of its own term.
 *
 * Membership changes take effect when the shell applies them (RaftNode.applyConfChange and
 * RaftNode.applySnapshot, called in log order while applying): every node then switches at the
 * same point of the log, and a leader never counts a configuration that might still be rolled back.
 */
import type {
  ConfChange,
  ConfState,
  Entry,
  Message,
  NodeId,
  ReadState,
  Role,
  SafetyMode,
  Snapshot,
} from "./types.ts";
import { RaftLog } from "./log.ts";
import { ProgressTracker } from "./tracker.ts";
import type { Progress } from "./progress.ts";
import { ReadIndexQueue } from "./read_index.ts";
import {
  applyConfChange,
  ConfChangeError,
  describeMembership,
  fromConfState,
  isJoint,
  isVoter,
  type Membership,
  toConfState,
} from "./membership.ts";
import { allowsOutOfLogConfig, countsNewVotersLate } from "./safety.ts";
import { NotLeaderError, ProposalDroppedError } from "./errors.ts";
import { isWellFormedMessage } from "./message_check.ts";

export interface RaftConfig {
  id: NodeId;
  /** Ticks without a leader before a follower campaigns (randomized in [e, 2e)). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be well below electionTick. */
  heartbeatTick: number;
  /** Injected randomness in [0, 1): the only source of nondeterminism. */
  random: () => number;
  safetyMode: SafetyMode;
  /** Unacknowledged append messages per follower in replicate state. */
  maxInflight: number;
  /** Approximate upper bound of entry bytes per append message. */
  maxMsgBytes: number;
  /** The leader refuses proposals while this many entries are uncommitted (back-pressure). */
  maxUncommittedEntries: number;
  logger?: (line: string) => void;
}

export const DEFAULT_RAFT_CONFIG = {
  electionTick: 10,
  heartbeatTick: 1,
  maxInflight: 256,
  maxMsgBytes: 1 << 20,
  maxUncommittedEntries: 50_000,
  safetyMode: "safe" as SafetyMode,
};

type OutgoingMessage = Omit<Message, "from" | "term"> & { term?: number };

export class Raft {
  readonly id: NodeId;
  readonly mode: SafetyMode;
  term = 0;
  vote: NodeId = 0;
  lead: NodeId = 0;
  role: Role = "follower";
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** The newest snapshot this node holds, sent to followers behind the compacted log. */
  snapshot: Snapshot | undefined;
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** Read contexts this node can no longer serve (leadership lost); their callers should retry. */
  droppedReads: string[] = [];
  leadTransferee: NodeId = 0;
  /** Index of the newest configuration entry the leader appended; one at a time. */
  pendingConfIndex = 0;
  /**
   * Log index of the configuration in force: of the last configuration entry applied, or of the
   * snapshot that carried it. A configuration entry at or below it is never applied again.
   */
  confIndex = 0;
  /** Never vote or campaign (a member whose storage was lost; see RaftNode.setQuarantined). */
  quarantined = false;
  /** Malformed messages dropped by step(); exposed for metrics and the fuzz test. */
  droppedMessages = 0;

  private readonly cfg: RaftConfig;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly reads = new ReadIndexQueue();
  /** Reads that arrived before the leader committed an entry of its term: they wait for it. */
  private readsAwaitingTermCommit: Array<{ context: string; from: NodeId }> = [];
  /** New entries were appended by proposals; ready() sends them in one message per follower. */
  private appendPending = false;

  constructor(cfg: RaftConfig, log: RaftLog, membership: Membership, snapshot: Snapshot | undefined) {
    this.cfg = cfg;
    this.id = cfg.id;
    this.mode = cfg.safetyMode;
    this.log = log;
    this.snapshot = snapshot;
    this.tracker = new ProgressTracker(cfg.maxInflight);
    this.tracker.setMembership(membership, log.lastIndex() + 1);
    this.confIndex = snapshot?.meta.index ?? 0;
    this.resetRandomizedElectionTimeout();
  }

  // ---------------------------------------------------------------- helpers

  private debug(line: string): void {
    this.cfg.logger?.(`[${this.id} t${this.term} ${this.role}] ${line}`);
  }

  private send(m: OutgoingMessage): void {
    const msg = { ...m, from: this.id, term: m.term ?? this.term } as Message;
    this.msgs.push(msg);
  }

  private progressOf(id: NodeId): Progress | undefined {
    return this.tracker.progress.get(id);
  }

  private resetRandomizedElectionTimeout(): void {
    const e = this.cfg.electionTick;
    this.randomizedElectionTimeout = e + Math.floor(this.cfg.random() * e);
  }

  get membership(): Membership {
    return this.tracker.membership;
  }

  confState(): ConfState {
    return toConfState(this.tracker.membership);
  }

  /** Voter in its own view, no snapshot waiting, not quarantined. */
  promotable(): boolean {
    return isVoter(this.membership, this.id) && !this.log.pendingSnapshot && !this.quarantined;
  }

  committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** A committed configuration entry not applied yet: campaigning now would use a stale quorum. */
  private hasUnappliedConfChange(): boolean {
    for (let i = this.log.applied + 1; i <= this.log.committed; i++) {
      if (this.log.entryAt(i)?.type === "conf") return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- role changes

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = 0;
    }
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = 0;
    this.tracker.resetVotes();
    for (const [id, pr] of this.tracker.progress) {
      pr.resetTo(id === this.id ? this.log.persisted : 0, this.log.lastIndex() + 1);
    }
    this.pendingConfIndex = 0;
    this.appendPending = false;
    for (const r of this.reads.clear()) if (r.from === this.id) this.droppedReads.push(r.context);
    for (const r of this.readsAwaitingTermCommit) if (r.from === this.id) this.droppedReads.push(r.context);
    this.readsAwaitingTermCommit = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    const was = this.role;
    this.reset(term);
    this.lead = lead;
    this.role = "follower";
    if (was !== "follower") this.debug(`became follower (leader ${lead || "unknown"})`);
  }

  private becomePreCandidate(): void {
    this.tracker.resetVotes();
    this.lead = 0;
    this.role = "preCandidate";
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    const self = this.progressOf(this.id);
    if (self) {
      self.match = this.log.persisted;
      self.becomeReplicate();
    }
    // The no-op of the new term. Until it commits, no configuration change and no read is served.
    this.appendEntries([{ term: 0, index: 0, type: "normal" }]);
    this.pendingConfIndex = this.log.lastIndex();
    this.debug(`became leader at index ${this.log.lastIndex()}, ${describeMembership(this.membership)}`);
    this.bcastAppend();
  }

  private campaign(kind: "preVote" | "vote", transfer = false): void {
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChange()) {
      this.debug("not campaigning: a committed configuration change is not applied yet");
      return;
    }
    let voteTerm: number;
    if (kind === "preVote") {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.tracker.recordVote(this.id, true);
    const result = this.tracker.tallyVotes();
    if (result === "won") {
      if (kind === "preVote") this.campaign("vote", transfer);
      else this.becomeLeader();
      return;
    }
    this.debug(`campaigning (${kind}) for term ${voteTerm}`);
    for (const id of this.tracker.voterIds()) {
      if (id === this.id) continue;
      this.send({
        type: kind,
        to: id,
        term: voteTerm,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        transfer: transfer || undefined,
      });
    }
  }

  /** Campaigns at once, skipping pre-vote and the election lease, as a transfer target does. */
  forceCampaign(): void {
    this.campaign("vote", true);
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    if (this.role === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout && this.promotable()) {
      this.electionElapsed = 0;
      this.campaign("preVote");
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (!this.tracker.quorumActiveAndReset(this.id)) {
        this.debug("stepping down: no quorum heard from in an election timeout (check-quorum)");
        this.becomeFollower(this.term, 0);
        return;
      }
      if (this.leadTransferee) {
        this.debug(`leader transfer to ${this.leadTransferee} timed out`);
        this.leadTransferee = 0;
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  // ---------------------------------------------------------------- step

  /** Feeds one message from the network. Malformed messages are counted and dropped. */
  step(m: unknown): void {
    if (!isWellFormedMessage(m) || m.to !== this.id || m.from === this.id) {
      this.droppedMessages++;
      return;
    }
    if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        const inLease = this.lead !== 0 && this.electionElapsed < this.cfg.electionTick;
        if (inLease && !m.transfer) return; // a leader we heard from recently is still alive
      }
      if (m.type === "preVote") {
        // A pre-vote never changes our term.
      } else if (m.type === "preVoteResp" && !m.reject) {
        // Granted at term+1: the term changes when we really campaign.
      } else {
        const lead = m.type === "app" || m.type === "heartbeat" || m.type === "snap" ? m.from : 0;
        this.becomeFollower(m.term, lead);
      }
    } else if (m.term < this.term) {
      if (m.type === "app" || m.type === "heartbeat") {
        // Tell a stale leader about the newer term so it steps down (pre-vote keeps it from
        // learning that any other way).
        this.send({ type: "appResp", to: m.from });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", to: m.from, reject: true });
      }
      return;
    }

    if (m.type === "vote" || m.type === "preVote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  private handleVoteRequest(m: Message): void {
    const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
    const canVote = this.vote === m.from || (this.vote === 0 && this.lead === 0) ||
      (m.type === "preVote" && m.term > this.term);
    // Votes are granted whatever this node's own role in the configuration: whether a vote
    // counts is the candidate's decision, made against its configuration (learners never count).
    if (canVote && !this.quarantined && this.log.isUpToDate(m.index!, m.logTerm!)) {
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true });
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "appResp":
        this.handleAppendResponse(m);
        return;
      case "heartbeatResp":
        this.handleHeartbeatResponse(m);
        return;
      case "readIndex":
        if (this.progressOf(m.from)) this.handleReadRequest(m.context!, m.from);
        return;
      case "transferLeader":
        if (!this.progressOf(m.from)) return;
        // A peer's request: refusing it must not throw out of step() (the core never throws there).
        if (!isVoter(this.membership, m.index!)) {
          this.debug(`ignoring transfer of leadership to ${m.index} requested by ${m.from}: not a voter`);
          return;
        }
        this.transferLeadership(m.index!);
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    const myResponse = this.role === "preCandidate" ? "preVoteResp" : "voteResp";
    switch (m.type) {
      case "app":
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case "preVoteResp":
      case "voteResp": {
        if (m.type !== myResponse) return;
        this.tracker.recordVote(m.from, !m.reject);
        const result = this.tracker.tallyVotes();
        if (result === "won") {
          if (this.role === "preCandidate") this.campaign("vote");
          else {
            this.becomeLeader();
          }
        } else if (result === "lost") {
          this.becomeFollower(this.term, 0);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "app":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case "timeoutNow":
        this.debug(`received timeoutNow from ${m.from}: campaigning at once`);
        this.campaign("vote", true);
        return;
      case "transferLeader":
        if (this.lead) this.send({ type: "transferLeader", to: this.lead, index: m.index });
        return;
      case "readIndexResp":
        this.readStates.push({ index: m.index!, context: m.context! });
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- follower side

  private handleAppend(m: Message): void {
    const prevIndex = m.index!;
    if (prevIndex < this.log.committed) {
      this.send({ type: "appResp", to: m.from, index: this.log.committed });
      return;
    }
    const entries = m.entries ?? [];
    const conflict = this.log.matchTerm(prevIndex, m.logTerm!) ? this.log.findConflict(entries) : 0;
    if (conflict !== 0 && conflict <= this.log.committed) {
      // Only a broken or malicious leader asks to overwrite committed entries.
      this.debug(`dropping append from ${m.from}: it conflicts with committed entry ${conflict}`);
      this.droppedMessages++;
      return;
    }
    const lastNew = this.log.maybeAppend(prevIndex, m.logTerm!, m.commit!, entries);
    if (lastNew !== undefined) {
      this.send({ type: "appResp", to: m.from, index: lastNew });
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex()), m.logTerm!);
    this.send({
      type: "appResp",
      to: m.from,
      index: prevIndex,
      reject: true,
      rejectHint: hint,
      logTerm: this.log.term(hint) ?? 0,
    });
  }

  private handleHeartbeat(m: Message): void {
    // The leader sends min(our match, its commit), which our log is known to agree with.
    const commit = m.commit ?? 0;
    if (commit > this.log.lastIndex()) {
      // The leader believes we hold entries we do not: we lost what we had acknowledged (a wiped
      // disk). Tell it where our log really ends, or an idle leader would never send them again.
      const hint = this.log.lastIndex();
      this.send({
        type: "appResp",
        to: m.from,
        index: commit,
        reject: true,
        rejectHint: hint,
        logTerm: this.log.term(hint) ?? 0,
      });
    }
    this.log.commitTo(commit);
    this.send({ type: "heartbeatResp", to: m.from, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.restoreSnapshot(s)) {
      this.debug(`restored snapshot at index ${s.meta.index} term ${s.meta.term}`);
      this.send({ type: "appResp", to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: "appResp", to: m.from, index: this.log.committed });
    }
  }

  /**
   * Takes a snapshot from the leader into the log. Its configuration does NOT take effect here:
   * the shell may still be applying older committed entries (a Ready is outstanding), and those
   * must be applied on the configuration they were written for. The snapshot's configuration
   * takes effect when the shell applies the snapshot (applySnapshotConf), after those entries;
   * until then the pending snapshot keeps this node from campaigning (promotable()).
   */
  private restoreSnapshot(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already have the entry the snapshot ends with: just move commit forward.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restoreSnapshot(s);
    this.snapshot = s;
    return true;
  }

  // ---------------------------------------------------------------- leader side

  private handleAppendResponse(m: Message): void {
    const pr = this.progressOf(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      let next = m.rejectHint ?? m.index! - 1;
      if (m.logTerm) next = this.log.findConflictByTerm(next, m.logTerm);
      if (pr.maybeDecrTo(m.index!, next)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const index = m.index;
    if (index === undefined || index > this.log.lastIndex()) return;
    const wasPaused = pr.isPaused();
    // An ack equal to match still ends probing: the follower's log is known to agree up to it.
    if (!pr.maybeUpdate(index) && !(pr.state === "probe" && pr.match === index)) return;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") pr.inflights.freeTo(index);
    if (pr.catchingUp && pr.match >= this.log.committed) pr.catchingUp = false;

    if (this.maybeCommit()) this.bcastAppend();
    else if (wasPaused) this.sendAppend(m.from);
    while (this.sendAppend(m.from, false));
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.debug(`transfer target ${m.from} caught up: sending timeoutNow`);
      this.send({ type: "timeoutNow", to: m.from });
    }
  }

  private handleHeartbeatResponse(m: Message): void {
    const pr = this.progressOf(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // Appends can be lost without a trace (a dropped packet, a full queue): a full window would
    // then never drain. The follower is alive, so free one slot; the next append either lands or
    // is rejected, and a rejection sends replication back to probing from the follower's match.
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.context) {
      const acks = this.reads.recordAck(m.context, m.from);
      if (acks && this.tracker.isQuorum(acks)) this.releaseReads(m.context);
    }
  }

  /** Commits the highest index a quorum holds, if it is from this term (Raft §5.4.2). */
  maybeCommit(): boolean {
    const index = this.tracker.committed();
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    const firstInTerm = !this.committedInCurrentTerm();
    this.log.commitTo(index);
    if (firstInTerm) {
      const waiting = this.readsAwaitingTermCommit;
      this.readsAwaitingTermCommit = [];
      for (const r of waiting) this.handleReadRequest(r.context, r.from);
    }
    return true;
  }

  /** Sends the next append (or a snapshot) to `to`. Returns whether anything was sent. */
  sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.progressOf(to);
    if (!pr || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = prevTerm === undefined
      ? undefined
      : this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxMsgBytes);
    if (entries === undefined) return this.sendSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: "app", to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    if (entries.length) pr.sentEntries(entries[entries.length - 1].index);
    else if (pr.state === "probe") pr.probeSent = true;
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snap = this.snapshot;
    if (!snap || snap.meta.index < this.log.snapshotIndex) {
      this.debug(`cannot catch up ${to}: its entries are compacted and no snapshot is available`);
      return false;
    }
    pr.becomeSnapshot(snap.meta.index);
    this.send({ type: "snap", to, snapshot: snap });
    this.debug(`sending snapshot at ${snap.meta.index} to ${to}`);
    return true;
  }

  bcastAppend(): void {
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(context = this.reads.lastContext()): void {
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      this.send({ type: "heartbeat", to: id, commit: Math.min(pr.match, this.log.committed), context });
    }
  }

  /** Sends pending entries to every follower, one message each; called when a Ready is built. */
  flushAppends(): void {
    if (!this.appendPending) return;
    this.appendPending = false;
    if (this.role !== "leader") return;
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.sendAppend(id, false);
  }

  private appendEntries(entries: Entry[]): number {
    let index = this.log.lastIndex();
    for (const e of entries) {
      e.term = this.term;
      e.index = ++index;
    }
    this.log.append(entries);
    this.appendPending = true;
    return entries[0].index;
  }

  // ---------------------------------------------------------------- local requests

  /** Appends commands to the leader's log. Returns the index of the first one. */
  propose(commands: Uint8Array[]): number {
    this.assertLeaderAcceptingWork();
    if (this.log.lastIndex() - this.log.committed + commands.length > this.cfg.maxUncommittedEntries) {
      throw new ProposalDroppedError(
        `too many uncommitted entries (limit ${this.cfg.maxUncommittedEntries}): a quorum is slow or down`,
      );
    }
    return this.appendEntries(commands.map((data) => ({ term: 0, index: 0, type: "normal", data })));
  }

  /** Validates and appends a membership change. Returns its log index. */
  proposeConfChange(change: ConfChange): number {
    this.assertLeaderAcceptingWork();
    if (!this.committedInCurrentTerm()) {
      throw new ProposalDroppedError(
        "the new leader has not committed an entry of its term yet; retry shortly",
      );
    }
    if (this.pendingConfIndex > this.log.applied) {
      throw new ConfChangeError(
        `configuration change at index ${this.pendingConfIndex} is not applied yet; one change at a time`,
      );
    }
    applyConfChange(this.membership, change, this.mode); // throws a ConfChangeError if invalid
    const index = this.appendEntries([{ term: 0, index: 0, type: "conf", change }]);
    this.pendingConfIndex = index;
    this.debug(`proposed configuration change at ${index}: ${JSON.stringify(change)}`);
    return index;
  }

  private assertLeaderAcceptingWork(): void {
    if (this.role !== "leader") throw new NotLeaderError(this.lead);
    if (this.leadTransferee) {
      throw new ProposalDroppedError(`leadership is being transferred to node ${this.leadTransferee}`);
    }
  }

  /** Starts a linearizable read identified by `context` (unique per request). */
  readIndex(context: string): void {
    if (this.role === "leader") {
      this.handleReadRequest(context, this.id);
    } else if (this.lead) {
      this.send({ type: "readIndex", to: this.lead, context });
    } else {
      throw new NotLeaderError(0);
    }
  }

  private handleReadRequest(context: string, from: NodeId): void {
    if (!this.committedInCurrentTerm()) {
      this.readsAwaitingTermCommit.push({ context, from });
      return;
    }
    const index = this.log.committed;
    if (this.tracker.isQuorum(new Set([this.id]))) {
      this.answerRead({ context, index, from });
      return;
    }
    this.reads.add(context, index, from, this.id);
    this.bcastHeartbeat(context);
  }

  private releaseReads(context: string): void {
    for (const r of this.reads.releaseThrough(context)) this.answerRead(r);
  }

  private answerRead(r: { context: string; index: number; from: NodeId }): void {
    if (r.from === this.id) this.readStates.push({ index: r.index, context: r.context });
    else this.send({ type: "readIndexResp", to: r.from, index: r.index, context: r.context });
  }

  /** Moves leadership to `target` (a voter). Works inside a joint configuration too. */
  transferLeadership(target: NodeId): void {
    if (this.role !== "leader") {
      if (!this.lead) throw new NotLeaderError(0);
      this.send({ type: "transferLeader", to: this.lead, index: target });
      return;
    }
    if (target === this.id) return;
    if (!isVoter(this.membership, target)) {
      throw new ConfChangeError(`cannot transfer leadership to ${target}: it is not a voter`);
    }
    if (this.leadTransferee === target) return;
    this.leadTransferee = target;
    this.electionElapsed = 0;
    const pr = this.progressOf(target)!;
    this.debug(`transferring leadership to ${target} (match ${pr.match}, last ${this.log.lastIndex()})`);
    if (pr.match === this.log.lastIndex()) this.send({ type: "timeoutNow", to: target });
    else this.sendAppend(target);
  }

  reportUnreachable(id: NodeId): void {
    const pr = this.progressOf(id);
    if (this.role === "leader" && pr?.state === "replicate") pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.progressOf(id);
    if (this.role !== "leader" || pr?.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's answer (or the next heartbeat) before probing again.
    pr.probeSent = true;
  }

  // ---------------------------------------------------------------- membership

  /**
   * THE place where a committed configuration entry takes effect (etcd's ApplyConfChange).
   * Returns the configuration now in force, or why the entry changed nothing: it is at or below
   * the configuration in force (a restored snapshot already covers it), or it is invalid on this
   * configuration (skipped the same way on every node, since all apply the same log).
   */
  applyConfEntry(entry: Entry): { applied: true; conf: ConfState } | { applied: false; reason: string } {
    if (entry.index <= this.confIndex) {
      const reason =
        `entry ${entry.index} is covered by the configuration in force (index ${this.confIndex})`;
      this.debug(`not applying configuration: ${reason}`);
      return { applied: false, reason };
    }
    this.confIndex = entry.index;
    let next: Membership;
    try {
      next = applyConfChange(this.membership, entry.change!, this.mode);
    } catch (e) {
      const reason = `invalid configuration entry ${entry.index}: ${(e as Error).message}`;
      this.debug(`skipping ${reason}`);
      return { applied: false, reason };
    }
    this.switchMembership(next);
    this.debug(`applied configuration ${entry.index}: ${describeMembership(next)}`);
    return { applied: true, conf: toConfState(next) };
  }

  /** A snapshot from the leader is being applied: its configuration takes effect now. */
  applySnapshotConf(snapshot: Snapshot): void {
    if (snapshot.meta.index <= this.confIndex) return;
    this.confIndex = snapshot.meta.index;
    this.switchMembership(fromConfState(snapshot.meta.conf));
    this.debug(`configuration from snapshot ${snapshot.meta.index}: ${describeMembership(this.membership)}`);
  }

  /** unsafe-no-joint only: take a configuration from outside the log, at once. */
  adoptConfigUnsafe(conf: ConfState): void {
    if (!allowsOutOfLogConfig(this.mode)) {
      throw new ConfChangeError(
        `out-of-log configuration is only allowed in unsafe-no-joint (mode is ${this.mode})`,
      );
    }
    this.switchMembership(fromConfState(conf));
    this.debug(`adopted configuration out of log (UNSAFE): ${describeMembership(this.membership)}`);
  }

  private switchMembership(next: Membership): void {
    const before = this.membership;
    if (this.role === "leader") this.sayGoodbye(next);
    this.tracker.setMembership(next, this.log.lastIndex() + 1);
    if (countsNewVotersLate(this.mode)) {
      for (const id of next.voters) {
        const isNew = !isVoter(before, id) && !before.learners.has(id) && id !== this.id;
        const pr = this.progressOf(id);
        if (isNew && pr) pr.catchingUp = true;
      }
    }
    if (this.role !== "leader") return;
    if (!isVoter(next, this.id)) {
      this.debug("stepping down: this leader is no longer a voter");
      this.becomeFollower(this.term, 0);
      return;
    }
    if (this.leadTransferee && !isVoter(next, this.leadTransferee)) this.leadTransferee = 0;
    this.maybeCommit();
    this.bcastAppend();
  }

  /**
   * Nodes about to leave the configuration get one last append: the entries they miss up to
   * the commit index (which covers the change removing them), so they apply their own removal
   * and stop campaigning instead of lingering in the old configuration (where pre-vote and the
   * election lease keep them harmless, but noisy). Best effort: if it is lost, they linger.
   */
  private sayGoodbye(next: Membership): void {
    for (const [id, pr] of this.tracker.progress) {
      const stays = isVoter(next, id) || next.learners.has(id) || next.learnersNext.has(id);
      if (id === this.id || stays) continue;
      const prevTerm = this.log.term(pr.match);
      const entries = this.log.slice(pr.match + 1, this.log.committed + 1, this.cfg.maxMsgBytes);
      if (prevTerm === undefined || entries === undefined) continue;
      this.send({
        type: "app",
        to: id,
        index: pr.match,
        logTerm: prevTerm,
        entries,
        commit: this.log.committed,
      });
    }
  }

  isJoint(): boolean {
    return isJoint(this.membership);
  }
}
