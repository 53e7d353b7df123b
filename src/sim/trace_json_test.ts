import assert from "node:assert/strict";
import { MAX_EVENTS, recordSimTrace, type SimNodeState } from "./trace_json.ts";
import { runBug } from "./bug_scenarios.ts";
import { randomRun } from "./random_run.ts";
import { SimCluster } from "./cluster.ts";

Deno.test("a bug1 trace as JSON: every event, node states as they change, the violations", () => {
  const original = SimCluster.prototype.trace;
  const { result, trace } = recordSimTrace(
    { scenario: "bug1", mode: "unsafe-early-vote", seed: 1 },
    () => runBug("bug1", 1, "unsafe-early-vote", true),
  );
  assert.equal(SimCluster.prototype.trace, original, "the hook is removed after the run");
  assert.equal(trace.format, "raft-kv-sim-trace");
  assert.ok(result.violations.length > 0);
  assert.deepEqual(trace.violations, result.violations);
  // The text trace keeps its last lines only; the JSON has the whole run.
  assert.ok(trace.events.length > result.trace.length, `${trace.events.length} events`);
  assert.equal(trace.events.at(-1)!.text, result.trace.at(-1)!.replace(/^\s*\d+ms {2}/, ""));
  const messages = trace.events.filter((e) => e.message);
  assert.ok(messages.some((e) => e.message!.type === "vote"));
  // Fold the deltas: by the end all five nodes are known, and node 4 joined with a conf entry in its log.
  const final: Record<string, SimNodeState> = Object.assign(
    {},
    trace.initial,
    ...trace.events.map((e) => e.nodes ?? {}),
  );
  assert.deepEqual(Object.keys(final).sort(), ["1", "2", "3", "4", "5"]);
  assert.ok(Object.values(final).some((n) => n.logTail.some((e) => e.kind === "conf")));
  assert.ok(trace.events.some((e) => e.text.startsWith("PARTITION")));
  assert.equal(JSON.parse(JSON.stringify(trace)).events.length, trace.events.length);
});

Deno.test("a long run: the middle of the run is folded into one gap event, and the end survives", () => {
  // A 15 s random run (crashes, wipes, partitions, membership changes) of the first of these seeds
  // that traces more than MAX_EVENTS events (which seed does moves with any change to message order).
  const record = (seed: number) =>
    recordSimTrace(
      { scenario: "random", mode: "safe", seed },
      () => randomRun({ seed, mode: "safe", trace: true, durationMs: 15_000 }),
    );
  let { trace } = record(4);
  for (const seed of [5, 7, 9]) if (trace.truncated === 0) trace = record(seed).trace;
  assert.ok(trace.events.length <= MAX_EVENTS);
  assert.ok(trace.truncated > 0, "this run is longer than MAX_EVENTS");
  const gap = trace.events.find((e) => e.text.includes("events left out"))!;
  assert.match(gap.text, new RegExp(`${trace.truncated} events left out`));
  assert.ok(trace.events.some((e) => e.text.startsWith("PARTITION")));
  const final = Object.assign({}, trace.initial, ...trace.events.map((e) => e.nodes ?? {}));
  assert.ok(Object.keys(final).length >= 3, `nodes seen: ${Object.keys(final)}`);
});

Deno.test("recording a run with tracing off is an error that says so", () => {
  assert.throws(
    () => recordSimTrace({ scenario: "bug1", mode: "safe", seed: 1 }, () => runBug("bug1", 1, "safe", false)),
    /traced nothing: run it with tracing on/,
  );
});
