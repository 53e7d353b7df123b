/**
 * deno task bench failover [--quick] [--kills N] [--compare etcd] [--whole-timeout S]
 *
 * SIGKILLs the leader of a 3-member cluster N times and measures, from the kill, the time until a
 * surviving member leads (polled every 10 ms) and until the first write acknowledged by the
 * cluster (a probe write sent every 20 ms to the survivors, whichever is acknowledged first).
 * With --compare etcd, a 3-member etcd takes the same kills in the same run, alternating, with its
 * election timeout set to raft-kv's (heartbeat 50 ms, election 500 ms) so that the rows compare the
 * implementations, not their defaults.
 *
 * Then, on raft-kv under a steady write load, a follower is SIGKILLed (the supervisor restarts it)
 * and, separately, a follower's disk is lost (SIGKILL and its data directory removed before the
 * supervisor restarts it): the time until the cluster is whole again (3 voters answering, none
 * quarantined, no joint configuration) and the writes per second meanwhile, next to before.
 */
import { parseArgs } from "node:util";
import { ExperimentCluster } from "../lib/cluster_harness.ts";
import { EtcdCluster, type EtcdMember, etcdPut } from "../lib/etcd_cluster.ts";
import { barChart, type GroupedBar } from "../lib/charts.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import { BackgroundWriter, type LoadTarget, percentile, type SystemName, VALUE } from "../lib/load.ts";
import { wholeCluster } from "../lib/whole.ts";
import { benchUsage, compareEtcd, parsePositive } from "./args.ts";

const USAGE = "deno task bench failover [--quick] [--kills N] [--compare etcd] [--whole-timeout S]";
const RAFTKV_TICK_MS = 50;
const RAFTKV_ELECTION_TICKS = 10;
const ETCD_TIMING = { heartbeatMs: 50, electionMs: 500 };

interface KillRow {
  system: SystemName;
  kill: number;
  oldLeader: string;
  newLeader: string;
  newLeaderMs: number;
  firstWriteMs: number;
  loadAverage1m: number;
}

interface WholeRow {
  fault: "follower kill" | "disk loss";
  node: number;
  /** Undefined when the cluster was not whole again within the timeout. */
  wholeAfterMs?: number;
  timeoutMs: number;
  notWholeBecause?: string;
  writesPerSecBefore: number;
  writesPerSecDuring: number;
  p99MsBefore: number;
  p99MsDuring: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends a probe write every 20 ms (to the survivors in turn) until one is acknowledged: its time. */
async function firstAcknowledgedWrite(
  t0: number,
  send: (i: number, signal: AbortSignal) => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<number> {
  let done: number | undefined;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; done === undefined && performance.now() - t0 < timeoutMs; i++) {
    inFlight.push(
      send(i, AbortSignal.timeout(2000)).then((ok) => {
        if (ok && done === undefined) done = performance.now() - t0;
      }, () => {}),
    );
    await sleep(20);
  }
  await Promise.all(inFlight);
  if (done === undefined) throw new Error(`no write was acknowledged within ${timeoutMs} ms of the kill`);
  return done;
}

async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(10);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function killRaftKvLeader(c: ExperimentCluster, kill: number): Promise<KillRow> {
  await c.waitFor("every raft-kv node to answer", async () => (await wholeCluster(c)).whole, 60_000);
  const old = await c.leader();
  if (old === undefined) throw new Error("no raft-kv leader before the kill");
  const oldTerm = (await c.status(old))!.term as number;
  const survivors = c.nodes.filter((n) => n.id !== old);
  const t0 = performance.now();
  await c.sup.command(old, "kill");
  const leaderP = pollUntil("a new raft-kv leader", async () => {
    for (const n of survivors) {
      const s = await c.status(n.id);
      if (s?.role === "leader" && (s.term as number) > oldTerm) {
        return { id: n.id, at: performance.now() - t0 };
      }
    }
    return undefined;
  });
  const writeP = firstAcknowledgedWrite(t0, async (i, signal) => {
    const url = survivors[i % survivors.length].clientUrl;
    const r = await fetch(`${url}/kv/failover-probe`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ value: VALUE }),
      signal,
    });
    await r.arrayBuffer();
    return r.status === 200;
  });
  const [leader, firstWriteMs] = await Promise.all([leaderP, writeP]);
  return {
    system: "raft-kv",
    kill,
    oldLeader: `node ${old}`,
    newLeader: `node ${leader.id}`,
    newLeaderMs: Math.round(leader.at),
    firstWriteMs: Math.round(firstWriteMs),
    loadAverage1m: +Deno.loadavg()[0].toFixed(2),
  };
}

async function killEtcdLeader(e: EtcdCluster, kill: number): Promise<KillRow> {
  // Whole: every member runs and agrees on a leader.
  await pollUntil("every etcd member to see a leader", async () => {
    const seen = await Promise.all(e.members.map((m) => m.child ? e.leaderSeenBy(m) : undefined));
    return seen.every((l) => l && l === seen[0]) ? true : undefined;
  }, 60_000);
  const old = (await e.leader())!;
  const oldId = await e.leaderSeenBy(old);
  const survivors = e.members.filter((m) => m !== old);
  const t0 = performance.now();
  await e.kill(old);
  const leaderP = pollUntil("a new etcd leader", async () => {
    for (const m of survivors) {
      const l = await e.leaderSeenBy(m);
      if (l && l !== oldId) return { member: m, at: performance.now() - t0 };
    }
    return undefined;
  });
  const writeP = firstAcknowledgedWrite(
    t0,
    async (i, signal) =>
      await etcdPut(survivors[i % survivors.length].clientUrl, "failover-probe", VALUE, signal) === 200,
  );
  const [leader, firstWriteMs] = await Promise.all([leaderP, writeP]);
  e.restart(old);
  return {
    system: "etcd",
    kill,
    oldLeader: old.name,
    newLeader: await leaderName(e, leader.member),
    newLeaderMs: Math.round(leader.at),
    firstWriteMs: Math.round(firstWriteMs),
    loadAverage1m: +Deno.loadavg()[0].toFixed(2),
  };
}

async function leaderName(e: EtcdCluster, seenBy: EtcdMember): Promise<string> {
  const l = await e.leader();
  return l?.name ?? `(leader id ${await e.leaderSeenBy(seenBy)})`;
}

/** A follower fault under load: the time until the cluster is whole again, and the writes meanwhile. */
async function wholeAgain(
  c: ExperimentCluster,
  fault: WholeRow["fault"],
  timeoutMs: number,
): Promise<WholeRow> {
  await c.waitFor("the raft-kv cluster to be whole", async () => (await wholeCluster(c)).whole, 60_000);
  let target: LoadTarget = { system: "raft-kv", leaderUrl: await c.leaderUrl(), readUrls: c.endpoints() };
  const refresh = setInterval(() => {
    c.leaderUrl().then((leaderUrl) => target = { ...target, leaderUrl }, () => {});
  }, 200);
  const writer = new BackgroundWriter(() => target, 4);
  writer.start();
  try {
    await sleep(3000);
    const leader = await c.leader();
    const victim = c.nodes.find((n) => n.id !== leader)!;
    const t0 = performance.now();
    if (fault === "disk loss") {
      // As `deno task fault wipe`: paused, so nothing is written between the removal and the kill;
      // the supervisor restarts it 200 ms later with an empty data directory under the same id.
      await c.sup.command(victim.id, "pause");
      await Deno.remove(victim.dataDir, { recursive: true });
      await c.sup.command(victim.id, "kill");
      console.log(`  disk loss: node ${victim.id} paused, ${victim.dataDir} removed, SIGKILL`);
    } else {
      await c.sup.command(victim.id, "kill");
      console.log(`  follower kill: SIGKILL node ${victim.id}`);
    }
    let last = { whole: false, why: "" };
    while (performance.now() - t0 < timeoutMs) {
      await sleep(100);
      last = await wholeCluster(c);
      if (last.whole) break;
    }
    const t1 = performance.now();
    const before = writer.window(t0 - 3000, t0);
    const during = writer.window(t0, t1);
    return {
      fault,
      node: victim.id,
      wholeAfterMs: last.whole ? Math.round(t1 - t0) : undefined,
      timeoutMs,
      notWholeBecause: last.whole ? undefined : last.why,
      writesPerSecBefore: before.opsPerSec,
      writesPerSecDuring: during.opsPerSec,
      p99MsBefore: before.p99Ms,
      p99MsDuring: during.p99Ms,
    };
  } finally {
    clearInterval(refresh);
    await writer.stop();
  }
}

function stats(xs: number[]) {
  const sorted = Float64Array.from(xs).sort();
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] };
}

export async function run(args: string[]): Promise<void> {
  const { values } = benchUsage(USAGE, () =>
    parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        kills: { type: "string" },
        compare: { type: "string" },
        "whole-timeout": { type: "string" },
        help: { type: "boolean", default: false },
      },
    }));
  const quick = values.quick!;
  const kills = parsePositive("--kills", values.kills ?? (quick ? "2" : "10"));
  const wholeTimeoutMs = 1000 *
    parsePositive("--whole-timeout", values["whole-timeout"] ?? (quick ? "8" : "60"));
  const withEtcd = await compareEtcd(values.compare);

  console.log(
    `failover: a 3-node raft-kv cluster${withEtcd ? " and a 3-member etcd" : ""}; ${kills} leader kills each`,
  );
  const raftkv = await ExperimentCluster.start({
    replicas: 3,
    mode: "safe",
    faultInjection: false,
    tickMs: RAFTKV_TICK_MS,
  });
  let etcd: EtcdCluster | undefined;
  const rows: KillRow[] = [];
  const whole: WholeRow[] = [];
  try {
    if (withEtcd) etcd = await EtcdCluster.start(3, ETCD_TIMING);
    console.log("kill  system   old leader -> new leader   new leader ms  first write ms");
    for (let k = 1; k <= kills; k++) {
      const order: SystemName[] = etcd ? (k % 2 ? ["raft-kv", "etcd"] : ["etcd", "raft-kv"]) : ["raft-kv"];
      for (const system of order) {
        const r = system === "raft-kv" ? await killRaftKvLeader(raftkv, k) : await killEtcdLeader(etcd!, k);
        rows.push(r);
        console.log(
          `${String(k).padStart(4)}  ${system.padEnd(7)}  ${`${r.oldLeader} -> ${r.newLeader}`.padEnd(24)} ${
            String(r.newLeaderMs).padStart(13)
          } ${String(r.firstWriteMs).padStart(15)}`,
        );
      }
    }
    for (const fault of ["follower kill", "disk loss"] as const) {
      console.log(`${fault} under 4 writers (until whole again, at most ${wholeTimeoutMs / 1000} s)`);
      const r = await wholeAgain(raftkv, fault, wholeTimeoutMs);
      whole.push(r);
      console.log(
        `  ${fault}: ${
          r.wholeAfterMs !== undefined
            ? `whole again after ${r.wholeAfterMs} ms`
            : `NOT whole after ${r.timeoutMs / 1000} s (${r.notWholeBecause})`
        }; writes/s ${r.writesPerSecBefore} before, ${r.writesPerSecDuring} during`,
      );
    }
  } finally {
    await raftkv.stop();
    await etcd?.stop();
  }

  const systems = [...new Set(rows.map((r) => r.system))];
  const summary = systems.map((system) => {
    const mine = rows.filter((r) => r.system === system);
    return {
      system,
      kills: mine.length,
      newLeaderMs: stats(mine.map((r) => r.newLeaderMs)),
      firstWriteMs: stats(mine.map((r) => r.firstWriteMs)),
    };
  });
  const setup = {
    members: 3,
    kills,
    raftkv: {
      tickMs: RAFTKV_TICK_MS,
      electionTicks: RAFTKV_ELECTION_TICKS,
      electionTimeoutMs: `${RAFTKV_TICK_MS * RAFTKV_ELECTION_TICKS}-${
        2 * RAFTKV_TICK_MS * RAFTKV_ELECTION_TICKS
      } (randomized)`,
      restartAfterKillMs: 200,
    },
    etcd: etcd
      ? { version: etcd.version, ...ETCD_TIMING, electionTimeoutMs: "500-1000 (randomized)" }
      : "not compared",
    probes:
      "leader polled every 10 ms on the survivors; a probe write sent every 20 ms to the survivors in turn",
    wholeMeans: "3 voters, every voter answering /status and not quarantined, no joint configuration",
    wholeTimeoutMs,
    quick,
  };
  const bars: GroupedBar[] = summary.flatMap((s) => [
    {
      group: "new leader",
      system: s.system,
      value: s.newLeaderMs.p50,
      high: s.newLeaderMs.max,
    },
    {
      group: "first acknowledged write",
      system: s.system,
      value: s.firstWriteMs.p50,
      high: s.firstWriteMs.max,
    },
  ]);
  for (const w of whole) {
    if (w.wholeAfterMs !== undefined) {
      bars.push({ group: `${w.fault}: whole`, system: "raft-kv", value: w.wholeAfterMs });
    }
  }
  const notWhole = whole.filter((w) => w.wholeAfterMs === undefined);
  const killTable = markdownTable(
    ["system", "kills", "new leader p50 / p99 / max ms", "first write p50 / p99 / max ms"],
    summary.map((s) => [
      s.system,
      s.kills,
      [s.newLeaderMs.p50, s.newLeaderMs.p99, s.newLeaderMs.max].join(" / "),
      [s.firstWriteMs.p50, s.firstWriteMs.p99, s.firstWriteMs.max].join(" / "),
    ]),
  );
  const wholeTable = markdownTable(
    ["raft-kv fault", "whole again after", "writes/s before", "writes/s during", "p99 ms before / during"],
    whole.map((w) => [
      w.fault,
      w.wholeAfterMs !== undefined
        ? `${w.wholeAfterMs} ms`
        : `not within ${w.timeoutMs / 1000} s: ${w.notWholeBecause}`,
      w.writesPerSecBefore,
      w.writesPerSecDuring,
      `${w.p99MsBefore} / ${w.p99MsDuring}`,
    ]),
  );
  await writeResults("failover-times", { setup, summary, kills: rows, wholeAgain: whole }, {
    charts: {
      "": await barChart({
        title: "Failover after a SIGKILL",
        subtitle: `bars p50, whiskers max of ${kills} leader kills; election timeout 500-1000 ms in both${
          notWhole.length
            ? `; not whole within ${wholeTimeoutMs / 1000} s: ${notWhole.map((w) => w.fault).join(", ")}`
            : ""
        }`,
        yLabel: "milliseconds after the SIGKILL",
        logY: true,
        bars,
      }),
    },
    summary:
      `## Leader SIGKILL\n\n${killTable}\n\n## A follower's process or disk lost (raft-kv, under 4 writers)\n\n${wholeTable}\n\n` +
      `"Whole" means: ${setup.wholeMeans}.\n\nSettings: ${JSON.stringify(setup)}`,
  });
}
