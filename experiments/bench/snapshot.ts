/**
 * deno task bench snapshot [--quick] [--sizes 10000,100000,1000000] [--load-budget SECONDS]
 *
 * For each state size, a fresh 3-node raft-kv cluster is loaded with that many keys (100-byte
 * values, 64 concurrent writers to the leader), then:
 * - snapshot: the leader takes one on demand (POST /admin/snapshot): wall time and size on disk;
 * - restart-to-serving: a follower is stopped and started again; time from its start until it
 *   answers a linearizable read (it loads its snapshot, replays its WAL, hears from the leader);
 * - learner catch-up: the cluster is scaled to 4; the new member starts empty and, the leader's
 *   log being compacted behind the snapshot, catches up by InstallSnapshot: time from the scale
 *   request to the end of the CatchUp phase and until the cluster is whole with 4 voters.
 * Loading is plain HTTP PUTs, so 1M keys take many minutes on a loaded machine: past the load
 * budget (default 900 s) the size is measured at the keys loaded so far, and the summary says so.
 * Writes bench-results/snapshot-metrics.{json,md,svg}.
 */
import { parseArgs } from "node:util";
import { ExperimentCluster } from "../lib/cluster_harness.ts";
import { barChart } from "../lib/charts.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import { VALUE } from "../lib/load.ts";
import { wholeCluster } from "../lib/whole.ts";
import { AdminClient } from "../../src/client/mod.ts";
import { benchUsage, parseList, parsePositive } from "./args.ts";

const USAGE = "deno task bench snapshot [--quick] [--sizes 10000,100000,1000000] [--load-budget SECONDS]";
const LOADERS = 64;

interface SizeRow {
  /** The size asked for; `keys` is what was loaded (less when the load budget ran out). */
  targetKeys: number;
  keys: number;
  /** Why loading stopped short of targetKeys. */
  loadStopped?: string;
  loadSeconds: number;
  loadWritesPerSec: number;
  snapshotMs: number;
  snapshotBytes: number;
  snapshotIndex: number;
  restartToServingMs: number;
  learnerCatchUpMs: number;
  learnerWholeMs: number;
  learnerGotSnapshot: boolean;
  leaderRssMB?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Loads key-0..key-(keys-1); stops taking new keys once `budgetMs` has passed. Returns the count. */
async function load(
  c: ExperimentCluster,
  keys: number,
  budgetMs: number,
): Promise<{ loaded: number; failure?: string }> {
  let next = 0, done = 0, lastPrint = performance.now();
  const t0 = performance.now();
  let leaderUrl = await c.leaderUrl();
  let failure: string | undefined;
  // One session per loader, its sequence numbers in the order it sends them (a session's requests
  // must not overtake each other: the server refuses an older sequence number as stale).
  const worker = async (w: number) => {
    const session = `load-${w}-${crypto.randomUUID().slice(0, 8)}`;
    let seq = 0;
    while (next < keys && performance.now() - t0 < budgetMs && !failure) {
      const k = next++;
      const request = String(++seq);
      const giveUpAt = performance.now() + 60_000;
      let last = "";
      while (true) {
        try {
          const r = await fetch(`${leaderUrl}/kv/key-${k}`, {
            method: "PUT",
            headers: { "content-type": "application/json", "x-client-id": session, "x-request-seq": request },
            body: JSON.stringify({ value: VALUE }),
            signal: AbortSignal.timeout(10_000),
          });
          last = `${r.status} ${(await r.text()).slice(0, 200)}`;
          if (r.status === 200) break;
        } catch (e) {
          last = (e as Error).message; // retried: the session makes the retry exactly-once
        }
        if (performance.now() > giveUpAt) {
          failure ??= `key-${k} not written within 60 s (last answer: ${last})`;
          return;
        }
        await sleep(200);
        leaderUrl = await c.leaderUrl().catch(() => leaderUrl);
      }
      done++;
      if (performance.now() - lastPrint > 5000) {
        lastPrint = performance.now();
        console.log(`  loaded ${done.toLocaleString("en-US")} / ${keys.toLocaleString("en-US")} keys`);
      }
    }
  };
  await Promise.all(Array.from({ length: LOADERS }, (_, w) => worker(w)));
  if (failure) console.log(`  loading stopped: ${failure}`);
  return { loaded: done, failure };
}

async function measureSize(targetKeys: number, budgetMs: number): Promise<SizeRow> {
  // No automatic snapshot while loading (the benchmark takes it), and a short log behind it, so
  // that a new learner needs the snapshot.
  const c = await ExperimentCluster.start({
    replicas: 3,
    mode: "safe",
    faultInjection: false,
    snapshotEntries: 100_000_000,
  });
  try {
    console.log(`${targetKeys.toLocaleString("en-US")} keys: loading with ${LOADERS} writers`);
    const loadStart = performance.now();
    const { loaded: keys, failure: loadFailure } = await load(c, targetKeys, budgetMs);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    if (keys < targetKeys) {
      console.log(
        `  load budget of ${budgetMs / 1000} s spent at ${
          keys.toLocaleString("en-US")
        } keys: measuring at that size`,
      );
    }
    const leader = (await c.leader())!;
    const leaderNode = c.node(leader);
    await using admin = new AdminClient({ endpoints: c.endpoints(), token: c.sup.state.adminToken });
    let t = performance.now();
    const { index } = await admin.snapshot({ node: leaderNode.clientUrl });
    const snapshotMs = performance.now() - t;
    const s = await c.status(leader);
    const snapshotBytes = (s?.storage as { snapshotBytes: number }).snapshotBytes;
    const leaderRssMB = await rssMB(leaderNode.pid);
    console.log(
      `  snapshot at index ${index}: ${(snapshotBytes / 1e6).toFixed(1)} MB in ${snapshotMs.toFixed(0)} ms`,
    );

    // Every follower snapshots too, so the restarted one loads a snapshot rather than a long WAL.
    const follower = c.nodes.find((n) => n.id !== leader)!;
    await admin.snapshot({ node: follower.clientUrl }).catch(() => {});
    await c.sup.command(follower.id, "restart");
    t = performance.now();
    await c.waitFor(`node ${follower.id} to serve a linearizable read`, async () => {
      try {
        const r = await fetch(`${follower.clientUrl}/kv/key-0`, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        return r.status === 200;
      } catch {
        return false;
      }
    }, 300_000);
    const restartToServingMs = performance.now() - t;
    console.log(`  restart to serving: ${restartToServingMs.toFixed(0)} ms`);

    t = performance.now();
    c.sup.setDesired(4);
    let catchUpDone: number | undefined;
    let sawCatchUp = false;
    await c.waitFor("4 whole voters", async () => {
      const phase = c.sup.state.reconfig.phase;
      if (phase === "CatchUp") sawCatchUp = true;
      if (sawCatchUp && catchUpDone === undefined && phase !== "CatchUp") catchUpDone = performance.now();
      return phase === "Idle" && c.nodes.length === 4 && (await wholeCluster(c)).whole;
    }, 600_000);
    const learnerWholeMs = performance.now() - t;
    const learner = c.nodes.find((n) => n.slot === 3)!;
    const ls = await c.status(learner.id);
    const learnerGotSnapshot =
      ((ls?.storage as { lastSnapshotIndex?: number })?.lastSnapshotIndex ?? 0) > 0 ||
      (ls?.snapshotIndex as number) > 0;
    const learnerCatchUpMs = (catchUpDone ?? performance.now()) - t;
    console.log(
      `  learner ${learner.id}: caught up in ${
        learnerCatchUpMs.toFixed(0)
      } ms (by snapshot: ${learnerGotSnapshot}), ` +
        `whole with 4 voters after ${learnerWholeMs.toFixed(0)} ms`,
    );
    return {
      targetKeys,
      keys,
      ...(keys < targetKeys
        ? { loadStopped: loadFailure ?? `load budget of ${budgetMs / 1000} s spent` }
        : {}),
      loadSeconds: +loadSeconds.toFixed(1),
      loadWritesPerSec: Math.round(keys / loadSeconds),
      snapshotMs: Math.round(snapshotMs),
      snapshotBytes,
      snapshotIndex: index,
      restartToServingMs: Math.round(restartToServingMs),
      learnerCatchUpMs: Math.round(learnerCatchUpMs),
      learnerWholeMs: Math.round(learnerWholeMs),
      learnerGotSnapshot,
      leaderRssMB,
    };
  } finally {
    await c.stop();
  }
}

/** Resident memory of a process, through ps (Deno reads another process's /proc only with --allow-all). */
async function rssMB(pid: number | undefined): Promise<number | undefined> {
  if (!pid) return undefined;
  try {
    const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stdout: "piped" })
      .output();
    const kb = Number(new TextDecoder().decode(out.stdout).trim());
    return kb > 0 ? Math.round(kb / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = benchUsage(USAGE, () =>
    parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        sizes: { type: "string" },
        "load-budget": { type: "string" },
        help: { type: "boolean", default: false },
      },
    }));
  const quick = values.quick!;
  const sizes = parseList("--sizes", values.sizes ?? (quick ? "5000" : "10000,100000,1000000"));
  const budgetMs = 1000 * parsePositive("--load-budget", values["load-budget"] ?? "900");
  const setup = {
    nodes: 3,
    valueBytes: 100,
    loaders: LOADERS,
    sizes,
    loadBudgetSeconds: budgetMs / 1000,
    fsync: true,
    quick,
  };
  const rows: SizeRow[] = [];
  // Written after every size, so that a long run interrupted at 1M keys keeps the smaller sizes.
  for (const keys of sizes) {
    rows.push(await measureSize(keys, budgetMs));
    await report(rows, setup);
  }
}

async function report(rows: SizeRow[], setup: Record<string, unknown>): Promise<void> {
  const table = markdownTable(
    [
      "keys",
      "load (writes/s)",
      "snapshot MB",
      "snapshot ms",
      "restart to serving ms",
      "learner catch-up ms",
      "by snapshot",
      "4 voters whole ms",
      "leader RSS MB",
    ],
    rows.map((r) => [
      r.keys.toLocaleString("en-US") +
      (r.keys < r.targetKeys ? ` (of ${r.targetKeys.toLocaleString("en-US")}: ${r.loadStopped})` : ""),
      `${r.loadSeconds} s (${r.loadWritesPerSec})`,
      (r.snapshotBytes / 1e6).toFixed(1),
      r.snapshotMs,
      r.restartToServingMs,
      r.learnerCatchUpMs,
      r.learnerGotSnapshot ? "yes" : "no",
      r.learnerWholeMs,
      r.leaderRssMB ?? "-",
    ]),
  );
  const label = (k: number) => k >= 1e6 ? `${k / 1e6}M keys` : k >= 1e3 ? `${k / 1e3}k keys` : `${k} keys`;
  await writeResults("snapshot-metrics", { setup, sizes: rows }, {
    charts: {
      "": await barChart({
        title: "Snapshots by state size: take, restart from, catch a learner up",
        subtitle: "3-node raft-kv cluster, 100-byte values; one bar colour per measurement",
        yLabel: "milliseconds",
        logY: true,
        bars: rows.flatMap((r) => [
          { group: label(r.keys), system: "take a snapshot", value: r.snapshotMs },
          { group: label(r.keys), system: "restart to serving", value: r.restartToServingMs },
          { group: label(r.keys), system: "learner catch-up", value: r.learnerCatchUpMs },
        ]),
        colourTitle: "measured",
      }),
    },
    summary: `## Snapshots by state size\n\n${table}\n\nSettings: ${JSON.stringify(setup)}`,
  });
}
