import assert from "node:assert/strict";
import { EventLoopStallMonitor, STALL_BUCKETS_SECONDS } from "./event_loop_stalls.ts";

Deno.test("a blocked event loop is recorded as a stall of about the blocked time", async () => {
  const monitor = new EventLoopStallMonitor(5, 5).start();
  try {
    await new Promise((r) => setTimeout(r, 20));
    const until = performance.now() + 300;
    while (performance.now() < until) { /* block the loop */ }
    await new Promise((r) => setTimeout(r, 20));
    const s = monitor.read();
    assert.ok(s.maxSeconds >= 0.29, `longest stall ${s.maxSeconds} s, blocked 0.3 s`);
    assert.ok(s.count >= 1);
    assert.equal(s.bucketCounts.length, STALL_BUCKETS_SECONDS.length + 1);
    assert.equal(s.bucketCounts.at(-1), s.count, "buckets are cumulative");
    assert.equal(s.bucketCounts[STALL_BUCKETS_SECONDS.indexOf(0.25)] < s.count, true, "0.3 s is above 0.25");
  } finally {
    monitor.stop();
  }
});

Deno.test("observations below the threshold are noise, not stalls", () => {
  const monitor = new EventLoopStallMonitor(10, 5);
  monitor.observe(2);
  monitor.observe(30);
  const s = monitor.read();
  assert.equal(s.count, 1);
  assert.equal(s.maxSeconds, 0.03);
  assert.deepEqual(s.bucketCounts.slice(0, 3), [0, 0, 1]);
  assert.equal(monitor.takeRecentMax(), 0.03);
  assert.equal(monitor.takeRecentMax(), 0);
});
