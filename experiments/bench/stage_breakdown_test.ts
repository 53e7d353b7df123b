import assert from "node:assert/strict";
import { formatStages, parseStageHistograms, stageDelta } from "./stage_breakdown.ts";

/** A stage histogram in the exposition format prom-client writes (cumulative buckets). */
function exposition(stage: string, counts: Record<string, number>, sum: number): string {
  const lines = Object.entries(counts).map(([le, n]) =>
    `raftkv_request_stage_seconds_bucket{le="${le}",stage="${stage}"} ${n}`
  );
  const count = counts["+Inf"];
  return [
    "# TYPE raftkv_request_stage_seconds histogram",
    ...lines,
    `raftkv_request_stage_seconds_sum{stage="${stage}"} ${sum}`,
    `raftkv_request_stage_seconds_count{stage="${stage}"} ${count}`,
    "raftkv_other_total 3",
  ].join("\n");
}

Deno.test("a row's stage percentiles come from the difference of the histograms, interpolated in the bucket", () => {
  const before = parseStageHistograms(
    exposition("write_total", { "0.001": 10, "0.002": 10, "+Inf": 10 }, 0.005),
  );
  // 100 more writes: 50 in (0, 1 ms], 49 in (1, 2 ms], 1 above 2 ms.
  const after = parseStageHistograms(
    exposition("write_total", { "0.001": 60, "0.002": 109, "+Inf": 110 }, 0.155),
  );
  const delta = stageDelta(before, after);
  assert.deepEqual(Object.keys(delta), ["write_total"]);
  const w = delta.write_total;
  assert.equal(w.count, 100);
  assert.equal(w.meanMs, 1.5);
  assert.equal(w.p50Ms, 1, "the 50th of 100 is the last of the first bucket");
  assert.ok(w.p99Ms > 1.9 && w.p99Ms <= 2, `p99 ${w.p99Ms}`);
  assert.equal(w.p999Ms, 2, "in the +Inf bucket: its lower bound");
  assert.match(
    formatStages(delta)[0],
    /write_total .* p50 +1\.000 +p99 +\d\.\d+ +mean +1\.500 ms +\(n=100\)/,
  );
});

Deno.test("a stage with no new observations in the row is left out", () => {
  const h = parseStageHistograms(exposition("read_index", { "0.001": 5, "+Inf": 5 }, 0.001));
  assert.deepEqual(stageDelta(h, h), {});
});
