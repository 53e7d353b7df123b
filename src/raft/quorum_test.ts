import assert from "node:assert/strict";
import { jointCommitted, jointVote, majorityCommitted, majorityVote } from "./quorum.ts";

const set = (...ids: number[]) => new Set(ids);
const acks = (m: Record<number, number>) => (id: number) => m[id] ?? 0;
const votes = (m: Record<number, boolean>) => new Map(Object.entries(m).map(([k, v]) => [Number(k), v]));

Deno.test("majority commit index is the (n/2+1)-th highest acknowledgement", () => {
  assert.equal(majorityCommitted(set(1), acks({ 1: 5 })), 5);
  assert.equal(majorityCommitted(set(1, 2, 3), acks({ 1: 5, 2: 3, 3: 9 })), 5);
  assert.equal(majorityCommitted(set(1, 2, 3, 4), acks({ 1: 5, 2: 3, 3: 9, 4: 7 })), 5);
  assert.equal(majorityCommitted(set(1, 2, 3, 4, 5), acks({ 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 })), 3);
  assert.equal(majorityCommitted(set(), acks({})), Infinity, "an empty half imposes no constraint");
});

Deno.test("joint commit index needs both majorities", () => {
  const a = acks({ 1: 10, 2: 10, 3: 2, 4: 2, 5: 2 });
  // C_new {3,4,5} has only acknowledged 2: the joint index is held back by it.
  assert.equal(jointCommitted(set(3, 4, 5), set(1, 2, 3), a), 2);
  assert.equal(jointCommitted(set(1, 2, 3), set(), a), 10);
});

Deno.test("majority vote: won, lost or pending", () => {
  assert.equal(majorityVote(set(1, 2, 3), votes({ 1: true, 2: true })), "won");
  assert.equal(majorityVote(set(1, 2, 3), votes({ 1: true, 2: false })), "pending");
  assert.equal(majorityVote(set(1, 2, 3), votes({ 1: true, 2: false, 3: false })), "lost");
  assert.equal(majorityVote(set(1, 2, 3, 4), votes({ 1: true, 2: true })), "pending");
  assert.equal(majorityVote(set(), votes({})), "won");
  assert.equal(majorityVote(set(1, 2, 3), votes({ 4: true, 5: true })), "pending", "non-voters never count");
});

Deno.test("joint vote: both halves must win, either losing loses", () => {
  assert.equal(jointVote(set(3, 4, 5), set(1, 2, 3), votes({ 3: true, 4: true, 5: true })), "pending");
  assert.equal(jointVote(set(3, 4, 5), set(1, 2, 3), votes({ 1: true, 3: true, 4: true })), "won");
  assert.equal(
    jointVote(set(3, 4, 5), set(1, 2, 3), votes({ 1: false, 2: false, 3: true, 4: true })),
    "lost",
  );
});
