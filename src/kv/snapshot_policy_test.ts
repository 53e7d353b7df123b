/**
 * When the node driver takes a snapshot (issue 17): by log bytes as well as by entry count, and,
 * with a large state, not every few entries. One bootstrapped node over the simulator's store
 * (instant disk), so the test is deterministic.
 */
import assert from "node:assert/strict";
import type { NodeDriver, NodeDriverOptions } from "./node_driver.ts";
import { startLoneNode } from "./testdata/lone_node.ts";
import { quietHooks } from "./quiet_hooks.ts";
import { emptyDurable, SimStore } from "../sim/sim_store.ts";
import { encodeCommand } from "./commands.ts";

function startNode(extra: Partial<NodeDriverOptions>): NodeDriver {
  const store = new SimStore(emptyDurable(), { delay: () => 0, after: (_ms, c) => c(), onPersist: () => {} });
  return startLoneNode(store, quietHooks((e) => assert.fail(e)), extra);
}

/** Writes `count` puts of `valueBytes`-byte values (keys cycle through `keys`); returns snapshot indexes. */
function write(driver: NodeDriver, count: number, valueBytes: number, keys = count): number[] {
  const taken: number[] = [];
  const start = driver.snapshotIndex;
  for (let i = 0; i < count; i++) {
    const value = `${i}`.padEnd(valueBytes, "x");
    driver.raft.propose([encodeCommand({ op: "put", key: `k${i % keys}`, value })]);
    driver.kick();
    if (driver.snapshotIndex !== (taken.at(-1) ?? start)) taken.push(driver.snapshotIndex);
  }
  return taken;
}

Deno.test("a snapshot is taken by log bytes when the entry count alone would not trigger one", () => {
  const driver = startNode({ snapshotEntries: 1_000_000, snapshotLogBytes: 100_000 });
  const taken = write(driver, 300, 1_000);
  // 300 entries of ~1 KB: about 300 KB of log, so a snapshot about every 100 entries.
  assert.ok(taken.length >= 2 && taken.length <= 3, `snapshots at ${taken}`);
  assert.ok(taken[0] >= 95 && taken[0] <= 110, `first snapshot at ${taken[0]}`);
});

Deno.test("with a large state, count-triggered snapshots wait until the new log is a quarter of the image", () => {
  const driver = startNode({ snapshotEntries: 100, snapshotLogBytes: 0 });
  // Grow the state past 1 MiB: snapshots every 100 entries while the image is small.
  const early = write(driver, 1_500, 1_000);
  assert.ok(early.length >= 10, `snapshots while small: ${early}`);
  const imageBytes = driver.lastSnapshot!.bytes;
  assert.ok(imageBytes > 1024 * 1024, `image ${imageBytes} bytes`);
  // Overwrite existing keys (the state stays ~1.5 MB): now ~375 KB of log between snapshots.
  const before = driver.snapshotIndex;
  const later = write(driver, 1_200, 1_000, 1_500);
  const gaps = [before, ...later].slice(1).map((index, i) => index - [before, ...later][i]);
  assert.ok(later.length >= 2, `snapshots later: ${later}`);
  for (const gap of gaps) assert.ok(gap >= 300, `a snapshot came ${gap} entries after the previous one`);
});

Deno.test("entries kept behind a snapshot are bounded by bytes as well as by count", () => {
  // 2,000 entries asked for, but entries of 100 KB: at most 4 MiB of them stay (about 41).
  const driver = startNode({ snapshotEntries: 0, snapshotLogBytes: 0, retainEntries: 2_000 });
  write(driver, 60, 100_000);
  let done = false;
  driver.maybeSnapshot(true, (error) => {
    assert.ifError(error);
    done = true;
  });
  assert.ok(done, "the simulator's store saves at once");
  const kept = driver.raft.entries(0, driver.raft.lastIndex + 1);
  const bytes = kept.reduce((n, e) => n + (e.data?.length ?? 0), 0);
  assert.ok(kept.length >= 30 && bytes <= 4 * 1024 * 1024, `${kept.length} entries of ${bytes} bytes kept`);

  // Small entries: the count decides.
  const small = startNode({ snapshotEntries: 0, snapshotLogBytes: 0, retainEntries: 50 });
  write(small, 200, 100);
  small.maybeSnapshot(true);
  assert.equal(small.raft.entries(0, small.raft.lastIndex + 1).length, 50);
});

Deno.test("with a large image, a byte-triggered snapshot waits until the log is a quarter of the image", () => {
  const driver = startNode({ snapshotEntries: 0, snapshotLogBytes: 100_000 });
  // Grow the state to ~2 MB of distinct keys: snapshots every ~100 KB while the image is small.
  write(driver, 2_000, 1_000);
  const imageBytes = driver.lastSnapshot!.bytes;
  assert.ok(imageBytes > 1_500_000, `image ${imageBytes} bytes`);
  // Overwrites: now a snapshot only once the log holds ~imageBytes / 4 (about 500 entries of 1 KB).
  const before = driver.snapshotIndex;
  const later = write(driver, 1_500, 1_000, 2_000);
  const gaps = [before, ...later].slice(1).map((index, i) => index - [before, ...later][i]);
  assert.ok(later.length >= 1, `snapshots later: ${later}`);
  for (const gap of gaps) {
    assert.ok(gap >= imageBytes / 4 / 1_100, `a snapshot came ${gap} entries after the previous one`);
  }
});

Deno.test("with a large state, members' snapshots are staggered by node id so they do not coincide", () => {
  const gapsOf = (nodeId: number) => {
    const driver = startNode({ nodeId, snapshotEntries: 0, snapshotLogBytes: 100_000 });
    write(driver, 2_000, 1_000);
    const before = driver.snapshotIndex;
    const later = write(driver, 3_000, 1_000, 2_000);
    return [before, ...later].slice(1).map((index, i) => index - [before, ...later][i]);
  };
  const [one, two, three] = [1, 2, 3].map(gapsOf);
  const mean = (gaps: number[]) => gaps.reduce((a, b) => a + b, 0) / gaps.length;
  // The same writes: node 2 waits ~1.25x and node 3 ~1.5x as much log as node 1.
  assert.ok(Math.abs(mean(two) / mean(one) - 1.25) < 0.06, `gaps ${mean(one)} vs ${mean(two)}`);
  assert.ok(Math.abs(mean(three) / mean(one) - 1.5) < 0.06, `gaps ${mean(one)} vs ${mean(three)}`);
  // And by entry count: 100 entries of a few bytes each, state over 1 MiB already.
  const countGaps = (nodeId: number) => {
    const driver = startNode({ nodeId, snapshotEntries: 100, snapshotLogBytes: 0 });
    write(driver, 1_500, 1_000);
    const before = driver.snapshotIndex;
    const later = write(driver, 2_000, 1_000, 1_500);
    return mean([before, ...later].slice(1).map((index, i) => index - [before, ...later][i]));
  };
  const [c1, c3] = [countGaps(1), countGaps(3)];
  assert.ok(c3 / c1 > 1.3, `count-triggered gaps ${c1} vs ${c3}`);
});

Deno.test("the first snapshot of a bulk load is staggered by node id too", () => {
  // A new cluster's last image is the bootstrap's few bytes, while the state grows by megabytes:
  // the stagger must weigh the state, or every member snapshots at the same index.
  const first = (nodeId: number, extra: Partial<NodeDriverOptions>) => {
    const driver = startNode({ nodeId, ...extra });
    const taken = write(driver, 4_000, 1_000);
    assert.ok(taken.length > 0, `node ${nodeId} took no snapshot`);
    return taken[0];
  };
  // By log bytes: 2 MB of log (a state over 1 MiB by then).
  const [b1, b2, b3] = [1, 2, 3].map((id) => first(id, { snapshotEntries: 0, snapshotLogBytes: 2_000_000 }));
  assert.ok(
    Math.abs(b2 / b1 - 1.25) < 0.05 && Math.abs(b3 / b1 - 1.5) < 0.05,
    `first snapshots at ${[b1, b2, b3]}`,
  );
  // By entry count: every 2,000 entries.
  const [c1, c2, c3] = [1, 2, 3].map((id) => first(id, { snapshotEntries: 2_000, snapshotLogBytes: 0 }));
  assert.ok(
    Math.abs(c2 / c1 - 1.25) < 0.05 && Math.abs(c3 / c1 - 1.5) < 0.05,
    `first snapshots at ${[c1, c2, c3]}`,
  );
});
