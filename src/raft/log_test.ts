import assert from "node:assert/strict";
import { RaftLog } from "./log.ts";
import type { Entry } from "./types.ts";

const e = (index: number, term: number): Entry => ({ index, term, type: "normal" });
const snap = (index: number, term: number) => ({
  meta: { index, term, conf: { voters: [1], votersOutgoing: [], learners: [], learnersNext: [] } },
  data: new Uint8Array(),
});

Deno.test("maybeAppend accepts matching entries, replaces a conflicting suffix, refuses a gap", () => {
  const log = RaftLog.restore(undefined, [e(1, 1), e(2, 1), e(3, 2)], 0);
  assert.equal(log.maybeAppend(3, 2, 0, [e(4, 2)]), 4);
  assert.equal(log.lastIndex(), 4);
  assert.equal(log.maybeAppend(2, 1, 2, [e(3, 3)]), 3, "conflict at 3 truncates 3..4");
  assert.equal(log.lastIndex(), 3);
  assert.equal(log.term(3), 3);
  assert.equal(log.committed, 2);
  assert.equal(log.maybeAppend(5, 3, 0, [e(6, 3)]), undefined, "no entry at 5");
  assert.equal(log.maybeAppend(2, 9, 0, []), undefined, "term mismatch at 2");
});

Deno.test("committed entries are never overwritten", () => {
  const log = RaftLog.restore(undefined, [e(1, 1), e(2, 1)], 2);
  assert.throws(() => log.maybeAppend(1, 1, 2, [e(2, 5)]), /conflicts with a committed entry/);
  assert.equal(log.term(2), 1);
});

Deno.test("findConflictByTerm skips a whole term per step", () => {
  const log = RaftLog.restore(undefined, [e(1, 1), e(2, 1), e(3, 4), e(4, 4), e(5, 4)], 0);
  assert.equal(log.findConflictByTerm(5, 2), 2);
  assert.equal(log.findConflictByTerm(5, 4), 5);
  assert.equal(log.findConflictByTerm(9, 4), 5);
});

Deno.test("persisted and applied indexes move as the shell reports progress", () => {
  const log = RaftLog.restore(undefined, [e(1, 1)], 1);
  log.append([e(2, 1), e(3, 1)]);
  assert.deepEqual(log.unstableEntries().map((x) => x.index), [2, 3]);
  log.commitTo(3);
  assert.deepEqual(log.nextCommittedEntries().map((x) => x.index), [1], "2 and 3 are not durable here yet");
  log.stableTo(3, 1);
  assert.deepEqual(log.nextCommittedEntries().map((x) => x.index), [1, 2, 3]);
  log.stableTo(3, 7);
  assert.equal(log.persisted, 3, "a stale stableTo is ignored");
});

Deno.test("compaction and snapshot restore", () => {
  const log = RaftLog.restore(snap(5, 2), [e(6, 2), e(7, 3), e(8, 3)], 8);
  assert.equal(log.firstIndex(), 6);
  assert.equal(log.term(5), 2);
  assert.equal(log.term(4), undefined);
  log.appliedTo(8);
  log.compact(7);
  assert.equal(log.firstIndex(), 8);
  assert.equal(log.term(7), 3);
  assert.equal(log.slice(7, 9), undefined, "compacted entries are gone: send a snapshot");
  log.restoreSnapshot(snap(20, 5));
  assert.equal(log.lastIndex(), 20);
  assert.equal(log.committed, 20);
  assert.deepEqual(log.nextCommittedEntries(), [], "nothing to apply before the snapshot is restored");
});
