import assert from "node:assert/strict";
import { ObjectQueue } from "./queueing.ts";
import { delay, waitFor } from "../testing/wait.ts";

Deno.test("ObjectQueue: serial per key, concurrent up to the limit, coalesced triggers, wake-ups", async () => {
  const active = new Set<string>();
  const runs: string[] = [];
  let overlaps = 0;
  let peak = 0;
  const errors: string[] = [];
  const queue = new ObjectQueue(2, async (key) => {
    if (active.has(key)) overlaps++;
    active.add(key);
    peak = Math.max(peak, active.size);
    runs.push(key);
    await delay(30);
    active.delete(key);
    if (key === "bad") throw new Error("boom");
  }, (key, error) => errors.push(`${key}: ${(error as Error).message}`));

  for (const key of ["a", "b", "c"]) queue.trigger(key);
  for (let i = 0; i < 5; i++) queue.trigger("a"); // while "a" runs: one more run, not five
  await waitFor("the queue to drain", () => queue.running === 0 && runs.length >= 4);
  await delay(50);
  assert.equal(overlaps, 0);
  assert.equal(peak, 2);
  assert.deepEqual(runs.filter((k) => k === "a").length, 2);
  assert.deepEqual(runs.slice(0, 2).sort(), ["a", "b"]);

  queue.trigger("bad");
  await waitFor("the error to be reported", () => errors.length === 1);
  assert.deepEqual(errors, ["bad: boom"]);

  const before = runs.length;
  queue.wakeAt("w", Date.now() + 60);
  queue.wakeAt("gone", Date.now() + 60);
  queue.forget("gone");
  await waitFor("the wake-up", () => runs.includes("w"));
  await delay(100);
  assert.deepEqual(runs.slice(before), ["w"]);
  assert.ok(!runs.includes("gone"));

  queue.trigger("slow");
  const stopped = queue.stop();
  queue.trigger("late");
  await stopped;
  assert.equal(queue.running, 0);
  assert.ok(!runs.includes("late"), "nothing starts after stop");
});
