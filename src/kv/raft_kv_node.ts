/**
 * One raft-kv node as the server runs it: the node driver (node_driver.ts: the Ready loop,
 * persistence policy, quarantine, snapshots) over the file store, the real peer transport, a
 * clock, and the waiters that turn applied entries and read states into answers for clients.
 * Everything that decides *what* happens lives in the driver, which the simulator runs too; this
 * file only connects it to sockets, timers and promises.
 */
import { setImmediate } from "node:timers";
import type { ArenaStats } from "./value_arena.ts";
import { probes } from "../metrics/probes.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type NodeId,
  type NodeStatus,
  NotLeaderError,
  type SafetyMode,
} from "../raft/mod.ts";
import { PeerTransport, type ResolveHost, type TransportStats } from "../transport/mod.ts";
import type { FaultInjector } from "../transport/mod.ts";
import type { PeerChannel } from "../transport/mod.ts";
import { encodeCommand, type KvBatchCommand, type KvCommand, type KvResult } from "./commands.ts";
import type { ApplyOutcome } from "./state_machine.ts";
import type { MemberInfo } from "./members.ts";
import { ProposalWaiters } from "./proposals.ts";
import { LinearizableReads } from "./linearizable_reads.ts";
import { NodeStoppedError, RetryableError, UnknownOutcomeError } from "./errors.ts";
import { type Log, NodeDriver } from "./node_driver.ts";
import { FileNodeStore } from "./file_node_store.ts";
import { StageClock } from "./write_stages.ts";

export type { Log, LogLevel } from "./node_driver.ts";

export interface RaftKvNodeOptions {
  nodeId: NodeId;
  clusterId: string;
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
  /** Also take a snapshot once the entries applied since the last one hold this many bytes (0: no limit). */
  snapshotLogBytes?: number;
  /** Log entries kept behind a snapshot, so slightly slow followers catch up without one. */
  retainEntries?: number;
  proposalTimeoutMs?: number;
  faultInjection?: boolean;
  resolveHost?: ResolveHost;
  /** Plain TCP by default; src/security's mutual TLS when the server runs with TLS. */
  peerChannel?: PeerChannel;
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
  private driver!: NodeDriver;
  private readonly proposals: ProposalWaiters<ApplyOutcome>;
  private readonly confWaiters: ProposalWaiters<number>;
  private readonly reads: LinearizableReads;
  private readonly leaderWatchers = new Set<() => void>();
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private fatal: Error | undefined;
  private directoryPeers = new Set<NodeId>();
  private transport!: PeerTransport;
  /** Per-stage latency of writes and reads (write_stages.ts), reported to the probes. */
  private readonly stages = new StageClock();
  private commitSeen = 0;
  /** Starts every ReadIndex context this process sends; new for every process (see below). */
  readonly readContextPrefix: string;
  private readonly opts: Required<Omit<RaftKvNodeOptions, "resolveHost" | "onFatal">> & RaftKvNodeOptions;

  private constructor(opts: RaftKvNodeOptions, private readonly store: FileNodeStore) {
    this.opts = { ...DEFAULTS, faultInjection: false, log: () => {}, ...opts } as typeof this.opts;
    this.id = opts.nodeId;
    this.proposals = new ProposalWaiters(this.opts.proposalTimeoutMs);
    this.confWaiters = new ProposalWaiters(this.opts.proposalTimeoutMs * 2);
    this.readContextPrefix = newReadContextPrefix(this.id);
    this.reads = new LinearizableReads(
      this.readContextPrefix,
      (ctx) => this.raft.readIndex(ctx),
      () => this.raft.appliedIndex,
      this.opts.tickMs * this.opts.electionTicks,
    );
  }

  private get raft() {
    return this.driver.raft;
  }

  /** Opens storage (bootstrapping or joining if it is empty), starts the transport and the clock. */
  static async start(options: RaftKvNodeOptions): Promise<RaftKvNode> {
    const o = { ...DEFAULTS, ...options };
    const log: Log = o.log ?? (() => {});
    const store = new FileNodeStore({ dataDir: o.dataDir, log: (line) => log("warn", `storage: ${line}`) });
    const node = new RaftKvNode(options, store);
    node.driver = await new Promise<NodeDriver>((resolve, reject) =>
      NodeDriver.start(
        {
          nodeId: o.nodeId,
          self: o.self,
          bootstrap: o.bootstrap,
          safetyMode: o.safetyMode,
          electionTicks: o.electionTicks,
          snapshotEntries: o.snapshotEntries,
          snapshotLogBytes: o.snapshotLogBytes,
          retainEntries: o.retainEntries,
          random: Math.random,
          newIncarnation: () => crypto.randomUUID(),
          log,
          debug: (line) => log("debug", line),
        },
        store,
        node.driverHooks(),
        (error, driver) => error ? reject(error) : resolve(driver!),
      )
    );
    Object.defineProperty(node.metrics, "snapshotsTaken", { get: () => node.driver.snapshotsTaken });
    node.transport = new PeerTransport({
      nodeId: o.nodeId,
      clusterId: o.clusterId,
      token: o.peerToken,
      safetyMode: o.safetyMode,
      listen: o.listenPeer,
      advertise: o.self.peer,
      onMessage: (m) => {
        if (m.type === "appResp") {
          if (!m.reject && m.index !== undefined) node.stages.acknowledged(m.index);
        } else if (m.type === "app" && m.entries?.length) {
          node.stages.followerAppendReceived(m.entries[m.entries.length - 1].index);
        }
        node.driver.step(m);
      },
      onSnapshotSent: (to, ok) => node.driver.reportSnapshot(to, ok),
      // The core keeps snapshots as metadata; their images are read from the snapshot files.
      snapshotData: (meta) => store.openSnapshotData(meta),
      // And a leader's snapshot is received into a file, chunk by chunk, not into memory.
      stageSnapshot: (meta, size) => store.stageSnapshot(meta, size),
      onPeerUnreachable: (to) => node.driver.reportUnreachable(to),
      resolveHost: o.resolveHost,
      channel: o.peerChannel,
      faultInjection: o.faultInjection,
      log: (level, line) => log(level, `transport: ${line}`),
    });
    try {
      await node.transport.start();
    } catch (e) {
      await new Promise((r) => store.close(r));
      throw new Error(
        `cannot listen for peers on ${o.listenPeer.hostname}:${o.listenPeer.port}: ${(e as Error).message}`,
      );
    }
    node.syncPeers();
    node.tickTimer = setInterval(() => node.onTick(), o.tickMs);
    node.driver.kick();
    return node;
  }

  private driverHooks() {
    return {
      send: (messages: import("../raft/mod.ts").Message[]) => this.transport.send(messages),
      onApplied: (e: Entry, outcome: ApplyOutcome) => {
        this.metrics.appliedEntries++;
        this.stages.applied(e.index);
        this.proposals.applied(e, () => outcome);
      },
      onConfApplied: (e: Entry) => {
        this.metrics.appliedEntries++;
        this.confWaiters.applied(e, () => e.index);
      },
      onSnapshotInstalled: (snapshot: import("../raft/mod.ts").Snapshot) => {
        this.proposals.skippedTo(snapshot.meta.index);
        this.metrics.snapshotsInstalled++;
      },
      onReadState: (rs: import("../raft/mod.ts").ReadState) => this.reads.onReadState(rs),
      onDroppedRead: (ctx: string) => this.reads.onDropped(ctx),
      onSoftState: () => this.onSoftState(),
      onConfigurationChanged: () => this.syncPeers(),
      onReadyProcessed: () => {
        this.metrics.readyBatches++;
        this.reads.onApplied();
      },
      onFatal: (error: Error) => this.die(error),
      afterStep: () => this.noticeCommit(),
      later: (fn: () => void, ms: number) => setTimeout(fn, ms),
      deferReady: (run: () => void) => setImmediate(run), // see DriverHooks.deferReady
      onReadyTaken: (rd: import("../raft/mod.ts").Ready) => {
        this.noticeCommit();
        if (rd.entries.length && this.raft.role === "leader") {
          this.stages.taken(rd.entries[0].index, rd.entries[rd.entries.length - 1].index, performance.now());
        }
      },
      onPersisted: (rd: import("../raft/mod.ts").Ready) => {
        if (rd.entries.length && this.raft.role === "leader") {
          this.stages.persisted(rd.entries[0].index, rd.entries[rd.entries.length - 1].index);
        }
        let acked = 0;
        for (const m of rd.messages) {
          if (m.type === "appResp" && !m.reject) acked = Math.max(acked, m.index ?? 0);
        }
        if (acked) this.stages.followerAcknowledged(acked);
      },
    };
  }

  /** Times the commit of tracked proposals as soon as the core's commit index moves. */
  private noticeCommit(): void {
    const commit = this.raft.commitIndex;
    if (commit <= this.commitSeen) return;
    this.stages.committed(this.commitSeen, commit);
    this.commitSeen = commit;
  }

  private onTick(): void {
    if (this.stopped) return;
    this.driver.tick();
    this.reads.onTick();
    this.driver.kick();
  }

  private kick(): void {
    this.driver.kick();
  }

  private onSoftState(): void {
    this.metrics.leaderChanges++;
    this.stages.leaderChanged();
    probes.softState(this.raft.role, this.raft.leader, this.raft.term);
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
    if (!this.transport) return;
    const wanted = new Map<NodeId, string>();
    for (const [id, info] of this.driver.sm.members) if (id !== this.id) wanted.set(id, info.peer);
    const current = this.transport.peerAddresses();
    for (const [id, address] of wanted) if (current.get(id) !== address) this.transport.setPeer(id, address);
    for (const id of this.directoryPeers) if (!wanted.has(id)) this.transport.removePeer(id);
    this.directoryPeers = new Set(wanted.keys());
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

  /**
   * Proposes a write on the leader and resolves with its result once applied here. `timing`, if
   * given, says when the request arrived (for the stage histograms) and gets when it was applied.
   */
  async write(
    command: KvCommand | KvBatchCommand,
    timing?: { received: number; applied?: number },
  ): Promise<ApplyOutcome> {
    this.assertRunning();
    const index = this.raft.propose([encodeCommand(command)]);
    this.metrics.proposals++;
    this.stages.proposed(index, timing?.received);
    const term = this.raft.term;
    this.kick();
    const outcome = await this.proposals.wait(index, term);
    // When it was applied, not when this resumed: the wait in between belongs to apply_to_response.
    if (timing) timing.applied = this.stages.appliedAt(index) ?? performance.now();
    return outcome;
  }

  /** Resolves when a linearizable read of the local state is safe. */
  async linearizableBarrier(): Promise<void> {
    this.assertRunning();
    const started = performance.now();
    const before = this.reads.rounds;
    const wait = this.reads.wait();
    this.metrics.readRounds += this.reads.rounds - before;
    this.kick();
    await wait;
    probes.stage("read_total", (performance.now() - started) / 1000);
    this.metrics.linearizableReads++;
  }

  /** A local read of the applied state (linearizable only after linearizableBarrier()). */
  read(key: string, stale = false): string | undefined {
    if (stale) this.metrics.staleReads++;
    return this.driver.sm.get(key);
  }

  /** The log index of the write that set the key's current value (read right after read()). */
  modIndex(key: string): number | undefined {
    return this.driver.sm.modIndexOf(key);
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

  /** Takes a snapshot now; resolves with its index once durable. */
  async snapshotNow(): Promise<number> {
    this.assertRunning();
    return await new Promise<number>((resolve, reject) => {
      const started = this.driver.maybeSnapshot(true, (error, index) => {
        if (error) reject(error);
        else resolve(index);
      });
      if (!started) resolve(this.driver.snapshotIndex);
    });
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
    return this.driver.quarantined;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get fatalError(): Error | undefined {
    return this.fatal;
  }

  get confIndex(): number {
    return this.driver.sm.confIndex;
  }

  confState(): ConfState {
    return this.raft.confState();
  }

  members(): Map<NodeId, MemberInfo> {
    return new Map(this.driver.sm.members);
  }

  memberInfo(id: NodeId): MemberInfo | undefined {
    return this.driver.sm.members.get(id);
  }

  /** The last snapshot taken here: index, size on disk, and how long encoding and saving took. */
  get lastSnapshot(): NodeDriver["lastSnapshot"] {
    return this.driver.lastSnapshot;
  }

  /** The Raft log's entries held in memory (for measuring what they cost: experiments/bench/node_memory.ts). */
  logEntries(): Entry[] {
    return this.raft.entries(0, this.raft.lastIndex + 1);
  }

  /** Whether a local snapshot is being encoded or saved right now. */
  get snapshotInProgress(): boolean {
    return this.driver.snapshotting;
  }

  /** Bytes of snapshot image the Raft core holds in memory (0: it keeps metadata, images stay in files). */
  get snapshotImageBytesHeld(): number {
    return this.raft.latestSnapshot?.data.length ?? 0;
  }

  status(): NodeStatus {
    return this.raft.status();
  }

  get keyCount(): number {
    return this.driver.sm.data.size;
  }

  /** Memory of the arena that holds the values (kv_data.ts, value_arena.ts). */
  arenaStats(): ArenaStats {
    return this.driver.sm.data.arenaStats();
  }

  storageStats() {
    return this.store.stats()!;
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

  /** This node's storage incarnation (see file_node_store.ts). */
  get incarnation(): string {
    return this.driver.incarnation;
  }

  /** Stops the clock, the transport and storage; pending requests fail. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.driver.halt();
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
    for (let i = 0; i < 100 && this.driver.busy; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => this.store.close(r));
  }
}

/**
 * ReadIndex contexts are `<prefix>:<sequence>`, and the sequence restarts at 1 with the process.
 * A random part in the prefix keeps a restarted node from taking an answer to a round its previous
 * process started (a leader may still be answering it) for one of its own.
 */
export function newReadContextPrefix(nodeId: NodeId): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${nodeId}.${random[0].toString(36)}${random[1].toString(36)}`;
}

export type { KvResult };
export { NotLeaderError };
