/**
 * No request waits for a Raft tick: a ReadIndex round sends its heartbeats at once and a proposal
 * its appends at once, so with a long tick (here 400 ms) reads on every node and writes on the
 * leader still take a few milliseconds. A read or write that waited for the next tick would take
 * 200 ms on average (uniform over the tick), which the bounds below reject.
 */
import assert from "node:assert/strict";
import { ExperimentCluster } from "../lib/cluster_harness.ts";
import { loadPool, newSession, request } from "../lib/load.ts";

const TICK_MS = 400;

async function timed(run: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  assert.ok(await run(), "the request failed");
  return performance.now() - t0;
}

function describe(ms: number[]): { median: number; p90: number; text: string } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    median: at(0.5),
    p90: at(0.9),
    text: `n=${ms.length} median ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, max ${
      sorted.at(-1)!.toFixed(1)
    } ms`,
  };
}

Deno.test(`with a ${TICK_MS} ms tick, linearizable reads on every node and writes take far less than a tick`, async () => {
  const cluster = await ExperimentCluster.start({
    replicas: 3,
    mode: "safe",
    tickMs: TICK_MS,
    faultInjection: false,
  });
  const pool = loadPool({});
  try {
    const target = {
      system: "raft-kv" as const,
      leaderUrl: await cluster.leaderUrl(),
      readUrls: cluster.endpoints(),
    };
    const session = newSession();
    const writes: number[] = [];
    for (let i = 0; i < 30; i++) writes.push(await timed(() => request(pool, target, "write", i, session)));
    // One reader per node in turn (n picks the node), then eight at once: concurrent reads share rounds.
    const reads: number[] = [];
    for (let i = 0; i < 30; i++) reads.push(await timed(() => request(pool, target, "read", i, session)));
    for (let round = 0; round < 5; round++) {
      reads.push(
        ...await Promise.all(
          Array.from({ length: 8 }, (_, i) => timed(() => request(pool, target, "read", i, session))),
        ),
      );
    }
    for (const [what, ms] of [["writes", writes], ["reads", reads]] as const) {
      const d = describe(ms);
      console.log(`${what}: ${d.text}`);
      assert.ok(d.median < TICK_MS / 8, `${what} wait for the tick: ${d.text}`);
      assert.ok(d.p90 < TICK_MS / 3, `${what} wait for the tick: ${d.text}`);
    }

    // Followers learn a commit without a later write or the tick: the leader's commit broadcast
    // (held a moment in case a later append carries it, src/kv/commit_hold.ts) still goes out.
    for (let i = 0; i < 5; i++) {
      const key = `commit-seen-${i}`;
      const put = await fetch(`${target.leaderUrl}/kv/${key}`, {
        method: "PUT",
        body: JSON.stringify({ value: "v" }),
      });
      assert.equal(put.status, 200, await put.text());
      const written = performance.now();
      for (const url of cluster.endpoints()) {
        for (;;) {
          const r = await fetch(`${url}/kv/${key}?consistency=stale`);
          await r.body?.cancel();
          if (r.status === 200) break;
          assert.ok(
            performance.now() - written < TICK_MS / 4,
            `${url} did not apply ${key} within ${TICK_MS / 4} ms`,
          );
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
    }
  } finally {
    pool.close();
    await cluster.stop();
  }
});
