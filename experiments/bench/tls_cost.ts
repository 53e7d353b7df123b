/**
 * deno task bench tls-cost [--quick] [--seconds S] [--levels 1,16,64] [--rounds N] [--ops writes|reads|both]
 *
 * What TLS costs: three 3-node local clusters in one run, taking the same closed-loop load
 * (steady's load generator) row by row, the order rotating each round so that the drift of a
 * shared machine hits all of them:
 *   plain       no TLS, no tokens;
 *   tls         as `local up --tls`: HTTPS on node:https asking for client certificates, mutual TLS
 *               between the peers, a bearer token on every request;
 *   tls-tokens  the same with --client-cert-auth off: HTTPS on Deno.serve's native TLS, tokens only.
 * Writes bench-results/tls-cost.{json,md,svg}.
 */
import { parseArgs } from "node:util";
import { ExperimentCluster } from "../lib/cluster_harness.ts";
import { lineChart } from "../lib/charts.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import { closedLoop, KEYS, type LatencySummary, type LoadTarget, median, type OpKind } from "../lib/load.ts";
import { benchUsage, parseList, parsePositive } from "./args.ts";

const VARIANTS = ["plain", "tls", "tls-tokens"] as const;
type Security = typeof VARIANTS[number];

interface Row extends LatencySummary {
  round: number;
  security: Security;
  kind: OpKind;
  clients: number;
}

const USAGE = "deno task bench tls-cost [--quick] [--seconds S] [--levels 1,16,64] [--rounds N] " +
  "[--ops writes|reads|both]";
const KIND_LABEL: Record<OpKind, string> = { write: "writes", read: "linearizable reads" };

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

  console.log("tls-cost: starting three 3-node raft-kv clusters on loopback: plain, tls, tls-tokens");
  const clusters: Partial<Record<Security, ExperimentCluster>> = {};
  const rows: Row[] = [];
  try {
    const common = { replicas: 3, mode: "safe", faultInjection: false } as const;
    clusters.plain = await ExperimentCluster.start(common);
    clusters.tls = await ExperimentCluster.start({ ...common, tls: true });
    clusters["tls-tokens"] = await ExperimentCluster.start({ ...common, tls: true, clientCertAuth: false });
    const target = async (security: Security): Promise<LoadTarget> => {
      const cluster = clusters[security]!;
      const { tls, token } = await cluster.access();
      return {
        system: "raft-kv",
        leaderUrl: await cluster.leaderUrl(),
        readUrls: cluster.endpoints(),
        ...(tls ? { caCerts: tls.caCerts } : {}),
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      };
    };
    console.log(
      `closed loop: ${rounds} round(s), ${seconds} s per row (+0.5 s warm-up), 100-byte values, ${KEYS} keys`,
    );
    console.log("round  security    kind   clients    ops/s   p50 ms   p99 ms  errors");
    for (let round = 0; round < rounds; round++) {
      const order: Security[] = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
      for (const kind of kinds) {
        for (const clients of levels) {
          for (const security of order) {
            const r = await closedLoop(await target(security), kind, clients, seconds);
            rows.push({ round, security, kind, clients, ...r });
            console.log(
              `${String(round + 1).padStart(5)}  ${security.padEnd(10)}  ${kind.padEnd(5)} ${
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
    for (const cluster of Object.values(clusters)) await cluster.stop();
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
      const of = (metric: (r: Row) => number) =>
        Object.fromEntries(
          VARIANTS.map((v) => [v, median(pick(v, kind, clients).map(metric))]),
        ) as Record<Security, number>;
      const opsPerSec = of((r) => r.opsPerSec);
      const ratio = (v: Security) =>
        opsPerSec.plain ? +(opsPerSec[v] / opsPerSec.plain).toFixed(2) : undefined;
      return {
        kind,
        clients,
        opsPerSec,
        p99Ms: of((r) => r.p99Ms),
        ratioToPlain: { tls: ratio("tls"), "tls-tokens": ratio("tls-tokens") },
      };
    })
  );
  const table = markdownTable(
    [
      "op",
      "clients",
      "plain ops/s",
      "tls ops/s (ratio)",
      "tls-tokens ops/s (ratio)",
      "plain p99 ms",
      "tls p99 ms",
      "tls-tokens p99 ms",
    ],
    summary.map((s) => [
      KIND_LABEL[s.kind],
      s.clients,
      s.opsPerSec.plain,
      `${s.opsPerSec.tls} (${s.ratioToPlain.tls ?? "-"})`,
      `${s.opsPerSec["tls-tokens"]} (${s.ratioToPlain["tls-tokens"] ?? "-"})`,
      s.p99Ms.plain.toFixed(2),
      s.p99Ms.tls.toFixed(2),
      s.p99Ms["tls-tokens"].toFixed(2),
    ]),
  );
  console.log(`\n${table}`);
  await writeResults("tls-cost", { setup, variants: VARIANTS, summary, rows }, {
    charts: {
      "": await lineChart({
        title: "Throughput with and without TLS (closed loop)",
        subtitle:
          "3 members on loopback, fsync on, 100-byte values; the three clusters in one run, alternating",
        xLabel: "concurrent clients",
        yLabel: "operations per second",
        logX: true,
        series: VARIANTS.flatMap((security) =>
          kinds.map((kind) => ({
            system: security,
            variant: KIND_LABEL[kind],
            points: summary.filter((s) => s.kind === kind).map((s): [number, number] => [
              s.clients,
              s.opsPerSec[security],
            ]),
          }))
        ),
      }),
    },
    summary: `## Cost of TLS (closed loop; median of the rounds)\n\n${table}\n\n` +
      "plain: no TLS, no tokens. tls: HTTPS on node:https asking for client certificates, mutual TLS " +
      "between the peers, a bearer token per request. tls-tokens: the same with --client-cert-auth off " +
      `(Deno.serve's native TLS).\n\nSettings: ${JSON.stringify(setup)}`,
  });
}
