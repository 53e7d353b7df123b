/**
 * deno task bench steady [--seconds S] [--levels 1,8,64,256] [--mode writes|reads|both]
 *
 * A 3-node local cluster (real processes, WAL with fdatasync, loopback TCP) driven at rising
 * load: closed loop, N concurrent clients, 100-byte values, keep-alive HTTP. Writes go to the
 * leader with exactly-once session headers; linearizable reads go to every node (each confirms
 * through ReadIndex). Reports throughput and p50/p99/p999 latency per level, next to the etcd
 * 3.4 numbers measured on these machines (see issue 3), and writes
 * bench-results/throughput-vs-qps.json and .svg.
 */
import { parseFlags, positiveIntegers, positiveNumber, UsageError } from "../../src/cli/args.ts";
import { LocalSupervisor } from "../../src/local/supervisor.ts";
import { lineChart } from "../lib/svg_chart.ts";
import { writeResults } from "../lib/results.ts";

/** etcd 3.4 (Debian etcd-server, 3 nodes on loopback, same value size, JSON gateway), from issue 3. */
const ETCD_WRITES: Array<[number, number]> = [[1, 500], [8, 1400], [64, 3300], [256, 4600]];
const ETCD_READS: Array<[number, number]> = [[1, 900], [256, 5600]];

interface LevelResult {
  clients: number;
  kind: "write" | "read";
  ops: number;
  errors: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function runLevel(
  kind: "write" | "read",
  clients: number,
  seconds: number,
  urls: { leader: string; all: string[] },
): Promise<LevelResult> {
  const value = JSON.stringify({ value: "x".repeat(100) });
  const latencies: number[] = [];
  let errors = 0;
  const warmupEnd = performance.now() + 500;
  const end = warmupEnd + seconds * 1000;
  const worker = async (w: number) => {
    const clientId = `bench-${kind}-${clients}-${w}-${crypto.randomUUID().slice(0, 8)}`;
    let seq = 0;
    const readUrl = urls.all[w % urls.all.length];
    while (performance.now() < end) {
      const key = `key-${Math.floor(Math.random() * 10_000)}`;
      const t0 = performance.now();
      try {
        const r = kind === "write"
          ? await fetch(`${urls.leader}/kv/${key}`, {
            method: "PUT",
            headers: {
              "content-type": "application/json",
              "x-client-id": clientId,
              "x-request-seq": String(++seq),
            },
            body: value,
          })
          : await fetch(`${readUrl}/kv/${key}`);
        await r.arrayBuffer();
        if (r.status !== 200 && !(kind === "read" && r.status === 404)) errors++;
        else if (t0 >= warmupEnd) latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  const sorted = Float64Array.from(latencies).sort();
  return {
    clients,
    kind,
    ops: sorted.length,
    errors,
    opsPerSec: Math.round(sorted.length / seconds),
    p50Ms: +percentile(sorted, 0.5).toFixed(2),
    p99Ms: +percentile(sorted, 0.99).toFixed(2),
    p999Ms: +percentile(sorted, 0.999).toFixed(2),
  };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    seconds: { type: "string", default: "5" },
    levels: { type: "string", default: "1,8,64,256" },
    mode: { type: "string", default: "both" },
  });
  const seconds = positiveNumber("seconds", values.seconds!);
  const levels = positiveIntegers("levels", values.levels!);
  if (!["write", "read", "both"].includes(values.mode!)) {
    throw new UsageError(`--mode takes write, read or both, got "${values.mode}"`);
  }
  const kinds: Array<"write" | "read"> = values.mode === "both"
    ? ["write", "read"]
    : [values.mode as "write" | "read"];

  const stateDir = await Deno.makeTempDir({ prefix: "raftkv-bench-steady-" });
  const sup = await LocalSupervisor.create(stateDir, {
    replicas: 3,
    safetyMode: "safe",
    ports: "auto",
    faultInjection: false,
  }, () => {});
  const results: LevelResult[] = [];
  try {
    sup.start();
    const t0 = performance.now();
    while (!sup.settled()) {
      if (performance.now() - t0 > 60_000) throw new Error("the cluster did not come up");
      await new Promise((r) => setTimeout(r, 100));
    }
    let leader = "";
    for (const n of sup.state.nodes) {
      const s = await (await fetch(`${n.clientUrl}/status`)).json();
      if (s.role === "leader") leader = n.clientUrl;
    }
    const urls = { leader, all: sup.state.nodes.map((n) => n.clientUrl) };
    console.log(
      `steady: 3 nodes up; ${seconds}s per level (+0.5s warm-up), 100-byte values, keep-alive HTTP`,
    );
    console.log("kind   clients   ops/s    p50 ms   p99 ms   p999 ms  errors   etcd 3.4 ops/s");
    for (const kind of kinds) {
      for (const clients of levels) {
        const r = await runLevel(kind, clients, seconds, urls);
        results.push(r);
        const etcd = (kind === "write" ? ETCD_WRITES : ETCD_READS).find(([c]) => c === clients)?.[1];
        console.log(
          `${kind.padEnd(6)} ${String(clients).padStart(7)} ${String(r.opsPerSec).padStart(7)} ${
            r.p50Ms.toFixed(2).padStart(8)
          } ${r.p99Ms.toFixed(2).padStart(8)} ${r.p999Ms.toFixed(2).padStart(9)} ${
            String(r.errors).padStart(7)
          }   ${etcd ?? "-"}`,
        );
      }
    }
  } finally {
    await sup.stop();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
  const series = (kind: "write" | "read") =>
    results.filter((r) => r.kind === kind).map((r) => [r.clients, r.opsPerSec] as [number, number]);
  await writeResults(
    "throughput-vs-qps",
    {
      setup: {
        nodes: 3,
        valueBytes: 100,
        secondsPerLevel: seconds,
        keys: 10_000,
        fsync: true,
        transport: "loopback TCP",
      },
      etcdReference: { writes: ETCD_WRITES, linearizableReads: ETCD_READS },
      results,
    },
    lineChart({
      title: "raft-kv, 3 nodes on loopback: throughput vs concurrent clients",
      xLabel: "concurrent clients (closed loop)",
      yLabel: "operations per second",
      logX: true,
      series: [
        { name: "raft-kv writes", points: series("write") },
        { name: "raft-kv linearizable reads", points: series("read") },
        { name: "etcd 3.4 writes", points: ETCD_WRITES },
        { name: "etcd 3.4 reads", points: ETCD_READS },
      ].filter((s) => s.points.length),
    }),
  );
}
