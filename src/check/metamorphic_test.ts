/**
 * Transformations that must not change the verdict: checking with or without partitions, shifting or
 * stretching all times, relabelling clients, shuffling the input order. Run on simulated (linearizable)
 * histories and on copies with one read corrupted (mostly not linearizable).
 */
import assert from "node:assert/strict";
import { checkHistory, type Verdict } from "./checker.ts";
import { kvModel } from "./kv_model.ts";
import { kvWholeModel } from "./kv_whole_model.ts";
import type { Model } from "./model.ts";
import type { Operation } from "./operation.ts";
import { seededRandom, simulateKvHistory } from "./simulate.ts";

async function verdictOf(operations: Operation[], model: Model = kvModel): Promise<Verdict> {
  return (await checkHistory({ operations, annotations: [], failedCount: 0 }, { model, workers: 0 })).verdict;
}

/** Simulated histories, and each one again with a read changed to a value written earlier (a stale read). */
function cases(count: number, size: number): Array<{ seed: number; operations: Operation[] }> {
  const out = [];
  for (let seed = 1; seed <= count; seed++) {
    const { operations } = simulateKvHistory({
      operations: size,
      keys: 3,
      clients: 4,
      seed,
      unknownRate: 0.05,
    });
    out.push({ seed, operations });
    const random = seededRandom(seed);
    const corrupted = operations.map((o) => ({ ...o }));
    const reads = corrupted.filter((o) => o.op === "get" && o.status === "ok");
    const writes = corrupted.filter((o) => o.op === "put");
    if (reads.length > 0 && writes.length > 0) {
      reads[Math.floor(random() * reads.length)].output = writes[Math.floor(random() * writes.length)].value;
      out.push({ seed: -seed, operations: corrupted });
    }
  }
  return out;
}

Deno.test("metamorphic: partitioned and unpartitioned checks agree", async () => {
  const verdicts = new Set<Verdict>();
  for (const { seed, operations } of cases(60, 14)) {
    const partitioned = await verdictOf(operations);
    assert.equal(await verdictOf(operations, kvWholeModel), partitioned, `seed ${seed}`);
    verdicts.add(partitioned);
  }
  assert.deepEqual([...verdicts].sort(), ["linearizable", "not linearizable"]);
});

Deno.test("metamorphic: shifting and stretching time, relabelling clients, shuffling input keep the verdict", async () => {
  for (const { seed, operations } of cases(60, 60)) {
    const expected = await verdictOf(operations);
    const shifted = operations.map((o) => ({ ...o, call: o.call + 1e6, ret: o.ret + 1e6 }));
    assert.equal(await verdictOf(shifted), expected, `seed ${seed}, shifted`);
    const stretched = operations.map((o) => ({ ...o, call: o.call * 7.5 - 3, ret: o.ret * 7.5 - 3 }));
    assert.equal(await verdictOf(stretched), expected, `seed ${seed}, stretched`);
    const relabelled = operations.map((o) => ({ ...o, client: `client-${(o.client as number) * 13 + 5}` }));
    assert.equal(await verdictOf(relabelled), expected, `seed ${seed}, relabelled`);
    const random = seededRandom(seed);
    const shuffled = operations.map((o) => ({ o, r: random() })).sort((a, b) => a.r - b.r).map(({ o }) => o);
    assert.equal(await verdictOf(shuffled), expected, `seed ${seed}, shuffled`);
  }
});

Deno.test("simulated histories are linearizable at every size the tests use", async () => {
  for (const size of [10, 100, 2000]) {
    const history = simulateKvHistory({ operations: size, keys: 5, clients: 8, seed: size });
    assert.equal(
      (await checkHistory(history, { model: kvModel, workers: 0 })).verdict,
      "linearizable",
      `${size} ops`,
    );
  }
});
