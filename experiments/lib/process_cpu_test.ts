import assert from "node:assert/strict";
import { cpuMeter, perOperationUs, processCpuMs } from "./process_cpu.ts";

Deno.test("processCpuMs reads this process's CPU time, and cpuMeter measures what a stretch used", async () => {
  const missing = 0x7ffffff0;
  const meter = cpuMeter([Deno.pid, missing]);
  const [start, none] = await processCpuMs([Deno.pid, missing]);
  assert.ok(start !== undefined && start >= 0, `CPU time of this process: ${start}`);
  assert.equal(none, undefined, "a process that does not exist has no number");
  // Burn about 200 ms of CPU: the 10 ms ticks of /proc must see it.
  const until = performance.now() + 200;
  let x = 0;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
  const used = await meter();
  const [perOp, noPerOp] = perOperationUs(used, 1000);
  assert.ok(perOp !== undefined && perOp >= 100 && perOp <= 1000, `~200 us per op expected, got ${perOp}`);
  assert.equal(noPerOp, undefined);
  assert.deepEqual(perOperationUs(used, 0), [undefined, undefined], "no operation: no per-operation cost");
  assert.deepEqual(await processCpuMs([0, -3]), [undefined, undefined]);
});
