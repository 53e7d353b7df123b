/**
 * A deterministic in-memory Raft cluster: real RaftNodes, a simulated disk per node (only what a
 * Ready persisted survives a crash), the seeded network, virtual time, and the invariant checker
 * watching every step. Used by the random simulator, the bug scenarios and the scenario scripts.
 *
 * Entries and messages are shared by reference between nodes (no copying, for speed); nothing in
 * the core mutates an entry after creating it.
 */
import {
  bootstrapSnapshot,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  RaftNode,
  type ReadState,
  type Ready,
  type SafetyMode,
  type Snapshot,
} from "../raft/mod.ts";
import { Rng } from "./rng.ts";
import { EventQueue } from "./event_queue.ts";
import { CALM_NETWORK, type NetworkConditions, SimNetwork } from "./network.ts";
import { SimStateMachine } from "./state_machine.ts";
import { InvariantChecker, type LogView } from "./invariants.ts";
import { describeMessage } from "./trace.ts";

export interface Disk {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export interface SimNode {
  id: NodeId;
  raft: RaftNode;
  disk: Disk;
  sm: SimStateMachine;
  alive: boolean;
  /** Read states delivered to this node, in order. */
  reads: ReadState[];
  /** Commit index last seen in a Ready, to report commit progress to the checker. */
  commitSeen: number;
  wasLeader: boolean;
  lastSnapshotIndex: number;
  /** Index of the newest configuration entry (or snapshot) applied. */
  confIndex: number;
}

export interface SimOptions {
  seed: number;
  mode?: SafetyMode;
  electionTick?: number;
  heartbeatTick?: number;
  /** Virtual milliseconds between ticks of a node. */
  tickInterval?: number;
  network?: NetworkConditions;
  /** Take a snapshot and compact every this many applied entries (0: never). */
  snapshotEvery?: number;
  retainEntries?: number;
  maxInflight?: number;
  /** Keep a readable trace of the last `traceLimit` events (costly; used for replays). */
  trace?: boolean;
  traceLimit?: number;
}

type SimEvent =
  | { kind: "message"; message: Message }
  | { kind: "tick"; node: NodeId; incarnation: number }
  | { kind: "action"; run: () => void };

export class SimCluster {
  readonly rng: Rng;
  readonly net: SimNetwork;
  readonly checker: InvariantChecker;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly mode: SafetyMode;
  now = 0;
  steps = 0;
  readonly traceLines: string[] = [];
  private readonly events = new EventQueue<SimEvent>();
  private readonly incarnations = new Map<NodeId, number>();
  private readonly opts: Required<Omit<SimOptions, "network">>;

  constructor(options: SimOptions) {
    this.opts = {
      mode: "safe",
      electionTick: 10,
      heartbeatTick: 1,
      tickInterval: 10,
      snapshotEvery: 0,
      retainEntries: 0,
      maxInflight: 64,
      trace: false,
      traceLimit: 400,
      ...options,
    };
    this.mode = this.opts.mode;
    this.rng = new Rng(options.seed);
    this.net = new SimNetwork(options.network ?? CALM_NETWORK);
    this.checker = new InvariantChecker(() => this.now);
  }

  // ------------------------------------------------------------------ tracing

  get tracing(): boolean {
    return this.opts.trace;
  }

  trace(line: string): void {
    if (!this.opts.trace) return;
    this.traceLines.push(`${String(this.now).padStart(6)}ms  ${line}`);
    if (this.traceLines.length > this.opts.traceLimit) this.traceLines.shift();
  }

  // ------------------------------------------------------------------ membership of the simulation

  /** Creates the initial members, all starting from the same bootstrap snapshot. */
  bootstrap(ids: NodeId[]): void {
    const snap = bootstrapSnapshot(ids, new SimStateMachine().snapshot());
    for (const id of ids) {
      this.createNode(id, { hardState: { term: 1, vote: 0, commit: 1 }, snapshot: snap, entries: [] });
    }
  }

  /** Starts a brand-new, empty node (to be added as a learner or, unsafely, as a voter). */
  addNode(id: NodeId): SimNode {
    if (this.nodes.has(id)) throw new Error(`node ${id} already exists: node ids are never reused`);
    return this.createNode(id, { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] });
  }

  private createNode(id: NodeId, disk: Disk): SimNode {
    const node = {
      id,
      disk,
      alive: false,
      reads: [],
      commitSeen: 0,
      wasLeader: false,
      lastSnapshotIndex: 0,
    } as unknown as SimNode;
    this.nodes.set(id, node);
    this.start(node);
    return node;
  }

  private start(node: SimNode): void {
    const { disk } = node;
    const nodeRng = this.rng.fork();
    node.raft = new RaftNode({
      id: node.id,
      random: () => nodeRng.next(),
      electionTick: this.opts.electionTick,
      heartbeatTick: this.opts.heartbeatTick,
      safetyMode: this.mode,
      maxInflight: this.opts.maxInflight,
      logger: this.opts.trace ? (line) => this.trace(line) : undefined,
    }, { hardState: disk.hardState, snapshot: disk.snapshot, entries: disk.entries.slice() });
    node.sm = disk.snapshot ? SimStateMachine.restore(disk.snapshot.data) : new SimStateMachine();
    node.alive = true;
    node.commitSeen = node.raft.commitIndex;
    node.wasLeader = false;
    node.lastSnapshotIndex = disk.snapshot?.meta.index ?? 0;
    node.confIndex = node.lastSnapshotIndex;
    const incarnation = (this.incarnations.get(node.id) ?? 0) + 1;
    this.incarnations.set(node.id, incarnation);
    // Random tick phase so nodes do not move in lockstep.
    this.events.push(this.now + this.rng.int(1, this.opts.tickInterval), {
      kind: "tick",
      node: node.id,
      incarnation,
    });
    this.processReady(node);
  }

  /** Kills a node: everything not persisted by a Ready is lost. */
  crash(id: NodeId): void {
    const node = this.mustGet(id);
    if (!node.alive) return;
    node.alive = false;
    this.trace(`CRASH node ${id}`);
  }

  restart(id: NodeId): void {
    const node = this.mustGet(id);
    if (node.alive) return;
    this.trace(
      `RESTART node ${id} (term ${node.disk.hardState.term}, ${node.disk.entries.length} entries on disk)`,
    );
    this.start(node);
  }

  mustGet(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id} in the simulation`);
    return node;
  }

  alive(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  /** The alive leader of the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.alive && n.raft.role === "leader" && (!best || n.raft.term > best.raft.term)) best = n;
    }
    return best;
  }

  // ------------------------------------------------------------------ driving

  /** Schedules `run` at virtual time now + delay. */
  at(delay: number, run: () => void): void {
    this.events.push(this.now + delay, { kind: "action", run });
  }

  /** Processes events until virtual time reaches now + ms. */
  runFor(ms: number): void {
    const until = this.now + ms;
    while (this.events.peekTime() <= until) this.stepOnce();
    this.now = until;
  }

  /** Processes events until `done()` holds; false if `maxMs` of virtual time passed first. */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const until = this.now + maxMs;
    while (!done()) {
      if (this.events.peekTime() > until) {
        this.now = until;
        return false;
      }
      this.stepOnce();
    }
    return true;
  }

  private stepOnce(): void {
    const ev = this.events.pop();
    if (!ev) return;
    this.now = ev.time;
    this.steps++;
    const e = ev.item;
    if (e.kind === "message") this.deliver(e.message);
    else if (e.kind === "tick") {
      const node = this.nodes.get(e.node);
      if (!node || !node.alive || this.incarnations.get(e.node) !== e.incarnation) return;
      node.raft.tick();
      this.processReady(node);
      this.events.push(this.now + this.opts.tickInterval, e);
    } else e.run();
  }

  /** Delivers every in-flight message (and the messages they cause) without advancing ticks. */
  deliverAll(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      if (this.deliverRound() === 0) return;
    }
    throw new Error(`network did not settle after ${maxRounds} rounds of messages`);
  }

  /** Delivers only the messages in flight now; what they cause waits for the next round. */
  deliverRound(): number {
    const now: Message[] = [];
    const rest: Array<{ time: number; item: SimEvent }> = [];
    while (this.events.size) {
      const ev = this.events.pop()!;
      if (ev.item.kind === "message") now.push(ev.item.message);
      else rest.push(ev);
    }
    for (const ev of rest) this.events.push(ev.time, ev.item);
    for (const m of now) this.deliver(m);
    return now.length;
  }

  private deliver(m: Message): void {
    const node = this.nodes.get(m.to);
    if (!node || !node.alive || this.net.isBlocked(m.from, m.to)) {
      this.dropped(m);
      return;
    }
    this.net.delivered++;
    if (this.opts.trace) this.trace(`${m.from}->${m.to} ${describeMessage(m)}`);
    node.raft.step(m);
    this.processReady(node);
    // The real transport tells a snapshot's sender once the receiver has taken it.
    if (m.type === "snap") {
      const sender = this.nodes.get(m.from);
      if (sender?.alive) {
        sender.raft.reportSnapshot(m.to, true);
        this.processReady(sender);
      }
    }
  }

  private sendAll(messages: Message[]): void {
    for (const m of messages) {
      const sender = this.nodes.get(m.from);
      if (!sender?.alive) continue;
      const c = this.net.conditions;
      if (this.net.isBlocked(m.from, m.to) || (c.dropRate > 0 && this.rng.chance(c.dropRate))) {
        this.dropped(m);
        continue;
      }
      this.events.push(this.now + this.rng.int(c.minDelay, c.maxDelay), { kind: "message", message: m });
      if (c.duplicateRate > 0 && this.rng.chance(c.duplicateRate)) {
        this.events.push(this.now + this.rng.int(c.minDelay, c.maxDelay), { kind: "message", message: m });
      }
    }
  }

  /** A lost snapshot is reported back to its sender, as the real transport does. */
  private dropped(m: Message): void {
    this.net.dropped++;
    if (m.type !== "snap") return;
    const sender = this.nodes.get(m.from);
    if (!sender?.alive) return;
    sender.raft.reportSnapshot(m.to, false);
    this.processReady(sender);
  }

  /** Runs the node's Ready loop until it has nothing more to do. */
  processReady(node: SimNode): void {
    while (node.alive && node.raft.hasReady()) {
      const rd = node.raft.ready();
      this.persist(node, rd);
      this.sendAll(rd.messages);
      this.apply(node, rd);
      node.raft.advance(rd);
      this.observe(node);
      this.maybeSnapshot(node);
    }
  }

  private persist(node: SimNode, rd: Ready): void {
    const disk = node.disk;
    if (rd.snapshot) {
      disk.snapshot = rd.snapshot;
      disk.entries = [];
    }
    if (rd.entries.length) {
      this.checker.onPersist(node.id, rd.entries);
      const first = rd.entries[0].index;
      const keep = disk.entries.length ? Math.max(0, first - disk.entries[0].index) : 0;
      disk.entries.length = Math.min(disk.entries.length, keep);
      for (const e of rd.entries) disk.entries.push(e);
    }
    if (rd.hardState) disk.hardState = rd.hardState;
  }

  private apply(node: SimNode, rd: Ready): void {
    if (rd.snapshot) {
      node.sm = SimStateMachine.restore(rd.snapshot.data);
      node.raft.applySnapshot(rd.snapshot);
      node.confIndex = rd.snapshot.meta.index;
    }
    for (const e of rd.committedEntries) {
      this.checker.onApply(node.id, e);
      if (e.type === "conf" && node.raft.applyConfChange(e).applied) node.confIndex = e.index;
      if (e.type === "normal" && e.data) node.sm.apply(e.data);
    }
    for (const rs of rd.readStates) node.reads.push(rs);
  }

  /** Reports commit progress and leadership to the invariant checker. */
  private observe(node: SimNode): void {
    const raft = node.raft;
    const view = this.logView(node);
    if (raft.commitIndex > node.commitSeen) {
      this.checker.onCommit(view, node.commitSeen, raft.commitIndex);
      node.commitSeen = raft.commitIndex;
    }
    const isLeader = raft.role === "leader";
    if (isLeader && !node.wasLeader) {
      this.trace(
        `LEADER node ${node.id} term ${raft.term} last ${raft.lastIndex} commit ${raft.commitIndex}`,
      );
      this.checker.onLeader(raft.term, view);
    }
    node.wasLeader = isLeader;
  }

  logView(node: SimNode): LogView {
    const raft = node.raft;
    return {
      id: node.id,
      snapshotIndex: raft.snapshotIndex,
      lastIndex: raft.lastIndex,
      entryAt: (i) => raft.entries(i, i + 1)[0],
    };
  }

  private maybeSnapshot(node: SimNode): void {
    const every = this.opts.snapshotEvery;
    const applied = node.raft.appliedIndex;
    if (!every || applied - node.lastSnapshotIndex < every) return;
    const term = node.raft.termAt(applied);
    if (term === undefined) return;
    const snap: Snapshot = {
      meta: { index: applied, term, conf: node.raft.confState() },
      data: node.sm.snapshot(),
    };
    node.raft.compact(snap, this.opts.retainEntries);
    node.disk.snapshot = snap;
    node.disk.entries = node.disk.entries.filter((e) => e.index > applied);
    node.lastSnapshotIndex = applied;
    this.trace(`SNAPSHOT node ${node.id} at ${applied}`);
  }

  // ------------------------------------------------------------------ client-side helpers

  /** Proposes a command on node `id` (its leader status is the caller's business). */
  propose(id: NodeId, command: Uint8Array): number | Error {
    const node = this.mustGet(id);
    try {
      const index = node.raft.propose([command]);
      this.processReady(node);
      return index;
    } catch (e) {
      return e as Error;
    }
  }

  proposeConfChange(id: NodeId, change: ConfChange): number | Error {
    const node = this.mustGet(id);
    try {
      const index = node.raft.proposeConfChange(change);
      this.trace(`PROPOSE-CONF on ${id} at ${index}: ${JSON.stringify(change)}`);
      this.processReady(node);
      return index;
    } catch (e) {
      return e as Error;
    }
  }

  transferLeadership(id: NodeId, target: NodeId): Error | undefined {
    const node = this.mustGet(id);
    try {
      node.raft.transferLeadership(target);
      this.trace(`TRANSFER on ${id} to ${target}`);
      this.processReady(node);
    } catch (e) {
      return e as Error;
    }
  }

  adoptConfigUnsafe(id: NodeId, conf: ConfState): void {
    const node = this.mustGet(id);
    node.raft.adoptConfigUnsafe(conf);
    this.processReady(node);
  }

  /** Full pairwise Log Matching check over every alive node. */
  checkLogs(): void {
    this.checker.checkLogPrefixes(this.alive().map((n) => this.logView(n)));
  }
}
