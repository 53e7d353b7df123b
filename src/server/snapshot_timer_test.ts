import assert from "node:assert/strict";
import { type Snapshotter, SnapshotTimer } from "./snapshot_timer.ts";
import { parseConfig } from "./config.ts";

const quiet = () => {};

/** A node whose applied index the test moves; it snapshots like RaftKvNode.snapshotNow. */
class CountingNode implements Snapshotter {
  applied = 0;
  snapshotIndex = 0;
  snapshots = 0;
  stopped = false;
  snapshotNow(): Promise<number> {
    if (this.stopped) return Promise.reject(new Error("node stopped"));
    if (this.applied > this.snapshotIndex) {
      this.snapshotIndex = this.applied;
      this.snapshots++;
    }
    return Promise.resolve(this.snapshotIndex);
  }
}

Deno.test("the snapshot timer snapshots only what was applied since the last snapshot, and ends with the node", async () => {
  const node = new CountingNode();
  const timer = new SnapshotTimer(node, 1_000, quiet);
  await timer.tick();
  assert.equal(node.snapshots, 0, "nothing applied: nothing written");
  node.applied = 5;
  await timer.tick();
  await timer.tick();
  assert.equal(node.snapshots, 1);
  node.applied = 9;
  await timer.tick();
  assert.equal(node.snapshotIndex, 9);
  node.stopped = true;
  await timer.tick();
  node.stopped = false;
  node.applied = 12;
  timer.start();
  timer.stop();
  assert.equal(node.snapshots, 2);
});

Deno.test("the snapshot timer fires on its interval", async () => {
  const node = new CountingNode();
  node.applied = 3;
  const timer = new SnapshotTimer(node, 20, quiet).start();
  try {
    const deadline = Date.now() + 2_000;
    while (node.snapshots === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(node.snapshots, 1);
  } finally {
    timer.stop();
  }
});

const tokens: Record<string, string> = { RAFTKV_PEER_TOKEN: "p", RAFTKV_ADMIN_TOKEN: "a" };
const parse = (...args: string[]) => parseConfig(["--data-dir=/d", ...args], (name) => tokens[name]);

Deno.test("--election-timeout-ms becomes ticks of --tick-ms; too short or both flags is refused", () => {
  assert.equal(parse("--election-timeout-ms=300").electionTicks, 6);
  assert.equal(parse("--election-timeout-ms=300", "--tick-ms=20").electionTicks, 15);
  assert.equal(parse().electionTicks, 10);
  assert.throws(() => parse("--election-timeout-ms=100"), /only 2 tick\(s\) of 50 ms: use at least 150 ms/);
  assert.throws(() => parse("--election-timeout-ms=300", "--election-ticks=5"), /not both/);
});

Deno.test("--snapshot-interval-ms defaults to off and refuses negatives", () => {
  assert.equal(parse().snapshotIntervalMs, 0);
  assert.equal(parse("--snapshot-interval-ms=30000").snapshotIntervalMs, 30_000);
  assert.throws(() => parse("--snapshot-interval-ms=-1"), /non-negative integer/);
});
