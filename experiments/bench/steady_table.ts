/**
 * The steady benchmark's closed-loop table (one row per operation and client count): written by
 * `bench steady` into throughput-vs-qps.md, and printed again from its JSON by `bench summary`.
 */
import { markdownTable } from "../lib/results.ts";
import type { OpKind } from "../lib/load.ts";

export const KIND_LABEL: Record<OpKind, string> = { write: "writes", read: "linearizable reads" };

/** One row of the JSON's `summary`: both systems at one operation and client count. */
export interface SteadySummaryRow {
  kind: OpKind;
  clients: number;
  raftkvOpsPerSec: number[];
  etcdOpsPerSec?: number[];
  /** Median raft-kv over median etcd. */
  ratio?: number;
  raftkvP50P99Ms: number[];
  etcdP50P99Ms?: number[];
  /** CPU all three members spent per operation, µs (median over the rounds). */
  raftkvCpuUsPerOp?: number;
  etcdCpuUsPerOp?: number;
}

/** Latencies to two decimals: a median of two rounds is their mean, with binary floating-point noise. */
function ms(values: number[] | undefined): string {
  return values ? values.map((v) => +v.toFixed(2)).join(" / ") : "-";
}

export function steadyClosedTable(rows: SteadySummaryRow[]): string {
  return markdownTable(
    [
      "op",
      "clients",
      "raft-kv ops/s",
      "etcd ops/s",
      "ratio",
      "raft-kv p50 / p99 ms",
      "etcd p50 / p99 ms",
      "CPU µs/op, 3 members: raft-kv / etcd",
    ],
    rows.map((r) => [
      KIND_LABEL[r.kind] ?? r.kind,
      r.clients,
      r.raftkvOpsPerSec.join(", "),
      r.etcdOpsPerSec?.join(", ") ?? "-",
      r.ratio ? `${r.ratio}x` : "-",
      ms(r.raftkvP50P99Ms),
      ms(r.etcdP50P99Ms),
      `${r.raftkvCpuUsPerOp ?? "-"} / ${r.etcdCpuUsPerOp ?? "-"}`,
    ]),
  );
}
