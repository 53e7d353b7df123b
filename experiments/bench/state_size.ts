/**
 * deno task bench state-size [--sizes 10000,200000] [--value-bytes 500] [--seconds 30]
 *                            [--clients 64] [--compare etcd]
 *
 * Issue 17's state-size sweep: for each size, a fresh 3-member raft-kv cluster (and, with
 * `--compare etcd`, a fresh 3-member etcd, one after the other in the same run) is loaded with
 * that many keys of `--value-bytes` (in batches through Raft: raft-kv POST /kv-batch, etcd a Txn
 * of puts), then takes `--clients` closed-loop writers on random existing keys for `--seconds`,
 * then as many linearizable readers for half as long, then a follower is stopped for a few
 * seconds of writes and restarted. Reported per system and size: ops/s, p50/p99/p99.9/max, peak
 * RSS per member (ps, sampled every second from the start of loading), the restarted follower's
 * catch-up time, and for raft-kv the snapshots taken during the run with their size and how long
 * encoding and saving took (from the node logs). Writes bench-results/state-size.{json,md,svg}
 * (and -latency.svg, -rss.svg); `--render <json>` redraws them from a previous run's results.
 */
import { parseArgs } from "node:util";
import { ExperimentCluster } from "../lib/cluster_harness.ts";
import { EtcdCluster, type EtcdMember, etcdPutMany, etcdRaftIndexes } from "../lib/etcd_cluster.ts";
import { fetchNodeStatus } from "../../src/client/mod.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import { barChart } from "../lib/charts.ts";
import { closedLoopOf, type LatencySummary, readOnce, type SystemName, writeOnce } from "../lib/load.ts";
import { benchUsage, compareEtcd, parseList, parsePositive } from "./args.ts";
import { scrapeStages, stageDelta, type StageSummary } from "./stage_breakdown.ts";
import { WRITE_STAGES } from "../../src/kv/write_stages.ts";

const USAGE = "deno task bench state-size [--sizes 10000,200000] [--value-bytes 500] [--seconds 30] " +
  "[--clients 64] [--compare etcd] | --render bench-results/state-size.json";

interface Target {
  system: SystemName;
  leaderUrl: string;
  readUrls: string[];
  /** Each member's current pid (a restarted member gets a new one). */
  pids(): number[];
  /** Bulk loading: many puts in one request (raft-kv POST /kv-batch, etcd a Txn of puts). */
  putMany(pairs: Array<[string, string]>, session: { id: string; seq: number }): Promise<boolean>;
  /**
   * Stops a follower, lets `whileDown` run (writes go on), restarts it, and returns how long it
   * took from the restart until it applied everything committed when it came back.
   */
  restartFollower(whileDown: () => Promise<void>): Promise<number>;
  /** After loading: waits until no member is taking a snapshot (raft-kv); resolves with the seconds waited. */
  settle(): Promise<number>;
  /** raft-kv: each member's base URL, for its /metrics (stage histograms, event-loop stalls). */
  metricsUrls?: string[];
}

interface Row {
  system: SystemName;
  keys: number;
  valueBytes: number;
  loadSeconds: number;
  writes: LatencySummary;
  reads: LatencySummary;
  peakRssMBPerMember: number[];
  /** The same, per phase: load (and settling), writes, reads, catchUp (a follower restarted). */
  peakRssMBByPhase?: Record<string, number[]>;
  /** Seconds waited after loading for the snapshots the load triggered to finish (raft-kv; 0 for etcd). */
  settleSeconds: number;
  /** A follower stopped for a few seconds of writes, then restarted: until it applied the commit index. */
  followerCatchUpMs: number;
  snapshots: Array<{ index: number; bytes: number; encodeMs: number; saveMs: number }>;
  /**
   * raft-kv, the writes phase: each stage of a write (src/kv/write_stages.ts) summed over the
   * members, with p99.9, so that the tail is placed stage by stage; and per member, how often its
   * event loop was blocked for longer than 25 ms, and longer than 50 ms.
   */
  writeStages?: Record<string, StageSummary>;
  eventLoopStalls?: Array<{ over25ms: number; over50ms: number }>;
  loadAverage1m: number;
}

function valueOf(n: number, bytes: number): string {
  return `${n}:`.padEnd(bytes, "v");
}

/**
 * Peak RSS (MB) per member, sampled with ps every second until stopped (pids re-read each time),
 * overall and per phase (`phase(name)` starts one): where the peak happens.
 */
function rssSampler(currentPids: () => number[]): {
  phase(name: string): void;
  stop(): Promise<{ peak: number[]; byPhase: Record<string, number[]> }>;
} {
  const peak = currentPids().map(() => 0);
  const byPhase: Record<string, number[]> = {};
  let phasePeak = peak.map(() => 0);
  byPhase.load = phasePeak;
  let running = true;
  const loop = (async () => {
    while (running) {
      // A member being restarted has no process (pid 0) for a moment: skip it.
      const pids = currentPids().map((pid) => pid > 0 ? pid : -1);
      const out = await new Deno.Command("ps", {
        args: ["-o", "pid=,rss=", "-p", pids.filter((pid) => pid > 0).join(",")],
        stdout: "piped",
      })
        .output();
      for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
        const [pid, rssKb] = line.trim().split(/\s+/).map(Number);
        const i = pids.indexOf(pid);
        if (i >= 0 && Number.isFinite(rssKb)) {
          peak[i] = Math.max(peak[i], rssKb / 1024);
          phasePeak[i] = Math.max(phasePeak[i], rssKb / 1024);
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    phase(name) {
      phasePeak = peak.map(() => 0);
      byPhase[name] = phasePeak;
    },
    async stop() {
      running = false;
      await loop;
      const round = (a: number[]) => a.map((p) => Math.round(p));
      return {
        peak: round(peak),
        byPhase: Object.fromEntries(Object.entries(byPhase).map(([k, v]) => [k, round(v)])),
      };
    },
  };
}

const SNAPSHOT_LINE = /snapshot at index (\d+) \((\d+) bytes; encoded in (\d+) ms, saved in (\d+) ms\)/;

async function snapshotsInLogs(files: string[]): Promise<Row["snapshots"]> {
  const found: Row["snapshots"] = [];
  for (const f of files) {
    const text = await Deno.readTextFile(f).catch(() => "");
    for (const line of text.split("\n")) {
      const m = SNAPSHOT_LINE.exec(line);
      if (m) found.push({ index: +m[1], bytes: +m[2], encodeMs: +m[3], saveMs: +m[4] });
    }
  }
  return found;
}

async function measure(
  target: Target,
  keys: number,
  valueBytes: number,
  clients: number,
  seconds: number,
): Promise<Omit<Row, "snapshots">> {
  const sampler = rssSampler(target.pids);
  const t0 = performance.now();
  let next = 0, loadErrors = 0, lastReport = t0;
  // Batches through Raft (one log entry per batch on raft-kv, one Txn on etcd), a few at a time:
  // a million keys load in minutes instead of a million round trips.
  const batch = target.system === "etcd" ? ETCD_LOAD_BATCH : RAFTKV_LOAD_BATCH;
  await Promise.all(Array.from({ length: LOADERS }, async () => {
    const session = { id: `state-size-load-${crypto.randomUUID()}`, seq: 0 };
    while (next < keys) {
      const from = next;
      next = Math.min(keys, next + batch);
      const pairs: Array<[string, string]> = [];
      for (let i = from; i < next; i++) pairs.push([`key-${i}`, valueOf(i, valueBytes)]);
      // A failed batch is retried (same session sequence), so every key exists when measuring starts.
      session.seq++;
      while (!(await target.putMany(pairs, session).catch(() => false))) {
        if (++loadErrors > 100) throw new Error(`loading ${target.system} failed 100 times`);
        await new Promise((r) => setTimeout(r, 200));
      }
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        console.log(`  ${target.system}: ${next} of ${keys} keys loaded`);
      }
    }
  }));
  const loadSeconds = (performance.now() - t0) / 1000;
  console.log(`  ${target.system}: loaded ${keys} keys in ${loadSeconds.toFixed(1)} s`);
  // Writes are measured in steady state: once the snapshots the load itself triggered are done
  // (with a large state each takes seconds of CPU, and all members take theirs at about once).
  const settleSeconds = await target.settle();
  if (settleSeconds > 0) {
    console.log(`  ${target.system}: snapshots after loading took ${settleSeconds.toFixed(1)} s more`);
  }
  const random = () => `key-${Math.floor(Math.random() * keys)}`;
  let n = 0;
  sampler.phase("writes");
  const urls = target.metricsUrls ?? [];
  const [stagesBefore, stallsBefore] = await Promise.all([scrapeStages(urls), scrapeStalls(urls)]);
  const writes = await closedLoopOf(
    undefined,
    clients,
    seconds,
    0,
    (pool, _w, s) => writeOnce(pool, target, random(), valueOf(n++, valueBytes), s),
  );
  const [stagesAfter, stallsAfter] = await Promise.all([scrapeStages(urls), scrapeStalls(urls)]);
  const writeStages = urls.length ? stageDelta(stagesBefore, stagesAfter) : undefined;
  const eventLoopStalls = urls.length ? stallsAfter.map((a, i) => stallDelta(stallsBefore[i], a)) : undefined;
  if (writeStages) {
    console.log(`  ${target.system}: write stages (p50 / p99 / p99.9 ms):`);
    for (const stage of [...WRITE_STAGES, "follower_append_to_ack"]) {
      const v = writeStages[stage];
      if (v) console.log(`    ${stage.padEnd(24)} ${v.p50Ms} / ${v.p99Ms} / ${v.p999Ms} (n=${v.count})`);
    }
    console.log(
      `  ${target.system}: event-loop stalls over 25 ms / over 50 ms per member: ${
        eventLoopStalls!.map((s) => `${s.over25ms}/${s.over50ms}`).join(", ")
      }`,
    );
  }
  sampler.phase("reads");
  const reads = await closedLoopOf(
    undefined,
    clients,
    seconds / 2,
    0,
    (pool, w) => readOnce(pool, target, target.readUrls[w % target.readUrls.length], random()),
  );
  // A follower down for a few seconds of writes, then restarted: how long until it caught up.
  sampler.phase("catchUp");
  const followerCatchUpMs = await target.restartFollower(async () => {
    await closedLoopOf(
      undefined,
      clients,
      FOLLOWER_DOWN_SECONDS,
      0,
      (pool, _w, s) => writeOnce(pool, target, random(), valueOf(n++, valueBytes), s),
    );
  });
  console.log(`  ${target.system}: restarted follower caught up in ${followerCatchUpMs.toFixed(0)} ms`);
  const { peak: peakRssMBPerMember, byPhase: peakRssMBByPhase } = await sampler.stop();
  console.log(
    `  ${target.system}: peak RSS per member by phase (MB): ${
      Object.entries(peakRssMBByPhase).map(([phase, mb]) => `${phase} ${mb.join("/")}`).join(", ")
    }`,
  );
  const row = {
    system: target.system,
    keys,
    valueBytes,
    loadSeconds,
    writes,
    reads,
    peakRssMBPerMember,
    peakRssMBByPhase,
    settleSeconds,
    followerCatchUpMs,
    ...(writeStages ? { writeStages, eventLoopStalls } : {}),
    loadAverage1m: +Deno.loadavg()[0].toFixed(2),
  };
  console.log(
    `  ${target.system}: writes ${writes.opsPerSec.toFixed(0)}/s p50 ${writes.p50Ms.toFixed(1)} p99 ${
      writes.p99Ms.toFixed(1)
    } p99.9 ${writes.p999Ms.toFixed(1)} max ${writes.maxMs.toFixed(0)} ms (${writes.errors} errors); reads ${
      reads.opsPerSec.toFixed(0)
    }/s p99 ${reads.p99Ms.toFixed(1)} ms; peak RSS ${peakRssMBPerMember.join("/")} MB`,
  );
  return row;
}

export async function run(args: string[]): Promise<void> {
  const { values } = benchUsage(USAGE, () =>
    parseArgs({
      args,
      options: {
        sizes: { type: "string", default: "10000,200000" },
        "value-bytes": { type: "string", default: "500" },
        seconds: { type: "string", default: "30" },
        clients: { type: "string", default: "64" },
        compare: { type: "string" },
        render: { type: "string" },
        help: { type: "boolean" },
      },
    }));
  if (values.render) {
    // Charts and table again from a previous run's JSON (its measured rows), without measuring.
    return await writeStateSize(JSON.parse(await Deno.readTextFile(values.render)) as StateSizeResult);
  }
  const sizes = parseList("--sizes", values.sizes!);
  const valueBytes = parsePositive("--value-bytes", values["value-bytes"]!);
  const seconds = parsePositive("--seconds", values.seconds!);
  const clients = parsePositive("--clients", values.clients!);
  const withEtcd = await compareEtcd(values.compare);
  const rows: Row[] = [];
  for (const keys of sizes) {
    console.log(
      `${keys} keys x ${valueBytes} B, ${clients} clients, load average ${Deno.loadavg()[0].toFixed(1)}`,
    );
    const raftkv = await ExperimentCluster.start({ replicas: 3, mode: "safe", faultInjection: false });
    try {
      const leaderUrl = await raftkv.leaderUrl();
      const target: Target = {
        system: "raft-kv",
        leaderUrl,
        readUrls: raftkv.endpoints(),
        pids: () => raftkv.nodes.map((n) => n.pid!),
        putMany: (pairs, session) => raftkvPutMany(leaderUrl, pairs, session),
        restartFollower: (whileDown) => restartRaftKvFollower(raftkv, leaderUrl, whileDown),
        settle: () => noSnapshotInProgress(raftkv.endpoints()),
        metricsUrls: raftkv.endpoints(),
      };
      const row = await measure(target, keys, valueBytes, clients, seconds);
      rows.push({ ...row, snapshots: await snapshotsInLogs(raftkv.nodes.map((n) => n.logFile)) });
    } finally {
      await raftkv.stop();
    }
    if (!withEtcd) continue;
    const etcd = await EtcdCluster.start();
    try {
      const leader = await etcd.waitForLeader(10_000);
      const target: Target = {
        system: "etcd",
        leaderUrl: leader.clientUrl,
        readUrls: etcd.members.map((m) => m.clientUrl),
        pids: () => etcd.members.map((m) => m.child?.pid ?? 0),
        putMany: async (pairs) =>
          (await etcdPutMany(leader.clientUrl, pairs, AbortSignal.timeout(30_000))) === 200,
        restartFollower: (whileDown) => restartEtcdFollower(etcd, leader, whileDown),
        settle: () => Promise.resolve(0),
      };
      rows.push({ ...await measure(target, keys, valueBytes, clients, seconds), snapshots: [] });
    } finally {
      await etcd.stop();
    }
  }
  await writeStateSize({ valueBytes, seconds, clients, rows });
}

/** Keys per load request: raft-kv takes up to 10,000 per batch; etcd 128 operations per Txn by default. */
const RAFTKV_LOAD_BATCH = 500;
const ETCD_LOAD_BATCH = 128;
/** Load requests in flight at once. */
const LOADERS = 8;
/** How long the restarted follower stays down while writes go on. */
const FOLLOWER_DOWN_SECONDS = 5;

async function raftkvPutMany(
  url: string,
  pairs: Array<[string, string]>,
  session: { id: string; seq: number },
): Promise<boolean> {
  const r = await fetch(`${url}/kv-batch`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-client-id": session.id,
      "x-request-seq": String(session.seq),
    },
    body: JSON.stringify({ puts: pairs.map(([key, value]) => ({ key, value })) }),
    signal: AbortSignal.timeout(30_000),
  });
  await r.arrayBuffer();
  return r.status === 200;
}

async function until(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  pollMs = 50,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Each member's event-loop stall histogram (raftkv_event_loop_stall_seconds): cumulative counts
 * by upper bound (undefined for a member that did not answer).
 */
async function scrapeStalls(urls: string[]): Promise<Array<Map<number, number> | undefined>> {
  return await Promise.all(urls.map(async (url) => {
    try {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      const buckets = new Map<number, number>();
      for (const m of text.matchAll(/^raftkv_event_loop_stall_seconds_bucket\{le="([^"]+)"\}\s+(\S+)$/gm)) {
        buckets.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
      }
      return buckets;
    } catch {
      return undefined;
    }
  }));
}

/** Stalls longer than 25 ms and longer than 50 ms between two scrapes of one member (-1: unknown). */
function stallDelta(
  before: Map<number, number> | undefined,
  after: Map<number, number> | undefined,
): { over25ms: number; over50ms: number } {
  if (!before || !after || !after.has(Infinity)) return { over25ms: -1, over50ms: -1 };
  const over = (le: number) =>
    (after.get(Infinity)! - (after.get(le) ?? 0)) - ((before.get(Infinity) ?? 0) - (before.get(le) ?? 0));
  // Buckets count stalls of at most `le` seconds: the total minus bucket 0.025 is those above 25 ms.
  return { over25ms: over(0.025), over50ms: over(0.05) };
}

/** Waits (up to 5 minutes) until no member reports a snapshot in progress; returns the seconds waited. */
async function noSnapshotInProgress(urls: string[]): Promise<number> {
  const t0 = performance.now();
  const busy = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    return /^raftkv_snapshot_in_progress 1$/m.test(text);
  };
  await until("the members' snapshots to finish", async () => {
    const states = await Promise.all(urls.map((u) => busy(u).catch(() => true)));
    return !states.includes(true);
  }, 300_000);
  return (performance.now() - t0) / 1000;
}

async function restartRaftKvFollower(
  cluster: ExperimentCluster,
  leaderUrl: string,
  whileDown: () => Promise<void>,
): Promise<number> {
  const follower = cluster.nodes.find((n) => n.clientUrl !== leaderUrl)!;
  const status = (url: string) => fetchNodeStatus<{ commit: number; applied: number }>(url, 2000);
  // Down (SIGSTOP) while writes go on, then SIGKILL: the supervisor starts it again after its
  // first backoff (200 ms), and it recovers from its WAL and snapshot and catches up. The clock starts
  // when the new process is spawned, as etcd's starts at its restart: the backoff is the supervisor's.
  await cluster.sup.command(follower.id, "pause");
  await whileDown();
  const target = (await status(leaderUrl))?.commit ?? 0;
  const oldPid = follower.pid;
  await cluster.sup.command(follower.id, "kill");
  await until(
    `raft-kv node ${follower.id} to be started again`,
    () => {
      const pid = cluster.node(follower.id).pid;
      return Promise.resolve(pid !== undefined && pid !== oldPid);
    },
    30_000,
    5,
  );
  const t0 = performance.now();
  await until(
    `raft-kv node ${follower.id} to apply ${target}`,
    async () => ((await status(follower.clientUrl))?.applied ?? 0) >= target,
    300_000,
  );
  return performance.now() - t0;
}

async function restartEtcdFollower(
  etcd: EtcdCluster,
  leader: EtcdMember,
  whileDown: () => Promise<void>,
): Promise<number> {
  const follower = etcd.members.find((m) => m !== leader)!;
  await etcd.kill(follower);
  await whileDown();
  const target = (await etcdRaftIndexes(leader.clientUrl))?.raftIndex ?? 0;
  const t0 = performance.now();
  etcd.restart(follower);
  await until(
    `etcd ${follower.name} to apply ${target}`,
    async () => ((await etcdRaftIndexes(follower.clientUrl))?.appliedIndex ?? 0) >= target,
    300_000,
  );
  return performance.now() - t0;
}

interface StateSizeResult {
  /** The machine of the measuring run (kept when the results are rendered again). */
  machine?: { date: string; loadAverage?: number[] };
  valueBytes: number;
  seconds: number;
  clients: number;
  rows: Row[];
}

/** JSON, markdown table and charts (bars per size, one colour per system). */
async function writeStateSize(result: StateSizeResult): Promise<void> {
  const { machine, valueBytes, seconds, clients, rows } = result;
  const table = markdownTable(
    [
      "system",
      "keys",
      "writes/s",
      "p50 ms",
      "p99 ms",
      "p99.9 ms",
      "max ms",
      "reads/s",
      "read p99 ms",
      "peak RSS/member MB",
      "follower catch-up s",
      "snapshots (encode+save ms)",
    ],
    rows.map((r) => [
      r.system,
      r.keys,
      r.writes.opsPerSec.toFixed(0),
      r.writes.p50Ms.toFixed(1),
      r.writes.p99Ms.toFixed(1),
      r.writes.p999Ms.toFixed(1),
      r.writes.maxMs.toFixed(0),
      r.reads.opsPerSec.toFixed(0),
      r.reads.p99Ms.toFixed(1),
      r.peakRssMBPerMember.join(" / "),
      r.followerCatchUpMs === undefined ? "n/a" : (r.followerCatchUpMs / 1000).toFixed(1),
      r.system === "etcd"
        ? "n/a"
        : r.snapshots.map((s) => `${(s.bytes / 1048576).toFixed(0)} MB ${s.encodeMs}+${s.saveMs}`).join(
          ", ",
        ) ||
          "none",
    ]),
  );
  console.log(table);
  const stageRows = rows.filter((r) => r.writeStages);
  const stageNames = [...WRITE_STAGES, "follower_append_to_ack"].filter((s) =>
    stageRows.some((r) => r.writeStages![s])
  );
  const stageTable = stageRows.length === 0
    ? ""
    : "\n\nraft-kv's writes stage by stage (src/kv/write_stages.ts; " +
      "p50 / p99 / p99.9 ms from the members' histograms over the writes phase, interpolated within buckets " +
      "bounded at 20, 50, 100 and 250 ms), and the event-loop stalls over 25 / over 50 ms per member:\n\n" +
      markdownTable(
        ["keys", ...stageNames, "stalls >25 / >50 ms"],
        stageRows.map((r) => [
          r.keys,
          ...stageNames.map((s) => {
            const v = r.writeStages![s];
            return v ? `${v.p50Ms.toFixed(2)} / ${v.p99Ms.toFixed(1)} / ${v.p999Ms.toFixed(1)}` : "n/a";
          }),
          (r.eventLoopStalls ?? []).map((x) => `${x.over25ms}/${x.over50ms}`).join(", "),
        ]),
      );
  if (stageTable) console.log(stageTable);
  const group = (r: Row) => `${r.keys.toLocaleString("en")} keys`;
  const subtitle = `${valueBytes} B values, ${clients} closed-loop clients, 3 members on loopback, fsync on`;
  const rendered = machine
    ? `\n\n(Charts and table rendered again from the run measured ${machine.date}, load average ${
      machine.loadAverage?.map((l) => l.toFixed(2)).join(", ")
    }; the line above is the rendering machine.)`
    : "";
  await writeResults("state-size", { ...(machine ? { machine } : {}), valueBytes, seconds, clients, rows }, {
    charts: {
      "": await barChart({
        title: "Writes/s as the state grows",
        subtitle,
        yLabel: "writes/s",
        bars: rows.map((r) => ({ group: group(r), system: r.system, value: r.writes.opsPerSec })),
      }),
      latency: await barChart({
        title: "Write latency as the state grows",
        subtitle: `bars p99, whiskers max; ${subtitle}`,
        yLabel: "milliseconds",
        logY: true,
        bars: rows.map((r) => ({
          group: group(r),
          system: r.system,
          value: r.writes.p99Ms,
          high: r.writes.maxMs,
        })),
      }),
      rss: await barChart({
        title: "Peak RSS per member as the state grows",
        subtitle: `bars the largest member, ${subtitle}`,
        yLabel: "MB",
        bars: rows.map((r) => ({
          group: group(r),
          system: r.system,
          value: Math.max(...r.peakRssMBPerMember),
        })),
      }),
    },
    summary:
      `${valueBytes}-byte values, ${clients} closed-loop clients, ${seconds} s of writes then ${
        seconds / 2
      } s of linearizable reads per row; 3 members on loopback, fsync on. Keys are loaded in batches through ` +
      `Raft (raft-kv POST /kv-batch of 500, etcd Txn of 128); raft-kv's writes are measured once the ` +
      `snapshots the load triggered are done. Follower catch-up: a follower is stopped for ${FOLLOWER_DOWN_SECONDS} s ` +
      `of writes, then restarted; the time from the start of its new process until it applied the leader's commit index (raft-kv's supervisor waits 200 ms before restarting; that wait is not counted). ` +
      `Snapshots: size on disk, then encode+save ms, every snapshot any member took during the row.\n\n${table}${stageTable}${rendered}`,
  });
}
