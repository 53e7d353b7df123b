/**
 * deno task bench steady [--quick] [--compare etcd] [--seconds S] [--levels 1,8,64,256]
 *                        [--rates 500,1000,...] [--rounds N] [--ops writes|reads|both]
 *
 * A 3-node local raft-kv cluster (real processes, WAL with fdatasync, loopback TCP) under
 * - a closed loop: N concurrent clients, each waiting for its answer (throughput and latency by
 *   concurrency), writes to the leader and linearizable reads spread over every node;
 * - an open loop: requests at fixed offered rates whatever the answers, to find the knee (the
 *   highest rate still served in full) and the latency below and above it.
 * With `--compare etcd`, a 3-member etcd 3.4 on loopback takes the same load in the same run, the
 * two systems alternating row by row (and their order swapping each round) so that the drift of
 * a shared machine hits both. With writes at 1 client, the floor of a lone client's write on this
 * machine is measured first (experiments/lib/latency_floor.ts) and each 1-client write row is set
 * against it part by part (write_floor_gap.ts). Writes bench-results/throughput-vs-qps.{json,md,svg}
 * and latency-percentiles.{json,md,svg}.
 */
import { parseArgs } from "node:util";
import { ExperimentCluster } from "../lib/cluster_harness.ts";
import { EtcdCluster } from "../lib/etcd_cluster.ts";
import { lineChart, type Series } from "../lib/charts.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import {
  closedLoop,
  KEYS,
  type LatencySummary,
  type LoadTarget,
  median,
  openLoop,
  type OpenLoopResult,
  type OpKind,
  type SystemName,
} from "../lib/load.ts";
import { benchUsage, compareEtcd, parseList, parsePositive } from "./args.ts";
import { formatStages, scrapeStages, stageDelta, type StageSummary } from "./stage_breakdown.ts";
import { cpuWindow } from "../lib/process_cpu.ts";
import { KIND_LABEL, steadyClosedTable, type SteadySummaryRow } from "./steady_table.ts";
import { describeFloor, type LatencyFloor, measureLatencyFloor } from "../lib/latency_floor.ts";
import { type FloorGapRow, floorGapTable, formatFloorGap, writeFloorGap } from "./write_floor_gap.ts";

interface ClosedRow extends LatencySummary {
  round: number;
  system: SystemName;
  kind: OpKind;
  clients: number;
  loadAverage1m: number;
  /** raft-kv only: per-stage latency from the nodes' /metrics over the row (warm-up included). */
  stages?: Record<string, StageSummary>;
  /** CPU time (user + system) each member used per operation over the counted stretch, in µs. */
  cpuUsPerOp?: Array<number | undefined>;
  /** raft-kv writes at 1 client: each part of the write against the floor measured in this run. */
  floorGap?: FloorGapRow[];
}

interface OpenRow extends OpenLoopResult {
  system: SystemName;
  kind: OpKind;
  loadAverage1m: number;
}

const USAGE = "deno task bench steady [--quick] [--compare etcd] [--seconds S] [--levels 1,8,64,256] " +
  "[--rates R1,R2,...] [--rounds N] [--ops writes|reads|both]";

const WARMUP_MS = 500;

function load1m(): number {
  return +Deno.loadavg()[0].toFixed(2);
}

export async function run(args: string[]): Promise<void> {
  const { values } = benchUsage(USAGE, () =>
    parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        compare: { type: "string" },
        seconds: { type: "string" },
        levels: { type: "string" },
        rates: { type: "string" },
        rounds: { type: "string" },
        ops: { type: "string", default: "both" },
        help: { type: "boolean", default: false },
      },
    }));
  const quick = values.quick!;
  const seconds = parsePositive("--seconds", values.seconds ?? (quick ? "1" : "5"));
  const levels = parseList("--levels", values.levels ?? (quick ? "1,16" : "1,8,64,256"));
  const rates = parseList(
    "--rates",
    values.rates ?? (quick ? "300,1500" : "500,1000,2000,4000,8000,12000,16000"),
  );
  const rounds = parsePositive("--rounds", values.rounds ?? (quick ? "1" : "2"));
  if (!["writes", "reads", "both"].includes(values.ops!)) {
    throw new Error(`--ops must be writes, reads or both, got "${values.ops}"`);
  }
  const kinds: OpKind[] = values.ops === "both"
    ? ["write", "read"]
    : [values.ops === "writes" ? "write" : "read"];
  const withEtcd = await compareEtcd(values.compare);

  // Measured first, on a quiet machine, in a directory beside the members' data (the system's
  // temporary directory, as ExperimentCluster's).
  let floor: LatencyFloor | undefined;
  if (kinds.includes("write") && levels.includes(1)) {
    floor = await measureLatencyFloor({ seconds: quick ? 0.5 : 2, progress: console.log });
    console.log(describeFloor(floor));
  }
  console.log(
    `steady: starting a 3-node raft-kv cluster${withEtcd ? " and a 3-member etcd" : ""} on loopback`,
  );
  const raftkv = await ExperimentCluster.start({ replicas: 3, mode: "safe", faultInjection: false });
  let etcd: EtcdCluster | undefined;
  const closed: ClosedRow[] = [];
  const open: OpenRow[] = [];
  try {
    if (withEtcd) etcd = await EtcdCluster.start();
    const target = async (system: SystemName): Promise<LoadTarget> =>
      system === "raft-kv" ? { system, leaderUrl: await raftkv.leaderUrl(), readUrls: raftkv.endpoints() } : {
        system,
        leaderUrl: (await etcd!.waitForLeader(5000)).clientUrl,
        readUrls: etcd!.members.map((m) => m.clientUrl),
      };
    const systems: SystemName[] = etcd ? ["raft-kv", "etcd"] : ["raft-kv"];
    const order = (round: number) => round % 2 === 0 ? systems : [...systems].reverse();
    console.log(
      `closed loop: ${rounds} round(s), ${seconds} s per row (+0.5 s warm-up), 100-byte values, ${KEYS} keys`,
    );
    console.log(
      "round  system   kind   clients    ops/s   p50 ms   p99 ms  p999 ms  errors  load  CPU us/op per member",
    );
    for (let round = 0; round < rounds; round++) {
      for (const kind of kinds) {
        for (const clients of levels) {
          for (const system of order(round)) {
            const before = system === "raft-kv" ? await scrapeStages(raftkv.endpoints()) : undefined;
            const cpu = cpuWindow(
              system === "raft-kv"
                ? raftkv.nodes.map((n) => n.pid ?? 0)
                : etcd!.members.map((m) => m.child?.pid ?? 0),
            );
            const r = await closedLoop(await target(system), kind, clients, seconds, WARMUP_MS, cpu);
            const stages = before ? stageDelta(before, await scrapeStages(raftkv.endpoints())) : undefined;
            const cpuUsPerOp = await cpu.perOperation(r.ops);
            const row: ClosedRow = {
              round,
              system,
              kind,
              clients,
              ...r,
              loadAverage1m: load1m(),
              stages,
              cpuUsPerOp,
            };
            closed.push(row);
            console.log(
              `${String(round + 1).padStart(5)}  ${system.padEnd(7)}  ${kind.padEnd(5)} ${
                String(clients).padStart(8)
              } ${String(r.opsPerSec).padStart(8)} ${r.p50Ms.toFixed(2).padStart(8)} ${
                r.p99Ms.toFixed(2).padStart(8)
              } ${r.p999Ms.toFixed(2).padStart(8)} ${String(r.errors).padStart(7)}  ${row.loadAverage1m}  ${
                cpuUsPerOp.map((us) => us ?? "-").join(" / ")
              }`,
            );
            if (stages) { for (const line of formatStages(stages)) console.log(line); }
            if (floor && system === "raft-kv" && kind === "write" && clients === 1) {
              row.floorGap = writeFloorGap(floor, r.p50Ms, stages);
              if (row.floorGap) { for (const line of formatFloorGap(row.floorGap)) console.log(line); }
            }
          }
        }
      }
    }
    console.log(`open loop: ${seconds} s per offered rate; latency counted from each request's due time`);
    console.log("system   kind   offered/s  served/s   p50 ms   p99 ms  p999 ms  errors  not sent");
    for (const kind of kinds) {
      for (const [i, rate] of rates.entries()) {
        for (const system of order(i)) {
          const r = await openLoop(await target(system), kind, rate, seconds);
          open.push({ system, kind, ...r, loadAverage1m: load1m() });
          console.log(
            `${system.padEnd(7)}  ${kind.padEnd(5)} ${String(rate).padStart(10)} ${
              String(r.opsPerSec).padStart(9)
            } ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${
              r.p999Ms.toFixed(2).padStart(8)
            } ${String(r.errors).padStart(7)} ${String(r.notSent).padStart(9)}`,
          );
        }
      }
    }
  } finally {
    await raftkv.stop();
    await etcd?.stop();
  }
  await report(closed, open, floor, {
    nodes: 3,
    valueBytes: 100,
    keys: KEYS,
    secondsPerRow: seconds,
    warmupMs: 500,
    rounds,
    levels,
    offeredRates: rates,
    fsync: true,
    transport: "loopback TCP, keep-alive HTTP/1.1 (etcd through its JSON gateway /v3/kv)",
    client: "experiments/lib/http1_client.ts, one connection per client, for both systems",
    writesTo: "the leader",
    readsTo: "every member in turn (linearizable: ReadIndex on raft-kv, etcd's default range)",
    etcd: etcd ? { version: etcd.version, ...etcd.timing } : "not compared (run with --compare etcd)",
    quick,
  });
}

/** The CPU all members spent per operation (the median over rounds), undefined if a member was unread. */
function clusterCpu(rows: ClosedRow[]): number | undefined {
  const sums: number[] = [];
  for (const { cpuUsPerOp: cpu } of rows) {
    if (!cpu || cpu.some((us) => us === undefined)) return undefined;
    sums.push((cpu as number[]).reduce((a, b) => a + b, 0));
  }
  return sums.length ? +median(sums).toFixed(1) : undefined;
}

/** Per (system, kind, x): the rows of every round. */
function grouped<T extends { system: SystemName; kind: OpKind }>(rows: T[], x: (r: T) => number) {
  const out = new Map<string, { system: SystemName; kind: OpKind; x: number; rows: T[] }>();
  for (const r of rows) {
    const key = `${r.system}/${r.kind}/${x(r)}`;
    if (!out.has(key)) out.set(key, { system: r.system, kind: r.kind, x: x(r), rows: [] });
    out.get(key)!.rows.push(r);
  }
  return [...out.values()];
}

/** The knee: the highest offered rate still served at 95 % or more. */
function knee(rows: OpenRow[]): number | undefined {
  return rows.filter((r) => r.opsPerSec >= 0.95 * r.offeredPerSec).map((r) => r.offeredPerSec).sort((a, b) =>
    b - a
  )[0];
}

async function report(
  closed: ClosedRow[],
  open: OpenRow[],
  floor: LatencyFloor | undefined,
  setup: Record<string, unknown>,
): Promise<void> {
  const closedGroups = grouped(closed, (r) => r.clients);
  const openGroups = grouped(open, (r) => r.offeredPerSec);
  const systems = [...new Set(closed.map((r) => r.system))];
  const kinds = [...new Set(closed.map((r) => r.kind))];
  const find = (system: SystemName, kind: OpKind, x: number) =>
    closedGroups.find((g) => g.system === system && g.kind === kind && g.x === x);
  const summaryRows = closedGroups.filter((g) => g.system === "raft-kv").map((g): SteadySummaryRow => {
    const e = find("etcd", g.kind, g.x);
    const ours = median(g.rows.map((r) => r.opsPerSec));
    const theirs = e ? median(e.rows.map((r) => r.opsPerSec)) : undefined;
    return {
      kind: g.kind,
      clients: g.x,
      raftkvOpsPerSec: g.rows.map((r) => r.opsPerSec),
      etcdOpsPerSec: e?.rows.map((r) => r.opsPerSec),
      ratio: theirs ? +(ours / theirs).toFixed(2) : undefined,
      raftkvP50P99Ms: [median(g.rows.map((r) => r.p50Ms)), median(g.rows.map((r) => r.p99Ms))],
      etcdP50P99Ms: e ? [median(e.rows.map((r) => r.p50Ms)), median(e.rows.map((r) => r.p99Ms))] : undefined,
      raftkvCpuUsPerOp: clusterCpu(g.rows),
      etcdCpuUsPerOp: e ? clusterCpu(e.rows) : undefined,
    };
  });
  const knees = systems.flatMap((system) =>
    kinds.map((kind) => ({
      system,
      kind,
      kneeOpsPerSec: knee(open.filter((r) => r.system === system && r.kind === kind)),
    }))
  );

  const closedSeries = (metric: (r: ClosedRow) => number, variant: (k: OpKind) => string): Series[] =>
    systems.flatMap((system) =>
      kinds.map((kind) => ({
        system,
        variant: variant(kind),
        points: closedGroups.filter((g) => g.system === system && g.kind === kind)
          .map((g): [number, number] => [g.x, median(g.rows.map(metric))]),
      }))
    );
  const openSeries = (metric: (r: OpenRow) => number, label: string): Series[] =>
    systems.flatMap((system) =>
      kinds.map((kind) => ({
        system,
        variant: `${KIND_LABEL[kind]}${label}`,
        points: openGroups.filter((g) => g.system === system && g.kind === kind)
          .map((g): [number, number] => [g.x, median(g.rows.map(metric))]),
      }))
    );
  const subtitle = `3 members on loopback, fsync on, 100-byte values; ${
    systems.length > 1 ? "both systems measured in one run, alternating" : "raft-kv only"
  }`;
  const closedTable = steadyClosedTable(summaryRows);
  const openTable = markdownTable(
    ["system", "op", "offered/s", "served/s", "p50 ms", "p99 ms", "p99.9 ms", "not sent"],
    open.map((
      r,
    ) => [r.system, KIND_LABEL[r.kind], r.offeredPerSec, r.opsPerSec, r.p50Ms, r.p99Ms, r.p999Ms, r.notSent]),
  );
  const kneeLines = knees.map((k) =>
    `- ${k.system} ${KIND_LABEL[k.kind]}: served in full up to ${k.kneeOpsPerSec ?? "none of the"} offered/s`
  ).join("\n");
  const settings = `Settings: ${JSON.stringify(setup)}`;

  await writeResults("throughput-vs-qps", {
    setup,
    summary: summaryRows,
    knees,
    closedLoop: closed,
    openLoop: open,
  }, {
    charts: {
      "": await lineChart({
        title: "Throughput by concurrent clients (closed loop)",
        subtitle,
        xLabel: "concurrent clients",
        yLabel: "operations per second",
        logX: true,
        series: closedSeries((r) => r.opsPerSec, (k) => KIND_LABEL[k]),
      }),
      open: await lineChart({
        title: "Served vs offered load (open loop)",
        subtitle,
        xLabel: "offered operations per second",
        yLabel: "served operations per second",
        logX: true,
        logY: true,
        series: openSeries((r) => r.opsPerSec, ""),
      }),
    },
    summary:
      `## Throughput (closed loop; one number per round)\n\n${closedTable}\n\n## Knee (open loop)\n\n${kneeLines}\n\n${settings}`,
  });
  await writeResults("latency-percentiles", {
    setup,
    latencyFloor: floor ?? "not measured (needs writes at 1 client)",
    closedLoop: closed.map((
      { round, system, kind, clients, p50Ms, p99Ms, p999Ms, maxMs, stages, floorGap },
    ) => ({
      round,
      system,
      kind,
      clients,
      p50Ms,
      p99Ms,
      p999Ms,
      maxMs,
      stages,
      floorGap,
    })),
    openLoop: open.map((
      { system, kind, offeredPerSec, opsPerSec, p50Ms, p99Ms, p999Ms, maxMs, notSent },
    ) => ({
      system,
      kind,
      offeredPerSec,
      servedPerSec: opsPerSec,
      p50Ms,
      p99Ms,
      p999Ms,
      maxMs,
      notSent,
    })),
  }, {
    charts: {
      "": await lineChart({
        title: "p99 latency by concurrent clients (closed loop)",
        subtitle,
        xLabel: "concurrent clients",
        yLabel: "p99 latency (ms)",
        logX: true,
        logY: true,
        series: closedSeries((r) => r.p99Ms, (k) => `${KIND_LABEL[k]} p99`),
      }),
      ...Object.fromEntries(
        await Promise.all(kinds.map(async (kind) => [
          `open-${kind}s`,
          await lineChart({
            title: `${KIND_LABEL[kind][0].toUpperCase()}${
              KIND_LABEL[kind].slice(1)
            }: latency vs offered load (open loop)`,
            subtitle: `${subtitle}; from each request's due time`,
            xLabel: "offered operations per second",
            yLabel: "latency (ms)",
            logX: true,
            logY: true,
            series: systems.flatMap((system) =>
              (["p50Ms", "p99Ms"] as const).map((p) => ({
                system,
                variant: p === "p50Ms" ? "p50" : "p99",
                points: openGroups.filter((g) => g.system === system && g.kind === kind)
                  .map((g): [number, number] => [g.x, median(g.rows.map((r) => r[p]))]),
              }))
            ),
          }),
        ])),
      ),
    },
    summary: `${
      floorSections(closed, floor)
    }## Latency, open loop (offered rate vs served, percentiles from the due time)\n\n${openTable}\n\n${settings}`,
  });
}

/** Markdown: the floor, and each round's lone-client write against it. */
function floorSections(closed: ClosedRow[], floor: LatencyFloor | undefined): string {
  if (!floor) return "";
  const rounds = closed.filter((r) => r.floorGap).map((r) =>
    `### Round ${r.round + 1}: a lone client's write against the floor\n\n${floorGapTable(r.floorGap!)}\n\n`
  );
  return `## The floor of a lone client's write on this machine\n\n${describeFloor(floor)}.\n\n${
    rounds.join("")
  }`;
}
