import assert from "node:assert/strict";
import { ExperimentCluster } from "./cluster_harness.ts";

Deno.test("a failed experiment's error carries the supervisor's log and every node's log tail", async () => {
  const cluster = await ExperimentCluster.start({ replicas: 1, mode: "safe", faultInjection: false });
  let error: Error;
  try {
    error = await cluster.failedWith(new Error("node 3 is not running"));
  } finally {
    await cluster.stop();
  }
  assert.match(error.message, /^node 3 is not running\n--- diagnostics ---\n/);
  assert.match(
    error.message,
    /supervisor: phase Idle, steady: 1 voters \[1\]; nodes 1 \(slot 0, running, pid \d+\)/,
  );
  assert.match(error.message, /\n {2}\d\d:\d\d:\d\d\.\d{3} started node 1 in slot 0 /);
  assert.match(error.message, /\nnode-1\.log \(last \d+ of \d+ lines\):\n/);
  assert.match(error.message, /client API on http:\/\/127\.0\.0\.1:\d+/, "a line of the node's own log");
  assert.equal((error.cause as Error).message, "node 3 is not running");
});
