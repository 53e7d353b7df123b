/**
 * Client sessions for exactly-once writes. Each client numbers its writes 1, 2, 3...; the
 * state machine remembers the last applied sequence number and its result per client, so a
 * retried write returns the first result instead of applying twice.
 *
 * The table is replicated state, so eviction must be deterministic: it is bounded by count, and
 * the least recently active client goes first (a Map keeps insertion order; an update re-inserts).
 */
import type { KvResult } from "./commands.ts";

export interface Session {
  seq: number;
  result: KvResult;
}

export type SessionCheck =
  | { kind: "new" }
  | { kind: "duplicate"; result: KvResult }
  /** Older than the last applied write of that client: the client already saw a later answer. */
  | { kind: "stale"; lastSeq: number };

export class SessionTable {
  private readonly sessions = new Map<string, Session>();

  constructor(readonly capacity = 100_000) {}

  check(client: string, seq: number): SessionCheck {
    const s = this.sessions.get(client);
    if (!s || seq > s.seq) return { kind: "new" };
    if (seq === s.seq) return { kind: "duplicate", result: s.result };
    return { kind: "stale", lastSeq: s.seq };
  }

  record(client: string, seq: number, result: KvResult): void {
    this.sessions.delete(client);
    this.sessions.set(client, { seq, result });
    if (this.sessions.size > this.capacity) {
      const oldest = this.sessions.keys().next().value!;
      this.sessions.delete(oldest);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  entries(): Array<[string, Session]> {
    return [...this.sessions];
  }

  static from(entries: Array<[string, Session]>, capacity?: number): SessionTable {
    const t = new SessionTable(capacity);
    for (const [client, s] of entries) t.sessions.set(client, s);
    return t;
  }
}
