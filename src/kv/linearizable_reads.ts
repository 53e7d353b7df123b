/**
 * Linearizable reads through ReadIndex, batched: all reads that arrive while no round is in
 * flight share the next round, so a burst of N reads costs one heartbeat round trip, not N.
 * A read is answered once the local state machine has applied up to the round's read index.
 *
 * Every read has a deadline: a node that learns a read index it cannot reach (wiped storage, a
 * learner far behind, a stalled apply) fails the read with a RetryableError saying how far it got,
 * instead of holding the client until it gives up.
 */
import type { ReadState } from "../raft/mod.ts";
import { probes } from "../metrics/probes.ts";
import { RetryableError } from "./errors.ts";

interface PendingRead {
  resolve(): void;
  reject(error: Error): void;
  /** performance.now() after which the read is failed (see expire()). */
  deadline: number;
}

interface Round {
  context: string;
  reads: PendingRead[];
  startedAt: number;
}

export class LinearizableReads {
  private queued: PendingRead[] = [];
  private round: Round | undefined;
  private readyAt: Array<{ index: number; reads: PendingRead[]; since: number }> = [];
  private sequence = 0;
  rounds = 0;

  constructor(
    private readonly prefix: string,
    /** Starts a ReadIndex round; throws if there is no leader to ask. */
    private readonly requestReadIndex: (context: string) => void,
    private readonly appliedIndex: () => number,
    /** A round unanswered this long is abandoned (its answer may have been lost with a leader). */
    private readonly roundTimeoutMs: number,
    /** The longest a read waits in all (read index, then apply): two rounds by default, the
     * same order as the 503 of a follower whose leader is gone. */
    private readonly readDeadlineMs: number = roundTimeoutMs * 2,
  ) {}

  /** Resolves when a linearizable read may be served from local state; rejects at its deadline. */
  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ resolve, reject, deadline: performance.now() + this.readDeadlineMs });
      this.startRound();
    });
  }

  private startRound(): void {
    if (this.round) {
      if (performance.now() - this.round.startedAt < this.roundTimeoutMs) return;
      this.abandon(this.round.reads, "the read index request got no answer (leader change?); retry");
    }
    if (this.queued.length === 0) return;
    const reads = this.queued;
    this.queued = [];
    const context = `${this.prefix}:${++this.sequence}`;
    try {
      this.requestReadIndex(context);
    } catch (e) {
      this.abandon(reads, (e as Error).message);
      return;
    }
    this.rounds++;
    this.round = { context, reads, startedAt: performance.now() };
  }

  private abandon(reads: PendingRead[], why: string): void {
    this.round = undefined;
    for (const r of reads) r.reject(new RetryableError(why));
  }

  onReadState(rs: ReadState): void {
    if (this.round?.context !== rs.context) return;
    const now = performance.now();
    probes.stage("read_index", (now - this.round.startedAt) / 1000);
    this.readyAt.push({ index: rs.index, reads: this.round.reads, since: now });
    this.round = undefined;
    this.onApplied();
    this.startRound();
  }

  onDropped(context: string): void {
    if (this.round?.context !== context) return;
    this.abandon(this.round.reads, "leadership changed while confirming the read; retry");
    this.startRound();
  }

  onApplied(): void {
    const applied = this.appliedIndex();
    const stillWaiting = [];
    for (const r of this.readyAt) {
      if (r.index <= applied) {
        probes.stage("read_apply_wait", (performance.now() - r.since) / 1000);
        for (const read of r.reads) read.resolve();
      } else stillWaiting.push(r);
    }
    this.readyAt = stillWaiting;
  }

  /** Re-checks an abandoned round and fails reads past their deadline; the driver calls it on every tick. */
  onTick(): void {
    if (this.round && performance.now() - this.round.startedAt >= this.roundTimeoutMs) this.startRound();
    this.expire(performance.now());
  }

  private expire(now: number): void {
    const late = (r: PendingRead) => r.deadline <= now;
    const fail = (reads: PendingRead[], why: string) => {
      for (const r of reads) if (late(r)) r.reject(new RetryableError(why));
      return reads.filter((r) => !late(r));
    };
    const waited = `within ${this.readDeadlineMs} ms`;
    this.queued = fail(this.queued, `no read index round could start ${waited}; retry`);
    if (this.round) {
      this.round.reads = fail(this.round.reads, `the leader did not confirm the read index ${waited}; retry`);
    }
    const applied = this.appliedIndex();
    this.readyAt = this.readyAt
      .map((g) => ({
        index: g.index,
        since: g.since,
        reads: fail(
          g.reads,
          `this node has applied index ${applied} but the read needs ${g.index}, and it did not get there ` +
            `${waited} (catching up, or waiting to be re-added after losing its storage); retry, or read ` +
            `from another node`,
        ),
      }))
      .filter((g) => g.reads.length > 0);
  }

  failAll(error: Error): void {
    for (const r of this.queued) r.reject(error);
    for (const r of this.round?.reads ?? []) r.reject(error);
    for (const g of this.readyAt) for (const r of g.reads) r.reject(error);
    this.queued = [];
    this.round = undefined;
    this.readyAt = [];
  }
}
