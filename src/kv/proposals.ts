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
  /** performance.now() when proposed. */
  since: number;
  resolve(value: T): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class ProposalWaiters<T> {
  private readonly waiters = new Map<number, Waiter<T>>();

  constructor(private readonly timeoutMs: number) {}

  wait(index: number, term: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(index);
        reject(
          new UnknownOutcomeError(
            `not applied within ${this.timeoutMs} ms; it may still apply: retry with the same sequence number`,
          ),
        );
      }, this.timeoutMs);
      this.waiters.set(index, { term, since: performance.now(), resolve, reject, timer });
    });
  }

  /** Called for every applied entry; `value` computes the result only if someone waits. */
  applied(entry: Entry, value: () => T): void {
    const w = this.waiters.get(entry.index);
    if (!w) return;
    this.waiters.delete(entry.index);
    clearTimeout(w.timer);
    if (w.term === entry.term) {
      probes.proposalCommitted((performance.now() - w.since) / 1000);
      w.resolve(value());
    } else {w.reject(
        new RetryableError(`proposal at index ${entry.index} was replaced by a new leader's entry; retry`),
      );}
  }

  /** A snapshot jumped over these indexes: what happened to them is unknown here. */
  skippedTo(index: number): void {
    for (const [i, w] of this.waiters) {
      if (i > index) continue;
      this.waiters.delete(i);
      clearTimeout(w.timer);
      w.reject(
        new UnknownOutcomeError(
          `index ${i} was installed by a snapshot; retry with the same sequence number`,
        ),
      );
    }
  }

  failAll(error: Error): void {
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.waiters.clear();
  }

  get size(): number {
    return this.waiters.size;
  }
}
