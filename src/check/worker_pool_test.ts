import assert from "node:assert/strict";
import { checkHistory } from "./checker.ts";
import { HistoryBuilder } from "./history_builder.ts";
import { kvModel } from "./kv_model.ts";
import { simulateKvHistory } from "./simulate.ts";

Deno.test("worker threads give the same per-key results as one thread", async () => {
  const history = simulateKvHistory({ operations: 12_000, keys: 24, clients: 8, seed: 3, unknownRate: 0.02 });
  const h = new HistoryBuilder();
  h.put("stale", "a", [0, 1]);
  h.put("stale", "b", [2, 3]);
  h.get("stale", "a", [4, 5]);
  history.operations.push(...h.operations.map((o) => ({ ...o, id: o.id + 1_000_000 })));
  const here = await checkHistory(history, { model: kvModel, workers: 0 });
  const threads = await checkHistory(history, { model: kvModel, workers: 2 });
  assert.equal(threads.workers, 2);
  assert.equal(here.verdict, "not linearizable");
  const summary = (r: typeof here) => r.partitions.map((p) => [p.key, p.verdict, p.operations.length]);
  assert.deepEqual(summary(threads), summary(here));
  assert.deepEqual(threads.counterexample?.linearization, here.counterexample?.linearization);
  assert.equal(threads.counterexample?.breakingOpId, here.counterexample?.breakingOpId);
});
