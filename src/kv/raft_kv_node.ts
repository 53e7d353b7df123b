/**
 * One raft-kv node: the Raft core driven over real storage (WAL + snapshots), the real peer
 * transport, and the key-value state machine. The Ready loop is the only place where the three
 * meet, in the order the core requires:
 *
 *   persist (snapshot, entries, hard state; fsynced)  ->  send messages  ->  apply  ->  advance
 *
 * The loop runs one Ready at a time; while it awaits fsync, new messages and proposals keep
 * stepping the core, and the next Ready carries all of them (that is the batching). Nothing
 * here blocks the event loop for long: snapshot encoding is the one synchronous bulk task.
 */
import {
  bootstrapSnapshot,
  canSendBeforePersist,
  type ConfChange,
  type ConfState,
  type HardState,
  type InitialState,
  type NodeId,
  type NodeStatus,
  NotLeaderError,
  RaftNode,
  type Ready,
  type SafetyMode,
  skipsLearnerStage,
  type Snapshot,
} from "../raft/mod.ts";
import { RaftStorage } from "../storage/raft_storage.ts";
import { PeerTransport, type ResolveHost, type TransportStats } from "../transport/mod.ts";
import type { FaultInjector } from "../transport/mod.ts";
import { encodeCommand, type KvCommand, type KvResult } from "./commands.ts";
import { type ApplyOutcome, KvStateMachine } from "./state_machine.ts";
import { decodeMembersContext, type MemberInfo } from "./members.ts";
import { ProposalWaiters } from "./proposals.ts";
import { LinearizableReads } from "./linearizable_reads.ts";
import { NodeStoppedError, RetryableError, UnknownOutcomeError } from "./errors.ts";
import { isAwaitingLearner, setAwaitingLearner } from "./identity.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Log = (level: LogLevel, line: string) => void;

export interface RaftKvNodeOptions {
  nodeId: NodeId;
  clusterId: string;
  /** This storage incarnation's nonce (see identity.ts). */
  incarnation: string;
  dataDir: string;
  peerToken: string;
  listenPeer: { hostname: string; port: number };
  /** How other nodes and clients reach this one; announced when bootstrapping. */
  self: MemberInfo;
  /** With empty storage: create a new single-member cluster (true) or wait to be added (false). */
  bootstrap: boolean;
  safetyMode?: SafetyMode;
  tickMs?: number;
  electionTicks?: number;
  /** Take a snapshot after this many applied entries. */
  snapshotEntries?: number;
  /** Log entries kept behind a snapshot, so slightly slow followers catch up without one. */
  retainEntries?: number;
  proposalTimeoutMs?: number;
  faultInjection?: boolean;
  resolveHost?: ResolveHost;
  log?: Log;
  /** Called once if the node stops on a fatal error (storage failure): the process should exit. */
  onFatal?: (error: Error) => void;
}

export interface KvNodeMetrics {
  proposals: number;
  appliedEntries: number;
  readRounds: number;
  linearizableReads: number;
  staleReads: number;
  leaderChanges: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  readyBatches: number;
}

const DEFAULTS = {
  safetyMode: "safe" as SafetyMode,
  tickMs: 50,
  electionTicks: 10,
  snapshotEntries: 10_000,
  retainEntries: 1_000,
  proposalTimeoutMs: 5_000,
};

export class RaftKvNode {
  readonly id: NodeId;
  readonly metrics: KvNodeMetrics = {
    proposals: 0,
    appliedEntries: 0,
    readRounds: 0,
    linearizableReads: 0,
    staleReads: 0,
    leaderChanges: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    readyBatches: 0,
  };
  private sm: KvStateMachine;
  private readonly proposals: ProposalWaiters<ApplyOutcome>;
  private readonly confWaiters: ProposalWaiters<number>;
  private readonly reads: LinearizableReads;
  private readonly leaderWatchers = new Set<() => void>();
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private loopRunning = false;
  private stopped = false;
  private fatal: Error | undefined;
  private lastSnapshotIndex: number;
  private snapshotInFlight = false;
  private quarantined: boolean;
  private directoryPeers = new Set<NodeId>();
  /** The newest hard state from the core, and the one last written to storage. */
  private latestHardState: HardState | undefined;
  private storedHardState: HardState | undefined;
  private readonly opts: Required<Omit<RaftKvNodeOptions, "resolveHost" | "onFatal">> & RaftKvNodeOptions;

  private constructor(
    opts: RaftKvNodeOptions,
    private readonly raft: RaftNode,
    private readonly storage: RaftStorage,
    private readonly transport: PeerTransport,
    sm: KvStateMachine,
    lastSnapshotIndex: number,
    quarantined: boolean,
  ) {
    this.opts = { ...DEFAULTS, faultInjection: false, log: () => {}, ...opts } as typeof this.opts;
    this.id = opts.nodeId;
    this.sm = sm;
    this.lastSnapshotIndex = lastSnapshotIndex;
    this.quarantined = quarantined;
    this.proposals = new ProposalWaiters(this.opts.proposalTimeoutMs);
    this.confWaiters = new ProposalWaiters(this.opts.proposalTimeoutMs * 2);
    this.reads = new LinearizableReads(
      `${this.id}`,
      (ctx) => this.raft.readIndex(ctx),
      () => this.raft.appliedIndex,
      this.opts.tickMs * this.opts.electionTicks,
    );
  }

  /** Opens storage (bootstrapping or joining if it is empty), starts the transport and the clock. */
  static async start(options: RaftKvNodeOptions): Promise<RaftKvNode> {
    const o = { ...DEFAULTS, ...options };
    const log: Log = o.log ?? (() => {});
    const raftDir = `${o.dataDir}/raft`;
    await Deno.mkdir(raftDir, { recursive: true });
    // One save per Ready, never two at once: the Ready is the batch, so no coalescing delay.
    const { storage, recovered } = await RaftStorage.open(raftDir, {
      log: (line) => log("warn", `storage: ${line}`),
      coalesce: false,
    });
    let initial: InitialState = recovered;
    let sm: KvStateMachine;
    if (recovered.fresh && o.bootstrap) {
      sm = KvStateMachine.bootstrap(o.nodeId, { ...o.self, incarnation: o.incarnation });
      const snapshot = bootstrapSnapshot([o.nodeId], sm.encode());
      const hardState = { term: 1, vote: 0, commit: 1 };
      await storage.saveSnapshot(snapshot);
      await storage.save([], hardState);
      initial = { hardState, snapshot, entries: [] };
      log(
        "info",
        `bootstrapped a new cluster "${o.clusterId}" with this node (${o.nodeId}) as its only voter`,
      );
    } else {
      sm = recovered.snapshot ? KvStateMachine.decode(recovered.snapshot.data) : new KvStateMachine();
      if (recovered.fresh && !skipsLearnerStage(o.safetyMode)) {
        await setAwaitingLearner(o.dataDir, true);
        log("info", "empty storage: waiting to be added to the cluster as a learner");
      }
    }
    const quarantined = await isAwaitingLearner(o.dataDir);
    const raft = new RaftNode({
      id: o.nodeId,
      random: Math.random,
      electionTick: o.electionTicks,
      heartbeatTick: 1,
      safetyMode: o.safetyMode,
      logger: (line) => log("debug", line),
    }, initial);
    raft.setQuarantined(quarantined);

    // The transport's callbacks need the node, which needs the transport: tie the knot late.
    const ref: { node?: RaftKvNode } = {};
    const transport = new PeerTransport({
      nodeId: o.nodeId,
      clusterId: o.clusterId,
      token: o.peerToken,
      listen: o.listenPeer,
      advertise: o.self.peer,
      onMessage: (m) => ref.node?.onMessage(m),
      onSnapshotSent: (to, ok) => ref.node?.onSnapshotSent(to, ok),
      onPeerUnreachable: (to) => ref.node?.onPeerUnreachable(to),
      resolveHost: o.resolveHost,
      faultInjection: o.faultInjection,
      log: (level, line) => log(level, `transport: ${line}`),
    });
    const node = ref.node = new RaftKvNode(
      o,
      raft,
      storage,
      transport,
      sm,
      recovered.snapshot?.meta.index ?? initial.snapshot?.meta.index ?? 0,
      quarantined,
    );
    try {
      await transport.start();
    } catch (e) {
      await storage.close();
      throw new Error(
        `cannot listen for peers on ${o.listenPeer.hostname}:${o.listenPeer.port}: ${(e as Error).message}`,
      );
    }
    node.storedHardState = node.latestHardState = initial.hardState;
    node.syncPeers();
    node.tickTimer = setInterval(() => node.onTick(), o.tickMs);
    node.kick();
    return node;
  }

  // ---------------------------------------------------------------- inputs from the outside

  private onMessage(m: unknown): void {
    if (this.stopped) return;
    this.raft.step(m);
    this.kick();
  }

  private onSnapshotSent(to: NodeId, ok: boolean): void {
    if (this.stopped) return;
    this.raft.reportSnapshot(to, ok);
    this.kick();
  }

  private onPeerUnreachable(to: NodeId): void {
    if (this.stopped) return;
    this.raft.reportUnreachable(to);
  }

  private onTick(): void {
    if (this.stopped) return;
    this.raft.tick();
    this.reads.onTick();
    this.kick();
  }

  // ---------------------------------------------------------------- the Ready loop

  private kick(): void {
    if (this.loopRunning || this.stopped) return;
    this.loopRunning = true;
    void this.readyLoop();
  }

  /**
   * Runs until the core has nothing more to do. `loopRunning` is cleared in the same synchronous
   * stretch as the last hasReady() check: clearing it later (in a promise callback) would let a
   * message stepped in between find the loop "running" and wait for the next tick (~50 ms).
   */
  private async readyLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped || !this.raft.hasReady()) {
          this.loopRunning = false;
          return;
        }
        await this.processOneReady();
      }
    } catch (e) {
      this.loopRunning = false;
      this.die(e as Error);
    }
  }

  private async processOneReady(): Promise<void> {
    const rd = this.raft.ready();
    this.metrics.readyBatches++;
    const early = rd.messages.filter(canSendBeforePersist);
    if (early.length) this.transport.send(early);
    await this.persist(rd);
    if (this.stopped) return;
    const late = early.length ? rd.messages.filter((m) => !canSendBeforePersist(m)) : rd.messages;
    if (late.length) this.transport.send(late);
    const confChanged = this.apply(rd);
    this.raft.advance(rd);
    if (rd.softState) this.onSoftState();
    if (confChanged) this.onConfigurationApplied();
    this.reads.onApplied();
    this.maybeSnapshot();
  }

  /**
   * Makes a Ready durable. A hard state that differs from the stored one only in its commit
   * index is not synced on its own: the commit index is recoverable (a restarted node relearns
   * it from the leader), so it rides along with the next write instead of costing an fsync on
   * every commit. Term and vote changes, entries and snapshots are always synced first.
   */
  private async persist(rd: Ready): Promise<void> {
    if (rd.hardState) this.latestHardState = rd.hardState;
    if (rd.snapshot) await this.storage.saveSnapshot(rd.snapshot);
    const hs = this.latestHardState;
    const stored = this.storedHardState;
    const termOrVoteChanged = hs !== undefined && (hs.term !== stored?.term || hs.vote !== stored?.vote);
    if (rd.entries.length || termOrVoteChanged || (rd.snapshot && hs)) {
      await this.storage.save(rd.entries, hs);
      this.storedHardState = hs;
    }
  }

  /** Applies a Ready's snapshot and committed entries; returns whether the configuration changed. */
  private apply(rd: Ready): boolean {
    let confChanged = false;
    if (rd.snapshot) {
      this.sm = KvStateMachine.decode(rd.snapshot.data);
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.proposals.skippedTo(rd.snapshot.meta.index);
      this.metrics.snapshotsInstalled++;
      confChanged = true;
      this.opts.log("info", `installed snapshot at index ${rd.snapshot.meta.index} from the leader`);
    }
    for (const e of rd.committedEntries) {
      this.metrics.appliedEntries++;
      if (e.type === "conf") {
        this.sm.applyConfChange(e);
        this.noticeOwnLearnerStage(e.change!);
        this.confWaiters.applied(e, () => e.index);
        confChanged = true;
      } else if (e.data?.length) {
        const outcome = this.sm.applyCommand(e);
        this.proposals.applied(e, () => outcome);
      } else {
        this.proposals.applied(e, () => ({ kind: "invalid" }));
      }
    }
    for (const rs of rd.readStates) this.reads.onReadState(rs);
    for (const ctx of rd.droppedReads) this.reads.onDropped(ctx);
    return confChanged;
  }

  /** Lifts the lost-storage quarantine when this incarnation is added as a learner. */
  private noticeOwnLearnerStage(change: ConfChange): void {
    if (!this.quarantined) return;
    const addsMe = change.ops.some((op) => op.op === "addLearner" && op.node === this.id);
    const announced = decodeMembersContext(change.context).get(this.id);
    if (addsMe && announced?.incarnation === this.opts.incarnation) {
      this.quarantined = false;
      this.raft.setQuarantined(false);
      setAwaitingLearner(this.opts.dataDir, false).catch((e) => this.die(e as Error));
      this.opts.log("info", "added as a learner: this node may vote once it is promoted");
    }
  }

  private onConfigurationApplied(): void {
    const conf = this.raft.confState();
    this.sm.retainMembers(conf);
    this.syncPeers();
    const listed = conf.voters.includes(this.id) || conf.votersOutgoing.includes(this.id);
    if (this.quarantined && listed && this.raft.appliedIndex >= this.raft.commitIndex) {
      this.opts.log(
        "error",
        `this node (${this.id}) is a voter in the configuration but started with empty storage: its disk was lost. ` +
          `It will not vote. Remove it and add the member again under a new id.`,
      );
    }
  }

  private onSoftState(): void {
    this.metrics.leaderChanges++;
    this.opts.log(
      "info",
      `role ${this.raft.role}, leader ${this.raft.leader || "unknown"}, term ${this.raft.term}`,
    );
    for (const w of [...this.leaderWatchers]) w();
  }

  /**
   * Peers to dial: every member of the directory but this node. Peers the transport learned
   * from a hello stay until the directory knows them (a joining node learns the leader that way).
   */
  private syncPeers(): void {
    const wanted = new Map<NodeId, string>();
    for (const [id, info] of this.sm.members) if (id !== this.id) wanted.set(id, info.peer);
    const current = this.transport.peerAddresses();
    for (const [id, address] of wanted) if (current.get(id) !== address) this.transport.setPeer(id, address);
    for (const id of this.directoryPeers) if (!wanted.has(id)) this.transport.removePeer(id);
    this.directoryPeers = new Set(wanted.keys());
  }

  private maybeSnapshot(force = false): Promise<number> | undefined {
    const applied = this.raft.appliedIndex;
    if (this.snapshotInFlight || applied <= this.lastSnapshotIndex) return undefined;
    if (!force && applied - this.lastSnapshotIndex < this.opts.snapshotEntries) return undefined;
    const term = this.raft.termAt(applied);
    if (term === undefined) return undefined;
    // Encoded now, synchronously, so the image is exactly the state at `applied`.
    const snapshot: Snapshot = {
      meta: { index: applied, term, conf: this.raft.confState() },
      data: this.sm.encode(),
    };
    this.snapshotInFlight = true;
    const done = this.storage.saveSnapshot(snapshot).then(() => {
      this.raft.compact(snapshot, this.opts.retainEntries);
      this.lastSnapshotIndex = applied;
      this.metrics.snapshotsTaken++;
      this.opts.log("info", `snapshot at index ${applied} (${snapshot.data.length} bytes)`);
      return applied;
    }).catch((e) => {
      this.die(e as Error);
      throw e;
    }).finally(() => {
      this.snapshotInFlight = false;
    });
    return done;
  }

  private die(error: Error): void {
    if (this.fatal) return;
    this.fatal = error;
    this.opts.log("error", `stopping: ${error.message}`);
    void this.stop();
    this.opts.onFatal?.(error);
  }

  // ---------------------------------------------------------------- the API used by the server

  private assertRunning(): void {
    if (this.fatal) throw new NodeStoppedError(`node stopped after a fatal error: ${this.fatal.message}`);
    if (this.stopped) throw new NodeStoppedError("node is shut down");
  }

  /** Proposes a write on the leader and resolves with its result once applied here. */
  async write(command: KvCommand): Promise<ApplyOutcome> {
    this.assertRunning();
    const index = this.raft.propose([encodeCommand(command)]);
    this.metrics.proposals++;
    const term = this.raft.term;
    this.kick();
    return await this.proposals.wait(index, term);
  }

  /** Resolves when a linearizable read of the local state is safe. */
  async linearizableBarrier(): Promise<void> {
    this.assertRunning();
    const before = this.reads.rounds;
    const wait = this.reads.wait();
    this.metrics.readRounds += this.reads.rounds - before;
    this.kick();
    await wait;
    this.metrics.linearizableReads++;
  }

  /** A local read of the applied state (linearizable only after linearizableBarrier()). */
  read(key: string, stale = false): string | undefined {
    if (stale) this.metrics.staleReads++;
    return this.sm.get(key);
  }

  /** Proposes a membership change (leader only) and resolves with its index once applied here. */
  async changeMembership(change: ConfChange): Promise<number> {
    this.assertRunning();
    const index = this.raft.proposeConfChange(change);
    const term = this.raft.term;
    this.kick();
    return await this.confWaiters.wait(index, term);
  }

  /** Asks for leadership to move to `to`; resolves once `to` leads (as seen here). */
  async transferLeadership(to: NodeId, timeoutMs = 5_000): Promise<void> {
    this.assertRunning();
    if (this.raft.leader === to) return;
    this.raft.transferLeadership(to);
    this.kick();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.leaderWatchers.delete(check);
        reject(
          new RetryableError(`leadership did not move to ${to} within ${timeoutMs} ms (is it caught up?)`),
        );
      }, timeoutMs);
      const check = () => {
        if (this.raft.leader !== to) return;
        clearTimeout(timer);
        this.leaderWatchers.delete(check);
        resolve();
      };
      this.leaderWatchers.add(check);
    });
  }

  /** Takes a snapshot now; resolves with its index. */
  async snapshotNow(): Promise<number> {
    this.assertRunning();
    return await (this.maybeSnapshot(true) ?? Promise.resolve(this.lastSnapshotIndex));
  }

  /** unsafe-no-joint only: adopt a configuration from outside the log. */
  adoptConfigUnsafe(conf: ConfState): void {
    this.assertRunning();
    this.raft.adoptConfigUnsafe(conf);
    this.kick();
  }

  get leader(): NodeId {
    return this.raft.leader;
  }

  get isLeader(): boolean {
    return this.raft.role === "leader";
  }

  get appliedIndex(): number {
    return this.raft.appliedIndex;
  }

  get commitIndex(): number {
    return this.raft.commitIndex;
  }

  get isQuarantined(): boolean {
    return this.quarantined;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get fatalError(): Error | undefined {
    return this.fatal;
  }

  get confIndex(): number {
    return this.sm.confIndex;
  }

  confState(): ConfState {
    return this.raft.confState();
  }

  members(): Map<NodeId, MemberInfo> {
    return new Map(this.sm.members);
  }

  memberInfo(id: NodeId): MemberInfo | undefined {
    return this.sm.members.get(id);
  }

  status(): NodeStatus {
    return this.raft.status();
  }

  get keyCount(): number {
    return this.sm.data.size;
  }

  storageStats() {
    return this.storage.stats();
  }

  transportStats(): TransportStats {
    return this.transport.stats();
  }

  get faults(): FaultInjector {
    return this.transport.faults;
  }

  get safetyMode(): SafetyMode {
    return this.opts.safetyMode;
  }

  get incarnation(): string {
    return this.opts.incarnation;
  }

  /** Stops the clock, the transport and storage; pending requests fail. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.tickTimer);
    const error = this.fatal ?? new NodeStoppedError("node is shutting down");
    // A proposal already in the log may still be committed by the next leader: its outcome is
    // unknown, not "failed" (a client told "not applied" would be told a lie).
    const unknown = new UnknownOutcomeError(
      `node ${this.id} stopped before the write was applied here; it may still apply: retry with the same sequence number`,
    );
    this.proposals.failAll(unknown);
    this.confWaiters.failAll(unknown);
    this.reads.failAll(error);
    await this.transport.close().catch(() => {});
    // Let an in-flight fsync finish before closing the files under it.
    for (let i = 0; i < 100 && this.loopRunning; i++) await new Promise((r) => setTimeout(r, 10));
    await this.storage.close().catch(() => {});
  }
}

export type { KvResult };
export { NotLeaderError };
