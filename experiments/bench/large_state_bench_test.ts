/** The issue 17 benchmarks run end to end on a small state and write their results (to a temp dir). */
import assert from "node:assert/strict";
import { run as snapshotStall } from "./snapshot_stall.ts";
import { run as stateMemory } from "./state_memory.ts";

async function withResultsDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bench-results-" });
  const before = Deno.env.get("RAFTKV_RESULTS_DIR");
  Deno.env.set("RAFTKV_RESULTS_DIR", dir);
  try {
    await fn(dir);
  } finally {
    if (before === undefined) Deno.env.delete("RAFTKV_RESULTS_DIR");
    else Deno.env.set("RAFTKV_RESULTS_DIR", before);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("bench snapshot-stall measures every stage of a small state", async () => {
  await withResultsDir(async (dir) => {
    await snapshotStall(["--keys", "3000", "--value-bytes", "100"]);
    const result = JSON.parse(await Deno.readTextFile(`${dir}/snapshot-stall.json`));
    assert.equal(result.keys, 3000);
    const names = result.stages.map((s: { stage: string }) => s.stage);
    assert.ok(
      names.some((n: string) => n.startsWith("encode")) &&
        names.some((n: string) => n.startsWith("sliced encode")),
    );
    for (const s of result.stages) assert.ok(s.wallMs > 0 && s.longestBlockMs >= 0, JSON.stringify(s));
  });
});

Deno.test("bench state-memory reports memory per live byte", async () => {
  await withResultsDir(async (dir) => {
    await stateMemory(["--sizes", "2000", "--value-bytes", "200"]);
    const result = JSON.parse(await Deno.readTextFile(`${dir}/state-memory.json`));
    assert.equal(result.results[0].keys, 2000);
    assert.deepEqual(result.results[0].steps.map((s: { step: string }) => s.step), [
      "map + log",
      "map + log + image",
      "map + image",
      "map",
    ]);
  });
});
