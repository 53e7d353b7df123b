import assert from "node:assert/strict";
import { checkHistory, type CheckResult } from "./checker.ts";
import { HistoryBuilder } from "./history_builder.ts";
import { kvModel } from "./kv_model.ts";
import { simulateKvHistory } from "./simulate.ts";

Deno.test("worker threads give the same per-key results as one thread", async () => {
  // Big enough for two batches (worker_pool.ts BATCH_OPS), so that two workers really run.
  const history = simulateKvHistory({ operations: 24_000, keys: 24, clients: 8, seed: 3, unknownRate: 0.02 });
  const summary = (r: CheckResult) => r.partitions.map((p) => [p.key, p.verdict, p.linearization]);
  const okHere = await checkHistory(history, { model: kvModel, workers: 0 });
  const okThreads = await checkHistory(history, { model: kvModel, workers: 2 });
  assert.equal(okThreads.workers, 2);
  assert.equal(okHere.verdict, "linearizable");
  assert.deepEqual(summary(okThreads), summary(okHere));

  // With a violation the keys still running are stopped (check_partitions.ts), and which ones still run
  // depends on the threads; the verdict and the evidence do not, and every key decided both ways agrees.
  const h = new HistoryBuilder();
  h.put("stale", "a", [0, 1]);
  h.put("stale", "b", [2, 3]);
  h.get("stale", "a", [4, 5]);
  history.operations.push(...h.operations.map((o) => ({ ...o, id: o.id + 1_000_000 })));
  const here = await checkHistory(history, { model: kvModel, workers: 0 });
  const threads = await checkHistory(history, { model: kvModel, workers: 2 });
  assert.equal(threads.workers, 2);
  assert.equal(here.verdict, "not linearizable");
  assert.equal(threads.verdict, here.verdict);
  assert.deepEqual(threads.partitions.map((p) => p.key), here.partitions.map((p) => p.key));
  for (const [i, p] of threads.partitions.entries()) {
    const q = here.partitions[i];
    assert.equal(p.operations.length, q.operations.length, p.key);
    if (p.verdict !== "unknown" && q.verdict !== "unknown") assert.equal(p.verdict, q.verdict, p.key);
  }
  assert.equal(threads.counterexample?.key, here.counterexample?.key);
  assert.deepEqual(threads.counterexample?.linearization, here.counterexample?.linearization);
  assert.equal(threads.counterexample?.breakingOpId, here.counterexample?.breakingOpId);
});

Deno.test("a small history is checked on this thread even when workers are asked for", async () => {
  // One batch of partitions runs on one thread anyway: a worker would only add its start-up (tens of ms,
  // more than the whole check of a fixture like Porcupine's c50). Same answer, no thread started.
  const history = simulateKvHistory({
    operations: 2_000,
    keys: 10,
    clients: 50,
    seed: 5,
    mix: { append: 30 },
  });
  const here = await checkHistory(history, { model: kvModel, workers: 0 });
  const asked = await checkHistory(history, { model: kvModel, workers: 2 });
  assert.equal(asked.workers, 0);
  assert.equal(here.workers, 0);
  const summary = (r: typeof here) => r.partitions.map((p) => [p.key, p.verdict, p.linearization]);
  assert.deepEqual(summary(asked), summary(here));
});
