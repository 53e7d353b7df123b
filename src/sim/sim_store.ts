/**
 * The simulator's disk: a NodeStore whose writes complete when the simulation says so. Writes
 * queue in order (one disk) and each completes after a random delay, or only when a scenario
 * releases a held disk. A crash loses every write not completed yet, and may tear the oldest one:
 * a save of entries and a hard state is two WAL records, and a crash between them leaves the
 * entries without the hard state (what the real WAL's torn-tail recovery would return).
 *
 * What survives a crash is `SimDurable`: the storage incarnation and its awaiting-learner marker
 * (created atomically, as file_node_store.ts does), the hard state, the snapshot and the entries.
 */
import type { Entry, HardState, Snapshot } from "../raft/mod.ts";
import type { Done, FreshStorage, NodeStore, RecoveredNode } from "../kv/node_store.ts";

export interface SimDurable {
  /** The Raft storage exists (false: never created, or wiped). */
  created: boolean;
  incarnation: string;
  awaitingLearner: boolean;
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export function emptyDurable(): SimDurable {
  return {
    created: false,
    incarnation: "",
    awaitingLearner: false,
    hardState: { term: 0, vote: 0, commit: 0 },
    entries: [],
  };
}

interface DiskWrite {
  what: string;
  /** Makes the write durable. */
  apply(): void;
  /** The first half of a torn write, if the write has two records. */
  applyTorn?(): void;
  done(error?: Error): void;
}

export interface DiskScheduler {
  /** Virtual ms until the next queued write completes (0: at once, in the same step). */
  delay(): number;
  /** Calls `complete` after `ms` virtual ms, unless the node crashed meanwhile. */
  after(ms: number, complete: () => void): void;
  /** Observes entries made durable (for the invariant checker). */
  onPersist(entries: readonly Entry[]): void;
}

export class SimStore implements NodeStore {
  private readonly queue: DiskWrite[] = [];
  private held = false;
  private crashed = false;
  private completionScheduled = false;
  /** Writes completed, for tests and traces. */
  completed = 0;

  constructor(readonly durable: SimDurable, private readonly scheduler: DiskScheduler) {}

  open(fresh: () => FreshStorage, done: (error: Error | undefined, recovered?: RecoveredNode) => void): void {
    const d = this.durable;
    if (d.created) return done(undefined, this.recovered(false));
    const spec = fresh();
    this.submit({
      what: "create storage",
      apply: () => {
        Object.assign(d, {
          created: true,
          incarnation: spec.incarnation,
          awaitingLearner: spec.awaitingLearner,
          hardState: spec.hardState ?? { term: 0, vote: 0, commit: 0 },
          snapshot: spec.snapshot,
          entries: [],
        });
      },
      done: (error) => error ? done(error) : done(undefined, this.recovered(true)),
    });
  }

  save(entries: Entry[], hardState: HardState | undefined, done: Done): void {
    const writeEntries = () => {
      if (!entries.length) return;
      const d = this.durable;
      const first = entries[0].index;
      const keep = d.entries.length ? Math.max(0, first - d.entries[0].index) : 0;
      d.entries.length = Math.min(d.entries.length, keep);
      for (const e of entries) d.entries.push(e);
      this.scheduler.onPersist(entries);
    };
    this.submit({
      what: `save ${entries.length} entries${hardState ? ` + hard state t${hardState.term}` : ""}`,
      apply: () => {
        writeEntries();
        if (hardState) this.durable.hardState = hardState;
      },
      applyTorn: entries.length && hardState ? writeEntries : undefined,
      done,
    });
  }

  saveSnapshot(snapshot: Snapshot, done: Done): void {
    this.submit({
      what: `snapshot ${snapshot.meta.index}`,
      apply: () => {
        const d = this.durable;
        if (d.snapshot && d.snapshot.meta.index >= snapshot.meta.index) return;
        d.snapshot = snapshot;
        d.entries = d.entries.filter((e) => e.index > snapshot.meta.index);
      },
      done,
    });
  }

  clearAwaitingLearner(done: Done): void {
    this.submit({
      what: "clear awaiting-learner marker",
      apply: () => this.durable.awaitingLearner = false,
      done,
    });
  }

  close(done: Done): void {
    done();
  }

  /** Stops completing writes until released (scenario `hold-disk`). */
  hold(): void {
    this.held = true;
  }

  /** Completes up to `count` queued writes now, in order, and resumes normal completion. */
  release(count = Infinity): void {
    this.held = false;
    for (let i = 0; i < count && this.queue.length && !this.crashed; i++) this.completeOne();
    this.scheduleNext();
  }

  get pendingWrites(): string[] {
    return this.queue.map((w) => w.what);
  }

  /** The node crashed: queued writes are lost; the oldest is torn if `tear` and it can be. */
  crash(tear: boolean): string | undefined {
    this.crashed = true;
    const head = this.queue[0];
    this.queue.length = 0;
    if (tear && head?.applyTorn) {
      head.applyTorn();
      return head.what;
    }
    return undefined;
  }

  private submit(write: DiskWrite): void {
    if (this.crashed) return;
    this.queue.push(write);
    if (this.held) return;
    if (this.queue.length === 1 && this.scheduler.delay() === 0 && !this.completionScheduled) {
      this.completeOne();
      return;
    }
    this.scheduleNext();
  }

  private scheduleNext(): void {
    if (this.completionScheduled || this.held || this.crashed || !this.queue.length) return;
    this.completionScheduled = true;
    this.scheduler.after(this.scheduler.delay(), () => {
      this.completionScheduled = false;
      if (this.held || this.crashed) return;
      this.completeOne();
      this.scheduleNext();
    });
  }

  private completeOne(): void {
    const write = this.queue.shift();
    if (!write) return;
    write.apply();
    this.completed++;
    write.done();
  }

  private recovered(fresh: boolean): RecoveredNode {
    const d = this.durable;
    const snapIndex = d.snapshot?.meta.index ?? 0;
    const entries = d.entries.filter((e) => e.index > snapIndex);
    // What the WAL would refuse to recover: a commit index past the entries it holds.
    const last = entries.length ? entries[entries.length - 1].index : snapIndex;
    const hardState = { ...d.hardState, commit: Math.min(d.hardState.commit, last) };
    return {
      fresh,
      incarnation: d.incarnation,
      awaitingLearner: d.awaitingLearner,
      hardState,
      snapshot: d.snapshot,
      entries: entries.slice(),
    };
  }
}
