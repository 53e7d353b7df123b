/**
 * Proposals waiting to be applied, keyed by log index. A waiter is resolved by the entry that
 * applies at its index if that entry is the one proposed (same term); if a different entry
 * lands there, the proposal was overwritten by a new leader and definitely did not apply.
 */
import { probes } from "../metrics/probes.ts";
import type { Entry } from "../raft/mod.ts";
import { RetryableError, UnknownOutcomeError } from "./errors.ts";

interface Waiter<T> {
  term: number;
  /** performance.now() when proposed (it times out timeoutMs later). */
  since: number;
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * One timer serves every waiter: waiters are kept in proposal order, which is deadline order (one
 * timeout for all), so the timer is due at the oldest waiter's deadline and, when it fires, expires
 * the waiters at the head and is set again for the next one. A timer per proposal (setTimeout and
 * clearTimeout, ~2 µs a pair here) cost every write on the leader that much CPU.
 */
export class ProposalWaiters<T> {
  private readonly waiters = new Map<number, Waiter<T>>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly timeoutMs: number) {}

  wait(index: number, term: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // An index proposed again while an older proposal there still waits (not reachable through
      // Raft, whose new leaders append before proposing) would break the deadline order: the older
      // one is answered first, as overwritten.
      this.settle(index)?.reject(new RetryableError(`proposal at index ${index} was replaced; retry`));
      const since = performance.now();
      this.waiters.set(index, { term, since, resolve, reject });
      if (this.timer === undefined) this.armFor(since);
    });
  }

  /** Called for every applied entry; `value` computes the result only if someone waits. */
  applied(entry: Entry, value: () => T): void {
    const w = this.settle(entry.index);
    if (!w) return;
    if (w.term === entry.term) {
      probes.proposalCommitted((performance.now() - w.since) / 1000);
      w.resolve(value());
    } else {w.reject(
        new RetryableError(`proposal at index ${entry.index} was replaced by a new leader's entry; retry`),
      );}
  }

  /** A snapshot jumped over these indexes: what happened to them is unknown here. */
  skippedTo(index: number): void {
    for (const i of [...this.waiters.keys()]) {
      if (i > index) continue;
      this.settle(i)!.reject(
        new UnknownOutcomeError(
          `index ${i} was installed by a snapshot; retry with the same sequence number`,
        ),
      );
    }
  }

  failAll(error: Error): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    this.disarmIfIdle();
    for (const w of all) w.reject(error);
  }

  /** Removes the waiter at `index` (returned), and the timer once nobody waits. */
  private settle(index: number): Waiter<T> | undefined {
    const w = this.waiters.get(index);
    if (!w) return undefined;
    this.waiters.delete(index);
    this.disarmIfIdle();
    return w;
  }

  private disarmIfIdle(): void {
    if (this.waiters.size > 0 || this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Sets the timer for the waiter proposed at `since`. */
  private armFor(since: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(0, since + this.timeoutMs - performance.now()));
  }

  /** Times out the waiters whose deadline passed (the oldest ones), then waits for the next. */
  private expire(): void {
    this.timer = undefined;
    const proposedBy = performance.now() - this.timeoutMs;
    for (const [index, w] of this.waiters) {
      if (w.since > proposedBy) return this.armFor(w.since);
      this.waiters.delete(index);
      w.reject(
        new UnknownOutcomeError(
          `not applied within ${this.timeoutMs} ms; it may still apply: retry with the same sequence number`,
        ),
      );
    }
  }

  /** Whether the timeout timer is set (only while someone waits). */
  get timerArmed(): boolean {
    return this.timer !== undefined;
  }

  get size(): number {
    return this.waiters.size;
  }
}
