import type { Entry } from "../raft/types.ts";

/**
 * The shape of the stored log (its indexes and terms, as runs of equal terms) with the same
 * rules as WAL replay, so that a write that recovery could not replay is refused up front.
 */
export class TermRuns {
  /** Each run: the first index of a stretch of entries with one term; runs are in index order. */
  private runs: { first: number; term: number }[] = [];
  /** Last stored entry index; with no entries, the index the log continues from (snapshot or 0). */
  lastIndex: number;

  constructor(entries: Entry[], snapshotIndex: number) {
    this.lastIndex = snapshotIndex;
    if (entries.length > 0) this.append(entries);
  }

  termAt(index: number): number | undefined {
    if (this.runs.length === 0 || index < this.runs[0].first || index > this.lastIndex) return undefined;
    for (let i = this.runs.length - 1; i >= 0; i--) if (this.runs[i].first <= index) return this.runs[i].term;
    return undefined;
  }

  /** Why `entries` cannot be appended, or undefined when they can. */
  refuseAppend(entries: Entry[]): string | undefined {
    const first = entries[0].index;
    if (first > this.lastIndex + 1) {
      return `entries start at index ${first}, leaving a gap after the last stored index ${this.lastIndex}`;
    }
    return undefined;
  }

  append(entries: Entry[]): void {
    const first = entries[0].index;
    while (this.runs.length > 0 && this.runs[this.runs.length - 1].first >= first) this.runs.pop();
    for (const entry of entries) {
      if (this.runs.length === 0 || this.runs[this.runs.length - 1].term !== entry.term) {
        this.runs.push({ first: entry.index, term: entry.term });
      }
    }
    this.lastIndex = entries[entries.length - 1].index;
  }

  /** Mirror of a snapshot marker in replay: a log that disagrees with the snapshot is replaced by it. */
  applySnapshot(index: number, term: number): void {
    if (this.runs.length > 0 && index < this.runs[0].first) return;
    if (this.termAt(index) === term) return;
    this.runs = [];
    this.lastIndex = index;
  }
}
