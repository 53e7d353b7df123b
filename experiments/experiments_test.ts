/**
 * The claims of the project, checked end to end on real processes: a short Jepsen-style run in
 * safe mode is linearizable under partitions, kills, pauses and membership changes; each
 * unsafe baseline produces a history the checker rejects, and the same schedule in safe mode
 * produces a linearizable one.
 */
import assert from "node:assert/strict";
import { runJepsen } from "./jepsen.ts";
import { runBugExperiment } from "./bugs.ts";

// Results of test runs go to a temporary directory, not over the committed bench-results/.
const resultsDir = await Deno.makeTempDir({ prefix: "raftkv-experiment-results-" });
Deno.env.set("RAFTKV_RESULTS_DIR", resultsDir);
globalThis.addEventListener("unload", () => Deno.removeSync(resultsDir, { recursive: true }));

Deno.test("jepsen: a short safe-mode run under every fault is linearizable", async () => {
  const { verdict } = await runJepsen({
    seconds: 10,
    nemesis: ["partition", "kill", "pause", "membership"],
    mode: "safe",
    clients: 6,
    keys: 4,
    seed: 7,
    name: "jepsen-test-safe",
  });
  assert.equal(verdict, "linearizable");
});

for (const [bug, unsafe] of [["bug1", "unsafe-early-vote"], ["bug2", "unsafe-no-joint"]] as const) {
  Deno.test(`${bug}: ${unsafe} breaks linearizability, safe mode does not`, async () => {
    const broken = await runBugExperiment(bug, unsafe, 3);
    assert.equal(broken.verdict, "not linearizable", broken.verdictLine);
    assert.ok(broken.sideLeaderElected, "the {3,4,5} side elected a leader");
    const safe = await runBugExperiment(bug, "safe", 3);
    assert.equal(safe.verdict, "linearizable", safe.verdictLine);
    assert.equal(safe.sideLeaderElected, false);
  });
}
