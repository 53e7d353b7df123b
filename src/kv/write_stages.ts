/**
 * Where a request's latency goes, stage by stage, measured on the node that sees each moment.
 *
 * A write proposed on the leader passes these milestones (performance.now(), per log index):
 *
 *   received (HTTP handler entered) -> proposed -> taken (the Ready holding the entry is built and
 *   its appends leave for the followers) -> persisted here (write + fdatasync) / first follower
 *   acknowledgement received (its append + fdatasync + two hops) -> committed -> applied (to the
 *   state machine) -> answered (the HTTP response is built)
 *
 * and each interval is reported to the probes as one stage (probes.stage), so /metrics holds a
 * histogram per stage (raftkv_request_stage_seconds{stage=...}). The critical path is
 * http_to_propose + propose_to_ready + ready_to_commit + commit_to_apply + apply_to_response,
 * consecutive intervals that add up to write_total. apply_to_response includes the wait before
 * the handler resumes: whatever the event loop runs first (in a 3-node cluster on 2 busy cores,
 * measured 0.2 ms: the commit broadcast to the followers, whose wake-ups take the CPU).
 * leader_append_fsync and first_follower_ack are the two parallel branches inside ready_to_commit.
 * A follower reports follower_append_to_ack (an append received until its acknowledgement is
 * handed to the transport, after its own fdatasync), and reads report read_index (a ReadIndex
 * round) and read_apply_wait (its read index reached until applied here).
 */
import { probes } from "../metrics/probes.ts";

export const WRITE_STAGES = [
  "http_to_propose",
  "propose_to_ready",
  "leader_append_fsync",
  "first_follower_ack",
  "ready_to_commit",
  "commit_to_apply",
  "apply_to_response",
  "write_total",
] as const;
export const OTHER_STAGES = [
  "follower_append_to_ack",
  "read_index",
  "read_apply_wait",
  "read_total",
] as const;
export type Stage = typeof WRITE_STAGES[number] | typeof OTHER_STAGES[number];

interface Milestones {
  received: number;
  proposed: number;
  taken?: number;
  persisted?: number;
  acked?: number;
  committed?: number;
}

/** At most this many proposals are tracked: beyond it (a stalled quorum) new ones go untimed. */
const MAX_TRACKED = 100_000;

export class StageClock {
  /** By log index, in increasing index order (proposals are appended in order). */
  private readonly pending = new Map<number, Milestones>();
  /** Appends received as a follower that are not yet acknowledged: their last index and arrival. */
  private readonly followerAppends: Array<{ last: number; at: number }> = [];
  /** The highest index each follower has acknowledged (first acks only are timed). */
  private ackedThrough = 0;
  /** When tracked writes were applied, in index order, until their handlers take it (appliedAt). */
  private readonly appliedTimes = new Map<number, number>();

  /** A write was proposed at `index`; `received` is when its HTTP request reached the handler. */
  proposed(index: number, received: number | undefined): void {
    if (this.pending.size >= MAX_TRACKED) return;
    const now = performance.now();
    const at = received ?? now;
    probes.stage("http_to_propose", (now - at) / 1000);
    this.pending.set(index, { received: at, proposed: now });
  }

  /** A Ready was built holding entries up to `lastIndex` (its appends leave now). */
  taken(firstIndex: number, lastIndex: number, at: number): void {
    for (let i = firstIndex; i <= lastIndex; i++) {
      const m = this.pending.get(i);
      if (!m || m.taken !== undefined) continue;
      m.taken = at;
      probes.stage("propose_to_ready", (at - m.proposed) / 1000);
    }
  }

  /** This node's write + fdatasync of entries up to `lastIndex` finished. */
  persisted(firstIndex: number, lastIndex: number): void {
    const now = performance.now();
    for (let i = firstIndex; i <= lastIndex; i++) {
      const m = this.pending.get(i);
      if (!m || m.taken === undefined || m.persisted !== undefined) continue;
      m.persisted = now;
      probes.stage("leader_append_fsync", (now - m.taken) / 1000);
    }
  }

  /** An append acknowledgement up to `index` arrived from a follower. */
  acknowledged(index: number): void {
    if (index <= this.ackedThrough) return;
    const from = this.ackedThrough + 1;
    this.ackedThrough = index;
    if (this.pending.size === 0) return;
    const now = performance.now();
    for (let i = from; i <= index; i++) {
      const m = this.pending.get(i);
      if (!m || m.taken === undefined || m.acked !== undefined) continue;
      m.acked = now;
      probes.stage("first_follower_ack", (now - m.taken) / 1000);
    }
  }

  /** The commit index moved from `from` (exclusive) to `to`. */
  committed(from: number, to: number): void {
    if (this.pending.size === 0) return;
    const now = performance.now();
    for (let i = Math.max(from + 1, to - MAX_TRACKED); i <= to; i++) {
      const m = this.pending.get(i);
      if (!m || m.committed !== undefined) continue;
      m.committed = now;
      probes.stage("ready_to_commit", (now - (m.taken ?? m.proposed)) / 1000);
    }
  }

  /**
   * The entry at `index` was applied. Returns its milestones (for apply_to_response) and forgets
   * it and anything older (overwritten or skipped proposals).
   */
  applied(index: number): Milestones | undefined {
    const m = this.pending.get(index);
    for (const key of this.pending.keys()) {
      if (key > index) break;
      this.pending.delete(key);
    }
    if (!m) return undefined;
    const now = performance.now();
    probes.stage("commit_to_apply", (now - (m.committed ?? m.proposed)) / 1000);
    if (this.appliedTimes.size < MAX_TRACKED) this.appliedTimes.set(index, now);
    return m;
  }

  /**
   * When the write at `index` was applied (for its handler's apply_to_response), and forgets it and
   * anything older: handlers that gave up (timeouts) leave theirs behind.
   */
  appliedAt(index: number): number | undefined {
    const at = this.appliedTimes.get(index);
    for (const key of this.appliedTimes.keys()) {
      if (key > index) break;
      this.appliedTimes.delete(key);
    }
    return at;
  }

  /** The HTTP answer to a write received at `received` and applied at `applied` is built. */
  static answered(received: number, applied: number): void {
    const now = performance.now();
    probes.stage("apply_to_response", (now - applied) / 1000);
    probes.stage("write_total", (now - received) / 1000);
  }

  /** As a follower: an append with entries through `last` arrived. */
  followerAppendReceived(last: number): void {
    if (this.followerAppends.length >= MAX_TRACKED) this.followerAppends.shift();
    this.followerAppends.push({ last, at: performance.now() });
  }

  /** As a follower: entries through `index` are durable and their acknowledgement goes out now. */
  followerAcknowledged(index: number): void {
    if (this.followerAppends.length === 0) return;
    const now = performance.now();
    let done = 0;
    while (done < this.followerAppends.length && this.followerAppends[done].last <= index) {
      probes.stage("follower_append_to_ack", (now - this.followerAppends[done].at) / 1000);
      done++;
    }
    this.followerAppends.splice(0, done);
  }

  /**
   * Leadership changed: acknowledgements restart from the new leader's view. Tracked proposals
   * stay: the soft state may be reported after the new leader's first proposals, and those of a
   * deposed leader are dropped by applied() once the log passes them.
   */
  leaderChanged(): void {
    this.followerAppends.length = 0;
    this.ackedThrough = 0;
  }
}
