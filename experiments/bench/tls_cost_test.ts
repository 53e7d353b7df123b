/** `bench tls-cost` in a short form: both clusters measured in one run, real numbers, files written. */
import assert from "node:assert/strict";

Deno.test("bench tls-cost --quick: plain, TLS and TLS-with-tokens-only rows from one run", async () => {
  const resultsDir = await Deno.makeTempDir({ prefix: "raftkv-tls-cost-" });
  const previous = Deno.env.get("RAFTKV_RESULTS_DIR");
  Deno.env.set("RAFTKV_RESULTS_DIR", resultsDir);
  try {
    await (await import("./tls_cost.ts")).run(["--quick", "--levels", "4"]);
    const json = JSON.parse(await Deno.readTextFile(`${resultsDir}/tls-cost.json`));
    assert.deepEqual([...new Set(json.rows.map((r: { security: string }) => r.security))].sort(), [
      "plain",
      "tls",
      "tls-tokens",
    ]);
    for (const r of json.rows) {
      assert.ok(r.opsPerSec > 0 && r.errors === 0 && r.p50Ms <= r.p99Ms, JSON.stringify(r));
    }
    for (const s of json.summary) {
      assert.ok(Object.values(s.opsPerSec).every((v) => (v as number) > 0), JSON.stringify(s));
    }
    assert.match(await Deno.readTextFile(`${resultsDir}/tls-cost.svg`), /^<svg/);
    assert.match(await Deno.readTextFile(`${resultsDir}/tls-cost.md`), /Cost of TLS/);
  } finally {
    if (previous === undefined) Deno.env.delete("RAFTKV_RESULTS_DIR");
    else Deno.env.set("RAFTKV_RESULTS_DIR", previous);
    await Deno.remove(resultsDir, { recursive: true });
  }
});
