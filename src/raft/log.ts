/**
 * The in-memory replicated log of one node: the entries after the last snapshot, plus the
 * indexes that say how far each has travelled: persisted (durable here), committed (durable on a
 * quorum), applying (handed to the state machine) and applied (confirmed applied).
 *
 * Invariant: snapshotIndex <= applied <= applying <= committed, and applying <= persisted.
 */
import type { Entry, Snapshot } from "./types.ts";

/** Bytes an entry contributes to a message, for batching limits. */
export function entrySize(e: Entry): number {
  return (e.data?.length ?? 0) + 24;
}

export class RaftLog {
  private entries: Entry[] = [];
  snapshotIndex = 0;
  snapshotTerm = 0;
  committed = 0;
  applied = 0;
  applying = 0;
  persisted = 0;
  /** A snapshot received from the leader that the shell has not persisted and restored yet. */
  pendingSnapshot: Snapshot | undefined;

  /** Rebuilds the log from what storage recovered. */
  static restore(snapshot: Snapshot | undefined, entries: Entry[], commit: number): RaftLog {
    const log = new RaftLog();
    if (snapshot) {
      log.snapshotIndex = snapshot.meta.index;
      log.snapshotTerm = snapshot.meta.term;
    }
    let expected = log.snapshotIndex + 1;
    for (const e of entries) {
      if (e.index < expected) continue; // covered by the snapshot
      if (e.index !== expected) {
        throw new Error(`recovered log has a gap: expected index ${expected}, found ${e.index}`);
      }
      log.entries.push(e);
      expected++;
    }
    log.persisted = log.lastIndex();
    log.committed = Math.min(Math.max(commit, log.snapshotIndex), log.lastIndex());
    log.applied = log.applying = log.snapshotIndex;
    return log;
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length ? this.entries[this.entries.length - 1].term : this.snapshotTerm;
  }

  /** The term of the entry at `index`, or undefined when it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1].term;
  }

  entryAt(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft's election restriction: is a log ending at (lastIndex, lastTerm) at least as up to date? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in [lo, hi), at most `maxBytes` worth but always at least one if any. Undefined if
   * `lo` is compacted (the caller must send a snapshot instead).
   */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] | undefined {
    if (lo <= this.snapshotIndex) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1);
    if (lo >= hi) return [];
    const start = lo - this.snapshotIndex - 1;
    const end = hi - this.snapshotIndex - 1;
    if (maxBytes === Infinity) return this.entries.slice(start, end);
    let bytes = 0;
    let k = start;
    while (k < end) {
      bytes += entrySize(this.entries[k]);
      if (bytes > maxBytes && k > start) break;
      k++;
    }
    return this.entries.slice(start, k);
  }

  /** Appends entries, replacing any existing entries from entries[0].index on. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first <= this.committed) {
      throw new Error(`refusing to overwrite committed entry ${first} (committed ${this.committed})`);
    }
    if (first > this.lastIndex() + 1) {
      throw new Error(`append leaves a gap: last index ${this.lastIndex()}, first new ${first}`);
    }
    this.entries.length = first - this.snapshotIndex - 1;
    for (const e of entries) this.entries.push(e);
    if (this.persisted >= first) this.persisted = first - 1;
  }

  /** Index of the first entry that is new or conflicts with ours (0 if all already present). */
  findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (e.index <= this.snapshotIndex) continue; // compacted, hence committed and matching
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The follower side of AppendEntries. Returns the last index now known to match the leader,
   * or undefined if (prevIndex, prevTerm) does not match our log.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    leaderCommit: number,
    entries: Entry[],
  ): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`leader's entry ${conflict} conflicts with a committed entry`);
      }
      this.append(entries.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  commitTo(index: number): void {
    if (index > this.committed) this.committed = Math.min(index, this.lastIndex());
  }

  /**
   * For a rejected append at (index, term): the largest index <= `index` whose term is <= `term`.
   * Lets the leader skip a whole conflicting term per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapshotIndex) {
      const t = this.term(i);
      if (t === undefined || t <= term) break;
      i--;
    }
    return i;
  }

  private firstUnstable(): number {
    return Math.max(this.persisted, this.snapshotIndex) + 1;
  }

  /** Whether some entries are not handed to storage yet (no copy: hasReady() asks it every loop). */
  hasUnstableEntries(): boolean {
    return this.firstUnstable() <= this.lastIndex();
  }

  /** Entries not yet handed to storage. */
  unstableEntries(): Entry[] {
    if (!this.hasUnstableEntries()) return [];
    return this.entries.slice(this.firstUnstable() - this.snapshotIndex - 1);
  }

  /** Storage made entries up to (index, term) durable; ignored if the log changed since. */
  stableTo(index: number, term: number): void {
    if (index > this.persisted && this.matchTerm(index, term)) this.persisted = index;
  }

  /** Whether committed, durable entries wait to be handed to the state machine. */
  hasEntriesToApply(): boolean {
    return !this.pendingSnapshot && this.applying < Math.min(this.committed, this.persisted);
  }

  /** Committed, durable entries the state machine has not been handed yet. */
  nextCommittedEntries(maxBytes = Infinity): Entry[] {
    if (!this.hasEntriesToApply()) return [];
    return this.slice(this.applying + 1, Math.min(this.committed, this.persisted) + 1, maxBytes) ?? [];
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
    if (index > this.applying) this.applying = index;
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  restoreSnapshot(snapshot: Snapshot): void {
    this.entries = [];
    this.snapshotIndex = snapshot.meta.index;
    this.snapshotTerm = snapshot.meta.term;
    this.committed = Math.max(this.committed, snapshot.meta.index);
    this.persisted = snapshot.meta.index;
    this.applying = snapshot.meta.index;
    this.pendingSnapshot = snapshot;
  }

  /** Storage persisted and the state machine restored the pending snapshot. */
  snapshotApplied(index: number): void {
    if (this.pendingSnapshot?.meta.index === index) this.pendingSnapshot = undefined;
    this.appliedTo(index);
  }

  /** Discards entries up to `index` (inclusive), which a local snapshot now covers. */
  compact(index: number): void {
    if (index <= this.snapshotIndex) return;
    if (index > this.applied) throw new Error(`cannot compact to ${index}: only ${this.applied} applied`);
    const term = this.term(index)!;
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /** Number of entries held in memory. */
  size(): number {
    return this.entries.length;
  }
}
