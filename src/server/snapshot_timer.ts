/**
 * Snapshots on a timer (--snapshot-interval-ms), besides the node's own every-N-entries policy: a
 * cluster that applies few entries still compacts its log and bounds its restart time. The node
 * itself decides whether there is anything new to snapshot (it answers with its last snapshot's
 * index otherwise), so a quiet node writes nothing.
 */
import type { Log } from "../kv/raft_kv_node.ts";

/** The one thing the timer needs of a node. */
export interface Snapshotter {
  snapshotNow(): Promise<number>;
}

export class SnapshotTimer {
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #lastIndex = 0;

  constructor(
    private readonly node: Snapshotter,
    private readonly intervalMs: number,
    private readonly log: Log,
  ) {}

  start(): this {
    if (this.intervalMs <= 0 || this.#timer !== undefined) return this;
    const timer = setInterval(() => void this.tick(), this.intervalMs);
    // Never what keeps the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
    return this;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One timer firing: a snapshot if entries were applied since the last one (one at a time). */
  async tick(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const index = await this.node.snapshotNow();
      if (index > this.#lastIndex) this.log("debug", `timed snapshot at index ${index}`);
      this.#lastIndex = index;
    } catch (error) {
      // A stopped node throws: the timer ends with it. (A storage failure already stopped the node.)
      this.log("debug", `timed snapshot skipped: ${(error as Error).message}`);
      this.stop();
    } finally {
      this.#running = false;
    }
  }
}
