import assert from "node:assert/strict";
import { cpuMeter, perOperationUs, processCpuMs } from "./process_cpu.ts";

Deno.test("processCpuMs reads this process's CPU time, and cpuMeter divides what a stretch used", () => {
  const meter = cpuMeter([Deno.pid, 0x7ffffff0]);
  const start = processCpuMs(Deno.pid);
  assert.ok(start !== undefined && start >= 0, `CPU time of this process: ${start}`);
  // Burn about 200 ms of CPU: the 10 ms ticks of /proc must see it.
  const until = performance.now() + 200;
  let x = 0;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
  const used = meter();
  const [perOp, missing] = perOperationUs(used, 1000);
  assert.ok(perOp !== undefined && perOp >= 100 && perOp <= 1000, `~200 us per op expected, got ${perOp}`);
  assert.equal(missing, undefined, "a process that does not exist has no number");
  assert.equal(processCpuMs(0x7ffffff0), undefined);
  assert.deepEqual(perOperationUs(used, 0), [undefined, undefined], "no operation: no per-operation cost");
});
