/**
 * Holds a leader's appends that carry no entries (only a new commit index, or a probe) for a
 * moment while no other write is in flight, and drops each one that a later append to the same
 * follower makes redundant.
 *
 * Why: when a write commits, the core broadcasts the new commit index to every follower at once
 * (as etcd's raft does). Those two writes wake both followers just as the leader answers the
 * client, and on a busy 2-core machine the woken followers take the CPU from the leader: the
 * answer left 0.24 ms later (traced, h12p.md). Under load the next append, carrying the same
 * commit index and new entries, follows within a millisecond anyway. Nothing depends on the
 * broadcast's timing: a follower learns the commit index from any later append or heartbeat (a
 * ReadIndex round sends heartbeats at once), and Raft tolerates delayed and lost messages.
 */
import type { Message, NodeId } from "../raft/mod.ts";

/**
 * How long an entry-less append waits for a later append to carry its commit index instead: longer
 * than the gap between one client's writes (1.2 ms p50 here, a few ms at its p99), so that a lone
 * client's broadcasts are dropped rather than sent a moment before the next append; shorter than a
 * heartbeat (one 50 ms tick), which carries the commit index too. Each dropped broadcast spares both
 * followers a wake-up (a message, a Ready, an acknowledgement) and the leader two: 1 ms -> 20 ms,
 * alternating A/B on one cluster, 6 s rows: 8 writers 2492-2502 -> 2728-2767 writes/s (p99 9.8-10.0 ->
 * 7.8-8.7 ms; leader CPU per write 268-271 -> 235-241 us), 1 writer 733-872 -> 866-879, linearizable
 * reads at 1 and 8 clients 1647-1944 -> 2006-2013 and 3885-4737 -> 4388-4573 per second.
 */
export const COMMIT_HOLD_MS = 20;

export class CommitHold {
  private readonly held = new Map<NodeId, Message>();
  private timerSet = false;

  constructor(
    /** Runs `fn` after `ms` (setTimeout in the server). */
    private readonly later: (fn: () => void, ms: number) => void,
    /** Sends the held messages whose time has come. */
    private readonly send: (messages: Message[]) => void,
  ) {}

  /** Messages held now (for tests and introspection). */
  get size(): number {
    return this.held.size;
  }

  /**
   * Takes the messages about to be sent: returns those to send now, holds entry-less appends if
   * `hold`, and forgets a held append once a later one to the same follower carries its commit
   * index. The caller holds only when no other write is in flight (the leader's log ends at the
   * commit index). Holding under load too cost 12 % of the writes/s at 256 clients (A/B, 11
   * alternating rounds, 9 lost); probably because a follower then learned the commit only with
   * its next append and applied the batch in that append's Ready, ahead of its acknowledgement.
   */
  filter(messages: Message[], hold: boolean): Message[] {
    const now: Message[] = [];
    for (const m of messages) {
      if (m.type !== "app") {
        now.push(m);
        continue;
      }
      const held = this.held.get(m.to);
      if (held && (m.commit ?? 0) >= (held.commit ?? 0)) this.held.delete(m.to);
      if (hold && !m.entries?.length) this.held.set(m.to, m);
      else now.push(m);
    }
    if (this.held.size && !this.timerSet) {
      this.timerSet = true;
      this.later(() => this.flush(), COMMIT_HOLD_MS);
    }
    return now;
  }

  /** Sends everything held (the timer, or the driver stopping to hold). */
  flush(): void {
    this.timerSet = false;
    if (!this.held.size) return;
    const due = [...this.held.values()];
    this.held.clear();
    this.send(due);
  }

  /** Forgets everything held (the node stopped: nothing more is sent). */
  clear(): void {
    this.held.clear();
  }
}
