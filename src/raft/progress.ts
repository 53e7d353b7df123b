/**
 * What the leader knows about one follower's log, and the flow control that keeps it from
 * flooding a slow follower (etcd's tracker/progress.go and inflights.go, in spirit).
 *
 * States: `probe` sends one append per heartbeat until the follower's match is found;
 * `replicate` streams optimistically with up to `maxInflight` unacknowledged appends;
 * `snapshot` waits for a snapshot to be installed before sending anything else.
 */

/** A bounded FIFO of the last index of each unacknowledged append message. */
export class Inflights {
  private buffer: number[];
  private start = 0;
  count = 0;

  constructor(readonly capacity: number) {
    this.buffer = new Array(capacity);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  add(lastIndex: number): void {
    if (this.full()) throw new Error("inflights: add to a full window");
    this.buffer[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** Frees every in-flight message whose last index is <= `index` (they were acknowledged). */
  freeTo(index: number): void {
    while (this.count > 0 && this.buffer[this.start] <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  /** Frees the oldest in-flight message (it was probably lost). */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** In probe state: an append was sent this heartbeat interval; wait for its answer or the next beat. */
  probeSent = false;
  /** The snapshot index being installed while in snapshot state. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = true;
  isLearner: boolean;
  /**
   * unsafe-early-vote only: a voter added without a learner stage that has not caught up yet.
   * The leader leaves it out of commit quorums (never out of election quorums).
   */
  catchingUp = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Forget everything learned about the follower (new term): probe again from `next`. */
  resetTo(match: number, next: number): void {
    this.resetState("probe");
    this.match = match;
    this.next = next;
    this.recentActive = true;
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it (or after match, if the follower got further).
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to `index`. Returns false if it was stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Optimistically advance `next` after sending entries up to `lastIndex` in replicate state. */
  sentEntries(lastIndex: number): void {
    if (this.state === "replicate") {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex);
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /**
   * A rejection of the append at `rejected`; `hint` is the follower's guess of its last
   * matching index. Returns false if the rejection is stale (already superseded).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (rejected === this.match && hint < this.match) {
      // The follower rejects the very entry it acknowledged: it lost its log (a wiped disk
      // restarted under its old id). Its old acknowledgements were counted already, and a lower
      // match can only lower what a quorum holds, never the commit index. Catch it up from where
      // its log really ends; probing match + 1 forever would be a ping-pong at network speed.
      this.match = hint;
      this.becomeProbe();
      return true;
    }
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
