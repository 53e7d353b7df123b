/**
 * The node driver: runs the Raft core's Ready loop over a NodeStore and the key-value state
 * machine. This is the code between the pure core and the world, and the simulator runs exactly
 * this class (with a simulated store, network and clock), so a random seed exercises what runs in
 * production: the persistence policy, snapshot application, quarantine and incarnation.
 *
 * One Ready at a time, in the order the core requires:
 *
 *   early messages (a leader's appends)  ->  persist (snapshot, entries, hard state)  ->
 *   other messages  ->  apply (snapshot, then entries; membership explicitly)  ->  advance
 *
 * except that committed entries (already durable here) are applied while the persist's fdatasync
 * runs when the Ready holds no snapshot and no configuration entry (see processReady).
 *
 * While a Ready is being persisted, messages keep stepping the core (that is the batching), and
 * a snapshot from the leader may arrive that covers the Ready's own committed entries: the core
 * keeps such a snapshot pending until this Ready is applied, so entries are always applied on the
 * configuration they were written for, and never again once a snapshot covers them.
 *
 * Where a membership change takes effect: `applyEntries` calls `raft.applyConfChange(entry)` for
 * every committed configuration entry (the one place, like etcd's ApplyConfChange), and records
 * the members' addresses only if the core applied it.
 */
import { probes } from "../metrics/probes.ts";
import {
  bootstrapSnapshot,
  canSendBeforePersist,
  type ConfChange,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  RaftNode,
  type ReadState,
  type Ready,
  type SafetyMode,
  skipsLearnerStage,
  type Snapshot,
} from "../raft/mod.ts";
import { type ApplyOutcome, KvStateMachine } from "./state_machine.ts";
import { decodeMembersContext, type MemberInfo } from "./members.ts";
import type { NodeStore, RecoveredNode } from "./node_store.ts";
import { CommitHold } from "./commit_hold.ts";
import {
  type Cancellable,
  decodeFileInSlices,
  decodeInSlices,
  encodeInSlices,
  encodeToWriter,
  type YieldThen,
} from "./snapshot_slices.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Log = (level: LogLevel, line: string) => void;

export interface NodeDriverOptions {
  nodeId: NodeId;
  /** How other nodes and clients reach this one; announced when bootstrapping. */
  self: MemberInfo;
  /** With empty storage: create a new single-member cluster (true) or wait to be added (false). */
  bootstrap: boolean;
  safetyMode: SafetyMode;
  electionTicks: number;
  /** Take a snapshot after this many applied entries (0: never automatically); see snapshotDue(). */
  snapshotEntries: number;
  /** Take a snapshot once the entries applied since the last one hold this many bytes (0: no
   * byte limit). Default 64 MiB. */
  snapshotLogBytes?: number;
  /** Log entries kept behind a snapshot, so slightly slow followers catch up without one. */
  retainEntries: number;
  maxInflight?: number;
  /** Randomness in [0, 1): election jitter and new incarnation nonces (seeded in the simulator). */
  random: () => number;
  /** A new storage incarnation's nonce. */
  newIncarnation: () => string;
  log: Log;
  /** Core debug lines (elections, configuration changes); off when undefined. */
  debug?: (line: string) => void;
}

/** What the driver tells its shell (the server's node, or the simulator). */
export interface DriverHooks {
  send(messages: Message[]): void;
  /** A normal entry was applied, with its outcome (invalid for no-ops and garbage). */
  onApplied(entry: Entry, outcome: ApplyOutcome): void;
  /** A configuration entry was applied (or skipped: `applied` false). */
  onConfApplied(entry: Entry, applied: boolean): void;
  onSnapshotInstalled(snapshot: Snapshot): void;
  onReadState(rs: ReadState): void;
  onDroppedRead(context: string): void;
  /** Leader or role changed. */
  onSoftState(): void;
  /** The configuration in force changed (directory of peers to dial may have changed). */
  onConfigurationChanged(): void;
  /** A Ready was fully processed (reads waiting for an applied index may now be served). */
  onReadyProcessed(rd: Ready): void;
  /** A storage failure: the node must stop (fail-stop; nothing acknowledged is lost). */
  onFatal(error: Error): void;
  /** Timing only (write_stages.ts): a message was stepped, before any Ready it causes is built. */
  afterStep?(): void;
  /** Timing only: a Ready was built and its early messages (appends) handed to the transport. */
  onReadyTaken?(rd: Ready): void;
  /** Timing only: a Ready's entries are durable; its other messages go out next. */
  onPersisted?(rd: Ready): void;
  /**
   * Runs `fn` after `ms` (setTimeout). Given, entry-less appends (commit broadcasts) are held
   * briefly and dropped when a later append carries their commit index (commit_hold.ts).
   * Absent (the simulator): every message leaves at once.
   */
  later?(fn: () => void, ms: number): void;
  /**
   * Runs `run` (the Ready loop) at the end of this event-loop turn: setImmediate in the server.
   * The driver defers only once inputs come in bursts (see kick), so that every input of the turn
   * goes into one Ready: a burst of client proposals into one append to each follower and one
   * fdatasync, several appends from the leader into one fdatasync and one acknowledgement. Started
   * at once, the first proposal of a burst took a Ready of its own and the rest waited for its
   * fdatasync before they could leave for the followers (64 clients: 0.1 Ready per write,
   * propose_to_ready p50 0.7 ms). Absent (the simulator): always at once, deterministically.
   */
  deferReady?(run: () => void): void;
}

export class NodeDriver {
  readonly id: NodeId;
  readonly raft: RaftNode;
  sm: KvStateMachine;
  readonly incarnation: string;
  private quarantinedNow: boolean;
  private loopRunning = false;
  /** Inputs (kicks) since the last Ready was taken, and how many that Ready gathered (see kick). */
  private inputsSinceReady = 0;
  private inputsInLastReady = 0;
  private stopped = false;
  private lastSnapshotIndex: number;
  private snapshotInFlight = false;
  /** The staged file of the leader snapshot being installed (incoming_snapshots.ts), if any. */
  private stagedImage: { path: string; size: number } | undefined;
  /** Snapshots taken locally (not received from a leader). */
  snapshotsTaken = 0;
  /** The last local snapshot: its size, and how long encoding (sliced) and saving took, wall ms. */
  lastSnapshot: { index: number; bytes: number; encodeMs: number; saveMs: number } | undefined;
  /** Abandons the local snapshot being encoded (a leader's snapshot supersedes it, or a halt). */
  private abandonSnapshot: ((why: string) => void) | undefined;
  /** Bytes of entry data applied since this driver started, and that count when the state was last imaged. */
  private appliedBytes = 0;
  private appliedBytesAtSnapshot = 0;
  /** Size of the newest image taken or installed (what the next snapshot will cost, about). */
  private lastImageBytes: number;
  private readonly yieldThen: YieldThen | undefined;
  /** The store keeps images in files (NodeStore.beginSnapshot): the core holds metadata only. */
  private readonly imagesInFiles: boolean;
  /** Entry-less appends waiting to be made redundant by a later append (see DriverHooks.later). */
  private readonly commitHold: CommitHold | undefined;
  /** The hard state last written to the store (commit-only changes are not written on their own). */
  private storedHardState: HardState;
  private latestHardState: HardState;

  private constructor(
    private readonly opts: NodeDriverOptions,
    private readonly store: NodeStore,
    private readonly hooks: DriverHooks,
    recovered: RecoveredNode,
    restored: KvStateMachine | undefined,
  ) {
    this.id = opts.nodeId;
    this.incarnation = recovered.incarnation;
    this.sm = restored ?? new KvStateMachine();
    this.lastSnapshotIndex = recovered.snapshot?.meta.index ?? 0;
    this.lastImageBytes = recovered.snapshotImage?.bytes ?? recovered.snapshot?.data.length ?? 0;
    this.imagesInFiles = store.beginSnapshot !== undefined;
    this.yieldThen = store.yieldThen ? (fn) => store.yieldThen!(fn) : undefined;
    this.storedHardState = this.latestHardState = recovered.hardState;
    this.quarantinedNow = recovered.awaitingLearner;
    this.commitHold = hooks.later &&
      new CommitHold(hooks.later, (messages) => !this.stopped && hooks.send(messages));
    this.raft = new RaftNode({
      id: opts.nodeId,
      random: opts.random,
      electionTick: opts.electionTicks,
      heartbeatTick: 1,
      safetyMode: opts.safetyMode,
      maxInflight: opts.maxInflight,
      logger: opts.debug,
    }, {
      hardState: recovered.hardState,
      snapshot: recovered.snapshot && this.coreCopy(recovered.snapshot),
      entries: recovered.entries,
    });
    this.raft.setQuarantined(this.quarantinedNow);
  }

  /**
   * Opens (or creates) the node's storage and builds the driver. A fresh storage is a new
   * incarnation: bootstrapped as a one-member cluster, or quarantined until added as a learner
   * in this incarnation (unless the mode skips the learner stage).
   */
  static start(
    opts: NodeDriverOptions,
    store: NodeStore,
    hooks: DriverHooks,
    done: (error: Error | undefined, driver?: NodeDriver) => void,
  ): void {
    store.open(() => {
      const incarnation = opts.newIncarnation();
      if (!opts.bootstrap) return { incarnation, awaitingLearner: !skipsLearnerStage(opts.safetyMode) };
      const sm = KvStateMachine.bootstrap(opts.nodeId, { ...opts.self, incarnation }, opts.safetyMode);
      return {
        incarnation,
        awaitingLearner: false,
        snapshot: bootstrapSnapshot([opts.nodeId], sm.encode()),
        hardState: { term: 1, vote: 0, commit: 1 },
      };
    }, (error, recovered) => {
      if (error || !recovered) return done(error ?? new Error("storage recovered nothing"));
      const image = recovered.snapshotImage;
      if (!image) {
        return NodeDriver.startWith(
          opts,
          store,
          hooks,
          recovered,
          recovered.snapshot && KvStateMachine.decode(recovered.snapshot.data),
          done,
        );
      }
      // The image is decoded from its file a piece at a time (the file's CRC was checked as it was
      // recovered), never read whole: at 1,000,000 keys of 100 B it is ~120 MB on top of the state, at the
      // moment a restarted member's memory peaks. Nothing else runs yet, so no yielding.
      decodeFileInSlices(image.path, undefined, (error, restored) => {
        if (error) {
          const index = recovered.snapshot?.meta.index;
          return done(new Error(`the snapshot at index ${index} cannot be decoded: ${error.message}`));
        }
        NodeDriver.startWith(opts, store, hooks, recovered, restored, done);
      }, image);
    });
  }

  private static startWith(
    opts: NodeDriverOptions,
    store: NodeStore,
    hooks: DriverHooks,
    recovered: RecoveredNode,
    restored: KvStateMachine | undefined,
    done: (error: Error | undefined, driver?: NodeDriver) => void,
  ): void {
    const mismatch = modeMismatch(restored, opts);
    if (mismatch) return done(mismatch);
    const driver = new NodeDriver(opts, store, hooks, recovered, restored);
    if (recovered.fresh && opts.bootstrap) {
      opts.log("info", `bootstrapped a new cluster with this node (${opts.nodeId}) as its only voter`);
    } else if (recovered.fresh && recovered.awaitingLearner) {
      opts.log("info", "empty storage: waiting to be added to the cluster as a learner");
    }
    done(undefined, driver);
  }

  get quarantined(): boolean {
    return this.quarantinedNow;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get snapshotIndex(): number {
    return this.lastSnapshotIndex;
  }

  // ---------------------------------------------------------------- inputs

  step(message: unknown): void {
    if (this.stopped) return;
    this.raft.step(message);
    this.hooks.afterStep?.();
    this.kick();
  }

  tick(): void {
    if (this.stopped) return;
    this.raft.tick();
    this.kick();
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.stopped) return;
    this.raft.reportSnapshot(to, ok);
    this.kick();
  }

  reportUnreachable(to: NodeId): void {
    if (!this.stopped) this.raft.reportUnreachable(to);
  }

  /** Stops processing: nothing more is persisted, sent or applied (a crash, or a shutdown). */
  halt(): void {
    this.stopped = true;
    this.commitHold?.clear();
    this.abandonSnapshot?.("node stopped");
  }

  /** Whether a local snapshot is being encoded or saved. */
  get snapshotting(): boolean {
    return this.snapshotInFlight;
  }

  /** Whether a Ready is being processed (persisting, typically). */
  get busy(): boolean {
    return this.loopRunning;
  }

  // ---------------------------------------------------------------- the Ready loop

  /**
   * Runs the Ready loop if it is not running. Call after any input to the core.
   * With a deferReady hook, the loop starts at the end of this event-loop turn when the last Ready
   * gathered several inputs (they come in bursts: let this turn's gather too), and at once when it
   * gathered one (a lone client: waiting would only add a turn to its write).
   */
  kick(): void {
    if (this.stopped) return;
    this.inputsSinceReady++;
    if (this.loopRunning) return;
    this.loopRunning = true;
    if (this.hooks.deferReady && this.inputsInLastReady > 1) this.hooks.deferReady(() => this.runLoop());
    else this.runLoop();
  }

  /**
   * Processes Readies until the core has none. A store may complete at once (the simulator's
   * instant disk) or later: the loop continues in the callback then, and `loopRunning` is cleared
   * in the same synchronous stretch as the last hasReady() check, so no input is left waiting.
   */
  private runLoop(): void {
    for (;;) {
      if (this.stopped || !this.raft.hasReady()) {
        this.loopRunning = false;
        this.inputsSinceReady = 0; // they needed no Ready: not part of a burst
        return;
      }
      let sync = true;
      let finished = false;
      this.processOneReady(() => {
        finished = true;
        if (!sync) this.runLoop();
      });
      sync = false;
      if (!finished) return;
    }
  }

  private processOneReady(next: () => void): void {
    const rd = this.raft.ready();
    // A Ready the loop finds with no new input (entries committed by our own persist) says nothing
    // about how inputs arrive.
    if (this.inputsSinceReady > 0) {
      this.inputsInLastReady = this.inputsSinceReady;
      this.inputsSinceReady = 0;
    }
    if (!rd.snapshot) return this.processReady(rd, undefined, next);
    // A leader's snapshot is decoded a slice at a time (snapshot_slices.ts): a large state would
    // otherwise stop this node for as long as decoding takes. Inputs keep stepping the core
    // meanwhile, as they do while a Ready is persisted.
    const index = rd.snapshot.meta.index;
    // With a staging store every received image is in a file and the message's data is empty;
    // an empty image without a staged file would install an empty state: refuse it.
    const staged = rd.snapshot.data.length === 0 ? this.store.stagedSnapshot?.(rd.snapshot.meta) : undefined;
    if (!staged && rd.snapshot.data.length === 0 && this.store.stagedSnapshot) {
      return this.fail(new Error(`the snapshot at index ${index} arrived without its staged image`));
    }
    const decoded = (error: Error | undefined, restored?: KvStateMachine) => {
      if (this.stopped) {
        this.loopRunning = false;
        return;
      }
      if (error) {
        return this.fail(new Error(`the snapshot at index ${index} cannot be decoded: ${error.message}`));
      }
      this.stagedImage = staged;
      this.processReady(rd, restored, next);
    };
    if (staged) decodeFileInSlices(staged.path, this.yieldThen, decoded);
    else decodeInSlices(rd.snapshot.data, this.yieldThen, decoded);
  }

  private processReady(rd: Ready, restored: KvStateMachine | undefined, next: () => void): void {
    // A snapshot from a cluster bootstrapped in another safety mode is refused, never stored.
    const mismatch = modeMismatch(restored, this.opts);
    if (mismatch) return this.fail(mismatch);
    const early = rd.messages.filter(canSendBeforePersist);
    // Entry-less appends wait for a later append only while no other write is in flight.
    const idle = this.raft.lastIndex === this.raft.commitIndex;
    const now = this.commitHold ? this.commitHold.filter(early, idle) : early;
    if (now.length) this.hooks.send(now);
    this.hooks.onReadyTaken?.(rd);
    // The core hands out only entries that are committed AND already durable here (applying <=
    // persisted), so they need not wait for this Ready's own write: they are applied while its
    // fdatasync is in flight (persist() starts the write before returning), and their clients are
    // answered one fdatasync sooner under load, as etcd applies while its WAL syncs. The fsync is
    // started first so that applying does not delay it, nor the acknowledgements that wait for it.
    // A snapshot or a configuration entry keeps the plain order (apply after persist), so a
    // configuration never takes effect ahead of the entries and messages persisted with it.
    const overlap = !rd.snapshot && !rd.committedEntries.some((e) => e.type === "conf");
    let applied = false;
    let confChanged = false;
    const apply = () => {
      if (applied) return;
      applied = true;
      confChanged = this.applyReady(rd, restored);
    };
    this.persist(rd, (error) => {
      if (this.stopped) {
        this.loopRunning = false;
        return;
      }
      if (error) return this.fail(error);
      this.hooks.onPersisted?.(rd);
      const late = early.length ? rd.messages.filter((m) => !canSendBeforePersist(m)) : rd.messages;
      if (late.length) this.hooks.send(late);
      const softChanged = rd.softState !== undefined;
      apply(); // unless already applied while the fsync ran
      this.raft.advance(rd);
      // The image is in the snapshot file now: the core keeps only its metadata (see coreCopy).
      if (rd.snapshot && this.imagesInFiles) {
        this.raft.compact(this.coreCopy(rd.snapshot), this.opts.retainEntries);
      }
      if (softChanged) this.hooks.onSoftState();
      if (confChanged) this.onConfigurationApplied();
      this.hooks.onReadyProcessed(rd);
      this.maybeSnapshot();
      next();
    });
    // The persist is under way (or done, and the callback above applied): apply meanwhile.
    if (overlap && !this.stopped) apply();
  }

  /**
   * Makes a Ready durable. A hard state that differs from the stored one only in its commit
   * index is not written on its own: the commit index is recoverable (a restarted node relearns
   * it from the leader), so it rides along with the next write instead of costing an fsync on
   * every commit. Term and vote changes, entries and snapshots are always made durable first.
   */
  private persist(rd: Ready, done: (error?: Error) => void): void {
    if (rd.hardState) this.latestHardState = rd.hardState;
    const hs = this.latestHardState;
    const stored = this.storedHardState;
    const termOrVoteChanged = hs.term !== stored.term || hs.vote !== stored.vote;
    const writeLog = () => {
      if (!(rd.entries.length || termOrVoteChanged || rd.snapshot)) return done();
      this.store.save(rd.entries, hs, (error) => {
        if (!error) this.storedHardState = hs;
        done(error);
      });
    };
    if (rd.snapshot) {
      // Saved before a local snapshot still being encoded, whose older index the store would refuse.
      this.abandonSnapshot?.("a snapshot from the leader supersedes it");
      const saved = (error?: Error) => error ? done(error) : writeLog();
      if (this.stagedImage) this.store.saveStagedSnapshot!(rd.snapshot.meta, saved);
      else this.store.saveSnapshot(rd.snapshot, saved);
    } else writeLog();
  }

  /** Applies a Ready's snapshot and committed entries; returns whether the configuration changed. */
  private applyReady(rd: Ready, restored: KvStateMachine | undefined): boolean {
    let confChanged = false;
    if (rd.snapshot) {
      this.sm = restored!;
      this.raft.applySnapshot(rd.snapshot);
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.lastImageBytes = this.stagedImage?.size ?? rd.snapshot.data.length;
      this.stagedImage = undefined;
      this.appliedBytesAtSnapshot = this.appliedBytes;
      confChanged = true;
      this.noticeOwnLearnerStageInDirectory();
      this.opts.log("info", `installed snapshot at index ${rd.snapshot.meta.index} from the leader`);
      this.hooks.onSnapshotInstalled(rd.snapshot);
      probes.snapshotInstalled(this.lastImageBytes);
    }
    for (const e of rd.committedEntries) {
      this.appliedBytes += e.data?.length ?? 0;
      if (e.type === "conf") {
        const result = this.raft.applyConfChange(e);
        if (result.applied) {
          this.sm.applyConfChange(e);
          this.noticeOwnLearnerStage(e.change!);
          confChanged = true;
        }
        this.hooks.onConfApplied(e, result.applied);
      } else if (e.data?.length) {
        this.hooks.onApplied(e, this.sm.applyCommand(e));
      } else {
        this.hooks.onApplied(e, { kind: "invalid" });
      }
    }
    for (const rs of rd.readStates) this.hooks.onReadState(rs);
    for (const ctx of rd.droppedReads) this.hooks.onDroppedRead(ctx);
    return confChanged;
  }

  /** Lifts the lost-storage quarantine when this incarnation is added as a learner. */
  private noticeOwnLearnerStage(change: ConfChange): void {
    if (!this.quarantinedNow) return;
    const addsMe = change.ops.some((op) => op.op === "addLearner" && op.node === this.id);
    if (addsMe && decodeMembersContext(change.context).get(this.id)?.incarnation === this.incarnation) {
      this.liftQuarantine("added as a learner");
    }
  }

  /**
   * A snapshot may cover the entry that added this incarnation as a learner: its member
   * directory then lists this node with this incarnation (the directory only keeps members of
   * the configuration in force), which is the same proof.
   */
  private noticeOwnLearnerStageInDirectory(): void {
    if (!this.quarantinedNow) return;
    if (this.sm.members.get(this.id)?.incarnation === this.incarnation) {
      this.liftQuarantine("a snapshot lists this storage incarnation as a member");
    }
  }

  private liftQuarantine(why: string): void {
    this.quarantinedNow = false;
    this.raft.setQuarantined(false);
    this.store.clearAwaitingLearner((error) => error && this.fail(error));
    this.opts.log("info", `${why}: this node may vote once it is a voter`);
  }

  private onConfigurationApplied(): void {
    const conf = this.raft.confState();
    this.sm.retainMembers(conf);
    this.hooks.onConfigurationChanged();
    const listed = conf.voters.includes(this.id) || conf.votersOutgoing.includes(this.id);
    if (this.quarantinedNow && listed && this.raft.appliedIndex >= this.raft.commitIndex) {
      this.opts.log(
        "error",
        `this node (${this.id}) is a voter in the configuration but its storage is a new incarnation: ` +
          `its disk was lost. It will not vote. Remove it and add the member again under a new id.`,
      );
    }
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Takes a snapshot of the applied state when one is due (or when forced). Calls back with its
   * index once durable and the log is compacted (or with an error if it was abandoned).
   *
   * Never stop-the-world: the state is frozen as it is now (copy-on-write, kv_data.ts)
   * and encoded a few milliseconds at a time between other work (snapshot_slices.ts); the store
   * writes it in pieces. Entries keep being applied meanwhile, on top of the frozen generation.
   * This is TiKV's approach (region snapshots generated from a RocksDB snapshot off the Raft
   * thread, while the Raft thread goes on), done on one thread by slicing rather than with a
   * worker, which would need the whole state copied to it. etcd avoids the question by keeping
   * its state in bbolt, where the "snapshot" is the database file and a read transaction sees a
   * frozen tree; a heap-resident map has to build an image.
   */
  maybeSnapshot(force = false, done?: (error: Error | undefined, index: number) => void): boolean {
    const applied = this.raft.appliedIndex;
    if (this.stopped || this.snapshotInFlight || applied <= this.lastSnapshotIndex) return false;
    if (!force && !this.snapshotDue(applied)) return false;
    const term = this.raft.termAt(applied);
    if (term === undefined) return false;
    const meta = { index: applied, term, conf: this.raft.confState() };
    const bytesAtImage = this.appliedBytes;
    const started = performance.now();
    this.snapshotInFlight = true;
    let encoding: Cancellable | undefined;
    this.abandonSnapshot = (why) => {
      this.abandonSnapshot = undefined;
      encoding?.cancel();
      this.snapshotInFlight = false;
      done?.(new Error(`snapshot at index ${applied} abandoned: ${why}`), applied);
    };
    const encodeFailed = (error: Error) => {
      this.snapshotInFlight = false;
      this.fail(error);
      done?.(error, applied);
    };
    if (this.imagesInFiles) {
      // The image goes to its file as it is encoded; the core keeps the metadata (see coreCopy).
      encoding = encodeToWriter(
        this.sm,
        (opened) => this.store.beginSnapshot!(meta, opened),
        (error, writer) => {
          this.abandonSnapshot = undefined;
          if (error) return encodeFailed(error);
          const encoded = performance.now();
          writer!.finish((error, bytes) =>
            this.snapshotSaved(
              error,
              { meta, data: EMPTY_IMAGE },
              bytes ?? 0,
              bytesAtImage,
              started,
              encoded,
              done,
            )
          );
        },
      );
      return true;
    }
    encoding = encodeInSlices(this.sm, this.yieldThen, (error, data) => {
      this.abandonSnapshot = undefined;
      if (error) return encodeFailed(error);
      const snapshot: Snapshot = { meta, data: data! };
      const encoded = performance.now();
      this.store.saveSnapshot(
        snapshot,
        (error) => this.snapshotSaved(error, snapshot, data!.length, bytesAtImage, started, encoded, done),
      );
    });
    return true;
  }

  /** A local snapshot is durable (or failed): compact the log, record and log what it cost. */
  private snapshotSaved(
    error: Error | undefined,
    snapshot: Snapshot,
    bytes: number,
    bytesAtImage: number,
    started: number,
    encoded: number,
    done: ((error: Error | undefined, index: number) => void) | undefined,
  ): void {
    const applied = snapshot.meta.index;
    this.snapshotInFlight = false;
    if (this.stopped) return done?.(new Error("node stopped"), applied);
    if (error) {
      this.fail(error);
      return done?.(error, applied);
    }
    this.raft.compact(snapshot, this.retainBehind(applied));
    this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, applied);
    this.appliedBytesAtSnapshot = Math.max(this.appliedBytesAtSnapshot, bytesAtImage);
    this.lastImageBytes = bytes;
    this.snapshotsTaken++;
    const saved = performance.now();
    probes.snapshotSaved(bytes, (saved - started) / 1000);
    this.lastSnapshot = { index: applied, bytes, encodeMs: encoded - started, saveMs: saved - encoded };
    this.opts.log(
      "info",
      `snapshot at index ${applied} (${bytes} bytes; encoded in ${
        (encoded - started).toFixed(0)
      } ms, saved in ${(saved - encoded).toFixed(0)} ms)`,
    );
    done?.(undefined, applied);
  }

  /**
   * How many entries to keep behind a snapshot at `index`: `retainEntries`, but no more than
   * RETAIN_BYTES of them. The entries are kept so that a slightly slow follower catches up without
   * a snapshot; counted in entries only, a log of large entries (bulk loads: 250 KB batches) kept
   * a thousand of them, 250 MB, after every snapshot.
   */
  private retainBehind(index: number): number {
    const want = this.opts.retainEntries;
    if (want <= 0) return 0;
    const kept = this.raft.entries(index - want + 1, index + 1);
    let bytes = 0;
    for (let i = kept.length - 1; i >= 0; i--) {
      bytes += kept[i].data?.length ?? 0;
      if (bytes > RETAIN_BYTES) return kept.length - 1 - i;
    }
    return want;
  }

  /**
   * The snapshot as the Raft core keeps it, to send to followers behind its log. With images in
   * files, metadata only (empty data): holding the image would cost as much memory again as the
   * state (about 100 MB at 200,000 keys of 500 B), all the time, for the rare follower that needs
   * it; the transport reads it from the snapshot file instead (raft_kv_node.ts). etcd does the
   * same (its raft MemoryStorage snapshot is re-read from the snapshot file when one is sent).
   */
  private coreCopy(snapshot: Snapshot): Snapshot {
    return this.imagesInFiles ? { meta: snapshot.meta, data: EMPTY_IMAGE } : snapshot;
  }

  /**
   * Whether a snapshot is due. Its cost is the size of the state (the whole image is written);
   * what it buys is a shorter log (memory, restart replay, followers catching up from entries).
   *   - By bytes: once the entries applied since the last image hold `snapshotLogBytes` (or a
   *     quarter of the last image, if larger: the log's memory stays a fraction of the state's),
   *     whatever their count, so a few huge values cannot grow the log without bound (TiKV compacts a
   *     region's log by size as well as count: raft-log-gc-size-limit / raft-log-gc-count-limit).
   *   - By count: every `snapshotEntries` entries (etcd's --snapshot-count), but with a large state
   *     only once the new log is at least a quarter of the last image: rewriting 100 MB to drop
   *     5 MB of log is mostly write amplification. Small states (under 1 MiB, the simulator's)
   *     snapshot on count alone.
   */
  private snapshotDue(applied: number): boolean {
    const logBytes = this.appliedBytes - this.appliedBytesAtSnapshot;
    const byteLimit = this.opts.snapshotLogBytes ?? DEFAULT_SNAPSHOT_LOG_BYTES;
    // ... or a quarter of the last image, if that is more: at 1,000,000 keys of 500 B (a 520 MB
    // image) a snapshot every 64 MiB of log rewrote the state eight times over per state's worth
    // of writes, and the encoding starved the writes on a 2-core machine.
    // Members apply the same entries, so under one policy they would all reach a snapshot at the
    // same log position and encode it at once (seen in the state-size benchmark: all three at the
    // same index): a quorum busy at the same moment, and members that share cores starving the
    // leader. With a large state each member waits longer by its id (x1, x1.25, x1.5 the log and
    // the entries), so their snapshots fall apart instead of coinciding every time.
    // What the snapshot will cost is the state as it is now: the last image alone is the
    // bootstrap's few bytes during a new cluster's bulk load, which made the first snapshot
    // unstaggered (every member at the same index, with tens of MB to encode).
    const imageBytes = Math.max(this.lastImageBytes, this.sm.data.weight);
    const stagger = imageBytes < IMAGE_BYTES_WORTH_WEIGHING ? 1 : 1 + ((this.id - 1) % 3) * 0.25;
    const bytesDue = Math.max(byteLimit, imageBytes / LOG_TO_IMAGE) * stagger;
    if (byteLimit > 0 && logBytes >= bytesDue) return true;
    const every = this.opts.snapshotEntries * stagger;
    if (!(every > 0 && applied - this.lastSnapshotIndex >= every)) return false;
    return imageBytes < IMAGE_BYTES_WORTH_WEIGHING || logBytes * LOG_TO_IMAGE >= imageBytes * stagger;
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    this.commitHold?.clear();
    this.loopRunning = false;
    this.hooks.onFatal(error);
  }
}

const DEFAULT_SNAPSHOT_LOG_BYTES = 64 * 1024 * 1024;
/** Most entry bytes kept behind a snapshot for slow followers (see retainBehind). */
const RETAIN_BYTES = 4 * 1024 * 1024;
/** The data of a snapshot the core keeps as metadata only (its image is in the store's file). */
const EMPTY_IMAGE = new Uint8Array(0);
/** Below this image size a snapshot is cheap and the entry count alone decides. */
const IMAGE_BYTES_WORTH_WEIGHING = 1024 * 1024;
/** With a larger image, a count-triggered snapshot waits until the new log is 1/LOG_TO_IMAGE of it. */
const LOG_TO_IMAGE = 4;

/** A state machine bootstrapped in another safety mode than this node runs: refuse to join it. */
function modeMismatch(sm: KvStateMachine | undefined, opts: NodeDriverOptions): Error | undefined {
  if (!sm?.safetyMode || sm.safetyMode === opts.safetyMode) return undefined;
  return new Error(
    `this cluster was bootstrapped in safety mode "${sm.safetyMode}" but node ${opts.nodeId} runs ` +
      `"${opts.safetyMode}": every member of a cluster must run the same mode (restart it with ` +
      `--safety-mode ${sm.safetyMode})`,
  );
}
