/**
 * A deterministic in-memory raft-kv cluster. Each node is the production node driver
 * (src/kv/node_driver.ts: the Ready loop and its persistence policy, snapshot application,
 * quarantine and incarnations, the key-value state machine) over a simulated disk
 * (sim_store.ts: writes complete after a random delay, or when a scenario releases them; a crash
 * loses what is not durable and may tear the last write), the seeded network, and virtual time.
 * The invariant checker watches every step.
 *
 * Entries and messages are shared by reference between nodes (no copying, for speed); nothing in
 * the core mutates an entry after creating it.
 */
import {
  bootstrapSnapshot,
  type ConfChange,
  type ConfState,
  type Message,
  type NodeId,
  type RaftNode,
  type ReadState,
  type SafetyMode,
} from "../raft/mod.ts";
import { NodeDriver } from "../kv/node_driver.ts";
import { KvStateMachine } from "../kv/state_machine.ts";
import { encodeMembersContext, type MemberInfo } from "../kv/members.ts";
import { Rng } from "./rng.ts";
import { EventQueue } from "./event_queue.ts";
import { CALM_NETWORK, type NetworkConditions, SimNetwork } from "./network.ts";
import { InvariantChecker, type LogView } from "./invariants.ts";
import { describeMessage } from "./trace.ts";
import { emptyDurable, type SimDurable, SimStore } from "./sim_store.ts";

export class SimNode {
  driver: NodeDriver | undefined;
  store!: SimStore;
  /** Alive: started (possibly still opening its storage) and not crashed. */
  alive = false;
  /** Read states delivered to this node, in order. */
  reads: ReadState[] = [];
  /** Commit index last seen, to report commit progress to the checker. */
  commitSeen = 0;
  wasLeader = false;
  /** Applied index at which the configuration in force was last reported to the checker. */
  configCheckedAt = -1;
  /** Bumped at every start: events of an earlier life are ignored. */
  generation = 0;

  constructor(readonly id: NodeId, public durable: SimDurable) {}

  /** The core of a started node (throws for a node still opening its storage). */
  get raft(): RaftNode {
    if (!this.driver) throw new Error(`node ${this.id} has not finished starting`);
    return this.driver.raft;
  }

  get sm(): KvStateMachine {
    if (!this.driver) throw new Error(`node ${this.id} has not finished starting`);
    return this.driver.sm;
  }

  /** Index of the configuration in force, as the node reports it in /status. */
  get confIndex(): number {
    return this.sm.confIndex;
  }

  get running(): boolean {
    return this.alive && this.driver !== undefined;
  }
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
  /** Virtual ms a disk write takes, drawn per write ([0, 0]: at once, in the same step). */
  diskDelay?: [number, number];
  /** Keep a readable trace of the last `traceLimit` events (costly; used for replays). */
  trace?: boolean;
  traceLimit?: number;
}

type SimEvent =
  | { kind: "message"; message: Message }
  | { kind: "tick"; node: NodeId; generation: number }
  | { kind: "action"; run: () => void };

const memberInfo = (id: NodeId, incarnation: string): MemberInfo => ({
  peer: `sim-${id}:7000`,
  client: `http://sim-${id}:8080`,
  incarnation,
});

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
      diskDelay: [0, 0],
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

  private newIncarnation(): string {
    return `inc-${this.rng.int(0, 2 ** 31).toString(36)}`;
  }

  /**
   * Creates the initial members of a formed cluster: each one's storage holds the same snapshot
   * (the voters, and a member directory naming each one's incarnation).
   */
  bootstrap(ids: NodeId[]): void {
    const incarnations = new Map(ids.map((id) => [id, this.newIncarnation()]));
    const sm = new KvStateMachine();
    sm.safetyMode = this.mode;
    for (const [id, inc] of incarnations) sm.members.set(id, memberInfo(id, inc));
    sm.confIndex = 1;
    const snapshot = bootstrapSnapshot(ids, sm.encode());
    for (const id of ids) {
      const durable: SimDurable = {
        created: true,
        incarnation: incarnations.get(id)!,
        awaitingLearner: false,
        hardState: { term: 1, vote: 0, commit: 1 },
        snapshot,
        entries: [],
      };
      this.createNode(id, durable);
    }
  }

  /** Starts a brand-new node with empty storage (to be added as a learner or, unsafely, as a voter). */
  addNode(id: NodeId): SimNode {
    if (this.nodes.has(id)) throw new Error(`node ${id} already exists: node ids are never reused`);
    return this.createNode(id, emptyDurable());
  }

  private createNode(id: NodeId, durable: SimDurable): SimNode {
    const node = new SimNode(id, durable);
    this.nodes.set(id, node);
    this.start(node);
    return node;
  }

  private start(node: SimNode): void {
    const generation = ++node.generation;
    const nodeRng = this.rng.fork();
    const [minDisk, maxDisk] = this.opts.diskDelay;
    node.alive = true;
    node.driver = undefined;
    node.wasLeader = false;
    node.configCheckedAt = -1;
    node.store = new SimStore(node.durable, {
      delay: () => maxDisk > 0 ? nodeRng.int(minDisk, maxDisk) : 0,
      after: (ms, complete) =>
        this.at(ms, () => {
          if (node.alive && node.generation === generation) complete();
        }),
      onPersist: (entries) => this.checker.onPersist(node.id, entries),
    });
    const current = () => node.alive && node.generation === generation;
    NodeDriver.start(
      {
        nodeId: node.id,
        self: memberInfo(node.id, ""),
        bootstrap: false,
        safetyMode: this.mode,
        electionTicks: this.opts.electionTick,
        snapshotEntries: this.opts.snapshotEvery,
        retainEntries: this.opts.retainEntries,
        maxInflight: this.opts.maxInflight,
        random: () => nodeRng.next(),
        newIncarnation: () => this.newIncarnation(),
        log: (_level, line) => this.trace(`node ${node.id}: ${line}`),
        debug: this.opts.trace ? (line) => this.trace(line) : undefined,
      },
      node.store,
      {
        send: (messages) => current() && this.sendAll(messages),
        onApplied: (e) => this.checker.onApply(node.id, e),
        onConfApplied: (e) => this.checker.onApply(node.id, e),
        onSnapshotInstalled: (s) => this.trace(`node ${node.id} installed snapshot ${s.meta.index}`),
        onReadState: (rs) => node.reads.push(rs),
        onDroppedRead: () => {},
        onSoftState: () => {},
        onConfigurationChanged: () => {},
        onReadyProcessed: () => current() && this.observe(node),
        onFatal: (error) => {
          throw new Error(`node ${node.id} stopped on a simulated storage failure: ${error.message}`);
        },
      },
      (error, driver) => {
        if (error) throw error;
        if (!current()) return;
        node.driver = driver;
        node.commitSeen = driver!.raft.commitIndex;
        this.trace(
          `START node ${node.id} (term ${node.durable.hardState.term}, ${node.durable.entries.length} entries on disk` +
            `${driver!.quarantined ? ", quarantined" : ""})`,
        );
        // Random tick phase so nodes do not move in lockstep.
        this.events.push(this.now + this.rng.int(1, this.opts.tickInterval), {
          kind: "tick",
          node: node.id,
          generation,
        });
        driver!.kick();
      },
    );
  }

  /** Kills a node: every write not completed is lost, and with `tear` the oldest may be torn. */
  crash(id: NodeId, tear = false): void {
    const node = this.mustGet(id);
    if (!node.alive) return;
    node.alive = false;
    node.driver?.halt();
    const pending = node.store.pendingWrites;
    const torn = node.store.crash(tear);
    this.trace(
      `CRASH node ${id}${pending.length ? ` losing [${pending.join("; ")}]` : ""}${
        torn ? ` (torn: ${torn})` : ""
      }`,
    );
  }

  restart(id: NodeId): void {
    const node = this.mustGet(id);
    if (node.alive) return;
    this.trace(
      `RESTART node ${id} (term ${node.durable.hardState.term}, ${node.durable.entries.length} entries on disk)`,
    );
    this.start(node);
  }

  /**
   * The node's disk is lost: it restarts under its old id with empty storage (its identity file
   * survived). It must come back quarantined and never vote until re-added as a learner.
   */
  wipe(id: NodeId): void {
    const node = this.mustGet(id);
    this.crash(id);
    node.durable = emptyDurable();
    this.trace(`WIPE node ${id}`);
    this.start(node);
  }

  mustGet(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id} in the simulation`);
    return node;
  }

  /** Nodes that are running (started, not crashed). */
  alive(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.running);
  }

  /** The running leader of the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.running && n.raft.role === "leader" && (!best || n.raft.term > best.raft.term)) best = n;
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
      if (!node?.running || node.generation !== e.generation) return;
      node.driver!.tick();
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
    if (!node?.running || this.net.isBlocked(m.from, m.to)) {
      this.dropped(m);
      return;
    }
    this.net.delivered++;
    if (this.opts.trace) this.trace(`${m.from}->${m.to} ${describeMessage(m)}`);
    node.driver!.step(m);
    // The real transport tells a snapshot's sender once the receiver has taken it.
    if (m.type === "snap") this.nodes.get(m.from)?.driver?.reportSnapshot(m.to, true);
  }

  private sendAll(messages: Message[]): void {
    for (const m of messages) {
      if (m.type === "voteResp" && !m.reject) this.checker.onVoteGranted(m.from, m.term, m.to);
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
    if (m.type === "snap") this.nodes.get(m.from)?.driver?.reportSnapshot(m.to, false);
  }

  /** Runs the node's Ready loop (after a direct input from a scenario). */
  processReady(node: SimNode): void {
    if (node.running) node.driver!.kick();
  }

  /** After each Ready: commit progress, leadership and the configuration in force. */
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
    if (this.mode !== "unsafe-no-joint" && raft.appliedIndex !== node.configCheckedAt) {
      node.configCheckedAt = raft.appliedIndex;
      // unsafe-no-joint hands configurations out of the log by design: no agreement to check.
      this.checker.onConfigInForce(node.id, raft.appliedIndex, raft.confState());
    }
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

  // ------------------------------------------------------------------ client-side helpers

  /** Proposes a command on node `id` (its leader status is the caller's business). */
  propose(id: NodeId, command: Uint8Array): number | Error {
    const node = this.mustGet(id);
    if (!node.running) return new Error(`node ${id} is not running`);
    try {
      const index = node.raft.propose([command]);
      node.driver!.kick();
      return index;
    } catch (e) {
      return e as Error;
    }
  }

  /**
   * Proposes a membership change. As the admin API does, a change that adds a node announces
   * the node's current storage incarnation (asked from the node itself) unless it carries a
   * context already; a node still opening its storage cannot be added yet.
   */
  proposeConfChange(id: NodeId, change: ConfChange): number | Error {
    const node = this.mustGet(id);
    if (!node.running) return new Error(`node ${id} is not running`);
    let context = change.context;
    if (context === undefined) {
      const members: Record<NodeId, MemberInfo> = {};
      for (const op of change.ops) {
        if (op.op === "remove") continue;
        const joining = this.nodes.get(op.node);
        if (!joining?.running) return new Error(`node ${op.node} is still starting: add it once it runs`);
        members[op.node] = memberInfo(op.node, joining.driver!.incarnation);
      }
      if (Object.keys(members).length) context = encodeMembersContext(members);
    }
    try {
      const index = node.raft.proposeConfChange({ ...change, context });
      this.trace(
        `PROPOSE-CONF on ${id} at ${index}: ${JSON.stringify(change.ops)}${change.joint ? " joint" : ""}`,
      );
      node.driver!.kick();
      return index;
    } catch (e) {
      return e as Error;
    }
  }

  transferLeadership(id: NodeId, target: NodeId): Error | undefined {
    const node = this.mustGet(id);
    if (!node.running) return new Error(`node ${id} is not running`);
    try {
      node.raft.transferLeadership(target);
      this.trace(`TRANSFER on ${id} to ${target}`);
      node.driver!.kick();
    } catch (e) {
      return e as Error;
    }
  }

  adoptConfigUnsafe(id: NodeId, conf: ConfState): void {
    const node = this.mustGet(id);
    if (!node.running) return;
    node.raft.adoptConfigUnsafe(conf);
    node.driver!.kick();
  }

  /** Node `from` sends its newest snapshot to `to` now, as a leader whose follower lags would. */
  sendSnapshot(from: NodeId, to: NodeId): Error | undefined {
    const node = this.mustGet(from);
    const snapshot = node.running ? node.raft.latestSnapshot : undefined;
    if (!snapshot) return new Error(`node ${from} has no snapshot to send`);
    this.trace(`SEND-SNAPSHOT ${from} -> ${to} at ${snapshot.meta.index}`);
    this.sendAll([{ type: "snap", from, to, term: node.raft.term, snapshot }]);
  }

  /** The node takes a snapshot at its applied index now (and compacts its log). */
  compact(id: NodeId): void {
    const node = this.mustGet(id);
    if (node.running) node.driver!.maybeSnapshot(true);
  }

  /** Full pairwise Log Matching check over every running node. */
  checkLogs(): void {
    this.checker.checkLogPrefixes(this.alive().map((n) => this.logView(n)));
  }
}
