import assert from "node:assert/strict";
import { Histogram, Registry } from "prom-client";
import { FastHistogram } from "./fast_histogram.ts";

const BUCKETS = [0.0005, 0.001, 0.002, 0.01];

Deno.test("a FastHistogram scrapes exactly as a prom-client Histogram fed the same observations", async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new FastHistogram("t_seconds", "test help", ["stage", "code"], BUCKETS, [ours]);
  const reference = new Histogram({
    name: "t_seconds",
    help: "test help",
    labelNames: ["stage", "code"],
    buckets: BUCKETS,
    registers: [theirs],
  });
  // On bounds, between them, below the first, above the last, zero; two series, one observed once.
  const observations: Array<[string, string, number]> = [
    ["write", "200", 0.0005],
    ["write", "200", 0.0007],
    ["write", "200", 0.001],
    ["write", "200", 0.0000001],
    ["write", "200", 0.5],
    ["write", "200", 0],
    ["read", "404", 0.003],
    ["write", "200", 0.01],
  ];
  for (const [stage, code, value] of observations) {
    fast.series(stage, code).observe(value);
    reference.observe({ stage, code }, value);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  // The JSON form too, but for prom-client's exemplar fields (null: exemplars are not used here).
  const withoutExemplars = (json: unknown) =>
    JSON.parse(JSON.stringify(json, (key, value) => key === "exemplar" ? undefined : value));
  assert.deepEqual(
    withoutExemplars(await ours.getMetricsAsJSON()),
    withoutExemplars(await theirs.getMetricsAsJSON()),
  );
  ours.resetMetrics();
  theirs.resetMetrics();
  assert.equal(await ours.metrics(), await theirs.metrics());
});

Deno.test("a FastHistogram without labels, and its series handles are kept", async () => {
  const registry = new Registry();
  const fast = new FastHistogram("u_seconds", "unlabelled", [], [0.1, 1], [registry]);
  const series = fast.series();
  assert.equal(fast.series(), series, "one series per label set, made once");
  series.observe(0.05);
  series.observe(2);
  const text = await registry.metrics();
  assert.match(text, /^u_seconds_bucket\{le="0\.1"\} 1$/m);
  assert.match(text, /^u_seconds_bucket\{le="1"\} 1$/m);
  assert.match(text, /^u_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^u_seconds_sum 2\.05$/m);
  assert.match(text, /^u_seconds_count 2$/m);
  assert.throws(() => fast.series("extra"), /0 label values expected, got 1/);
  assert.throws(() => new FastHistogram("v", "h", ["le"], [1], []), /"le" is not a label name/);
});
