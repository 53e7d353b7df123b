/**
 * deno task bench tls-cost [--quick] [--seconds S] [--levels 1,16,64] [--rounds N] [--ops writes|reads|both]
 *
 * What TLS costs: two 3-node local clusters in one run, one in plain text and one with TLS
 * (HTTPS for clients with a bearer token, mutual TLS between the peers, as `local up --tls`),
 * taking the same closed-loop load (steady's load generator) row by row, the order swapping each
 * round so that the drift of a shared machine hits both. Writes bench-results/tls-cost.{json,md,svg}.
 */
import { parseArgs } from "node:util";
import { ExperimentCluster } from "../lib/cluster_harness.ts";
import { lineChart } from "../lib/charts.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import { closedLoop, KEYS, type LatencySummary, type LoadTarget, type OpKind } from "../lib/load.ts";
import { benchUsage, parseList, parsePositive } from "./args.ts";

type Security = "plain" | "tls";

interface Row extends LatencySummary {
  round: number;
  security: Security;
  kind: OpKind;
  clients: number;
}

const USAGE = "deno task bench tls-cost [--quick] [--seconds S] [--levels 1,16,64] [--rounds N] " +
  "[--ops writes|reads|both]";
const KIND_LABEL: Record<OpKind, string> = { write: "writes", read: "linearizable reads" };

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function run(args: string[]): Promise<void> {
  const { values } = benchUsage(USAGE, () =>
    parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        seconds: { type: "string" },
        levels: { type: "string" },
        rounds: { type: "string" },
        ops: { type: "string", default: "both" },
        help: { type: "boolean", default: false },
      },
    }));
  const quick = values.quick!;
  const seconds = parsePositive("--seconds", values.seconds ?? (quick ? "1" : "5"));
  const levels = parseList("--levels", values.levels ?? (quick ? "1,16" : "1,16,64"));
  const rounds = parsePositive("--rounds", values.rounds ?? (quick ? "1" : "3"));
  if (!["writes", "reads", "both"].includes(values.ops!)) {
    throw new Error(`--ops must be writes, reads or both, got "${values.ops}"`);
  }
  const kinds: OpKind[] = values.ops === "both"
    ? ["write", "read"]
    : [values.ops === "writes" ? "write" : "read"];

  console.log("tls-cost: starting a plain 3-node raft-kv cluster and a TLS one on loopback");
  const clusters: Partial<Record<Security, ExperimentCluster>> = {};
  const rows: Row[] = [];
  try {
    clusters.plain = await ExperimentCluster.start({ replicas: 3, mode: "safe", faultInjection: false });
    clusters.tls = await ExperimentCluster.start({
      replicas: 3,
      mode: "safe",
      faultInjection: false,
      tls: true,
    });
    const token = (await clusters.tls.access()).token!;
    const target = async (security: Security): Promise<LoadTarget> => {
      const cluster = clusters[security]!;
      return {
        system: "raft-kv",
        leaderUrl: await cluster.leaderUrl(),
        readUrls: cluster.endpoints(),
        ...(security === "tls"
          ? { client: cluster.httpClient, headers: { authorization: `Bearer ${token}` } }
          : {}),
      };
    };
    console.log(
      `closed loop: ${rounds} round(s), ${seconds} s per row (+0.5 s warm-up), 100-byte values, ${KEYS} keys`,
    );
    console.log("round  security  kind   clients    ops/s   p50 ms   p99 ms  errors");
    for (let round = 0; round < rounds; round++) {
      const order: Security[] = round % 2 === 0 ? ["plain", "tls"] : ["tls", "plain"];
      for (const kind of kinds) {
        for (const clients of levels) {
          for (const security of order) {
            const r = await closedLoop(await target(security), kind, clients, seconds);
            rows.push({ round, security, kind, clients, ...r });
            console.log(
              `${String(round + 1).padStart(5)}  ${security.padEnd(8)}  ${kind.padEnd(5)} ${
                String(clients).padStart(8)
              } ${String(r.opsPerSec).padStart(8)} ${r.p50Ms.toFixed(2).padStart(8)} ${
                r.p99Ms.toFixed(2).padStart(8)
              } ${String(r.errors).padStart(7)}`,
            );
          }
        }
      }
    }
  } finally {
    await clusters.plain?.stop();
    await clusters.tls?.stop();
  }
  await report(rows, {
    nodes: 3,
    valueBytes: 100,
    keys: KEYS,
    secondsPerRow: seconds,
    rounds,
    levels,
    quick,
  });
}

async function report(rows: Row[], setup: Record<string, unknown>): Promise<void> {
  const kinds = [...new Set(rows.map((r) => r.kind))];
  const levels = [...new Set(rows.map((r) => r.clients))];
  const pick = (security: Security, kind: OpKind, clients: number) =>
    rows.filter((r) => r.security === security && r.kind === kind && r.clients === clients);
  const summary = kinds.flatMap((kind) =>
    levels.map((clients) => {
      const plain = pick("plain", kind, clients);
      const tls = pick("tls", kind, clients);
      const plainOps = median(plain.map((r) => r.opsPerSec));
      const tlsOps = median(tls.map((r) => r.opsPerSec));
      return {
        kind,
        clients,
        plainOpsPerSec: plainOps,
        tlsOpsPerSec: tlsOps,
        tlsThroughputRatio: plainOps ? +(tlsOps / plainOps).toFixed(2) : undefined,
        plainP99Ms: median(plain.map((r) => r.p99Ms)),
        tlsP99Ms: median(tls.map((r) => r.p99Ms)),
      };
    })
  );
  const table = markdownTable(
    ["op", "clients", "plain ops/s", "TLS ops/s", "TLS / plain", "plain p99 ms", "TLS p99 ms"],
    summary.map((s) => [
      KIND_LABEL[s.kind],
      s.clients,
      s.plainOpsPerSec,
      s.tlsOpsPerSec,
      s.tlsThroughputRatio ?? "-",
      s.plainP99Ms.toFixed(2),
      s.tlsP99Ms.toFixed(2),
    ]),
  );
  console.log(`\n${table}`);
  await writeResults("tls-cost", { setup, summary, rows }, {
    charts: {
      "": await lineChart({
        title: "Throughput with and without TLS (closed loop)",
        subtitle: "3 members on loopback, fsync on, 100-byte values; both clusters in one run, alternating",
        xLabel: "concurrent clients",
        yLabel: "operations per second",
        logX: true,
        series: (["plain", "tls"] as const).flatMap((security) =>
          kinds.map((kind) => ({
            system: security === "tls" ? "raft-kv TLS" : "raft-kv plain",
            variant: KIND_LABEL[kind],
            points: summary.filter((s) => s.kind === kind).map((s): [number, number] => [
              s.clients,
              security === "tls" ? s.tlsOpsPerSec : s.plainOpsPerSec,
            ]),
          }))
        ),
      }),
    },
    summary: `## Cost of TLS (closed loop; median of the rounds)\n\n${table}\n\nSettings: ${
      JSON.stringify(setup)
    }`,
  });
}
