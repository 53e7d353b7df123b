import assert from "node:assert/strict";
import { ProposalWaiters } from "./proposals.ts";
import { RetryableError, UnknownOutcomeError } from "./errors.ts";
import type { Entry } from "../raft/mod.ts";

const entry = (index: number, term: number): Entry => ({ index, term, type: "normal" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("proposal waiters: applied ones resolve, the rest time out in order, each after its own timeout", async () => {
  const waiters = new ProposalWaiters<string>(60);
  const outcomes: string[] = [];
  const track = (index: number, p: Promise<string>) =>
    p.then(
      (v) => outcomes.push(`${index}:${v}`),
      (e) => outcomes.push(`${index}:${e instanceof UnknownOutcomeError ? "timeout" : e.constructor.name}`),
    );
  const started = performance.now();
  const first = track(1, waiters.wait(1, 2));
  const second = track(2, waiters.wait(2, 2));
  await sleep(30);
  const third = track(3, waiters.wait(3, 2)); // proposed later: times out later
  waiters.applied(entry(2, 2), () => "ok");
  waiters.applied(entry(9, 2), () => "nobody waits"); // no waiter: nothing happens
  await Promise.all([first, second]);
  const firstTimedOutAt = performance.now() - started;
  assert.deepEqual(outcomes, ["2:ok", "1:timeout"]);
  assert.ok(firstTimedOutAt >= 59, `index 1 timed out after ${firstTimedOutAt} ms, before its 60 ms`);
  assert.equal(waiters.size, 1, "index 3 still waits when index 1 times out");
  await third;
  const thirdTimedOutAt = performance.now() - started;
  assert.deepEqual(outcomes, ["2:ok", "1:timeout", "3:timeout"]);
  assert.ok(thirdTimedOutAt >= 89, `index 3 timed out after ${thirdTimedOutAt} ms, before its own 60 ms`);
  assert.equal(waiters.size, 0);
  assert.equal(waiters.timerArmed, false);
});

Deno.test("proposal waiters: an overwritten entry, a snapshot and a failure answer at once and leave no timer", async () => {
  const waiters = new ProposalWaiters<string>(10_000);
  const replaced = waiters.wait(1, 2);
  waiters.applied(entry(1, 3), () => "not this");
  await assert.rejects(replaced, RetryableError);
  assert.equal(waiters.timerArmed, false, "nobody waits: no timer");

  const skipped = [waiters.wait(2, 3), waiters.wait(3, 3)];
  const beyond = waiters.wait(5, 3);
  waiters.skippedTo(4);
  for (const p of skipped) await assert.rejects(p, /installed by a snapshot/);
  assert.equal(waiters.size, 1);
  assert.equal(waiters.timerArmed, true);

  waiters.failAll(new Error("node stopped"));
  await assert.rejects(beyond, /node stopped/);
  assert.equal(waiters.size, 0);
  assert.equal(waiters.timerArmed, false);
});

Deno.test("proposal waiters: a second proposal at a waiting index answers the first as replaced", async () => {
  const waiters = new ProposalWaiters<string>(10_000);
  const older = waiters.wait(4, 2);
  const newer = waiters.wait(4, 5);
  await assert.rejects(older, RetryableError);
  waiters.applied(entry(4, 5), () => "applied");
  assert.equal(await newer, "applied");
  assert.equal(waiters.timerArmed, false);
});
