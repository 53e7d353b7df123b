/**
 * Budgets: when time or memory runs out the verdict is "unknown", never "linearizable"; and a hard key
 * does not keep the checker from finding a small failing one.
 */
import assert from "node:assert/strict";
import { checkHistory } from "./checker.ts";
import { HistoryBuilder } from "./history_builder.ts";
import { kvModel } from "./kv_model.ts";
import { simulateKvHistory } from "./simulate.ts";

/** One key, many clients, appends: a search space far too big for the budgets below. */
function hardHistory() {
  return simulateKvHistory({ operations: 20_000, keys: 1, clients: 24, seed: 7, mix: { append: 30 } });
}

Deno.test("a tiny time budget on a large concurrent history gives unknown, never linearizable", async () => {
  const history = hardHistory();
  for (const timeoutMs of [0, 5, 50]) {
    const result = await checkHistory(history, { model: kvModel, timeoutMs, workers: 0 });
    assert.equal(result.verdict, "unknown", `budget ${timeoutMs} ms`);
    assert.match(result.partitions[0].reason ?? "", /time budget/);
  }
});

Deno.test("a memory budget gives unknown with the reason", async () => {
  const result = await checkHistory(hardHistory(), {
    model: kvModel,
    memoryBudgetBytes: 100_000,
    timeoutMs: 60_000,
    workers: 0,
  });
  assert.equal(result.verdict, "unknown");
  assert.match(result.partitions[0].reason ?? "", /memory budget \(0\.1 MB\) exceeded/);
});

Deno.test("a small failing key is found even when another key is too hard to finish", async () => {
  const history = hardHistory();
  const h = new HistoryBuilder();
  h.put("small", "a", [0, 1]);
  h.put("small", "b", [2, 3]);
  h.get("small", "a", [4, 5]);
  history.operations.push(...h.operations.map((o) => ({ ...o, id: o.id + 1_000_000 })));
  const result = await checkHistory(history, { model: kvModel, timeoutMs: 60_000, workers: 0 });
  assert.equal(result.verdict, "not linearizable");
  assert.equal(result.counterexample?.key, "small");
  const hard = result.partitions.find((p) => p.key !== "small")!;
  assert.ok(hard.verdict !== "not linearizable", "the simulated key is linearizable");
});
