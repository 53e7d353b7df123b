/**
 * The second half of both bug schedules, shared by the local experiment (bugs.ts) and the one on a
 * RaftCluster (kube_bugs.ts): clients on both sides of the coming split, the partition
 * {old minority} | {rest}, the wait for the {rest} side to elect and serve, heal, final reads, and
 * the verdict of the linearizability checker with the violation in words.
 */
import type { SafetyMode } from "../../src/raft/mod.ts";
import type { HistoryRecorder } from "../../src/check/history.ts";
import type { KvClientOptions } from "../../src/client/mod.ts";
import { RecordedWorkload } from "./workload.ts";
import { checkAndReport } from "./check_run.ts";
import { explainSplitBrain, explainStaleRead, type SideLeader } from "./explain.ts";

export type BugName = "bug1" | "bug2";

export interface BugOutcome {
  bug: BugName;
  mode: SafetyMode;
  verdict: string;
  verdictLine: string;
  operations: number;
  sideLeaderElected: boolean;
  /** The violation in words (undefined when there is none to explain). */
  explanation?: string;
  /** Relative to the repository when the results are in it. */
  htmlPath: string;
}

/** What the split phase needs of a cluster, local or on Kubernetes. */
export interface SplitTarget {
  clientUrl(id: number): string;
  endpoints(): string[];
  status(id: number): Promise<Record<string, unknown> | undefined>;
  /** Cuts every link between the groups, added to the cuts already in place. */
  partition(groups: number[][]): Promise<void>;
  /** Clears every fault on every node. */
  heal(): Promise<void>;
  access?: Pick<KvClientOptions, "tls" | "token">;
}

export interface SplitRun {
  workload: RecordedWorkload;
  t0: number;
  partitionedAt: number;
  healedAt: number;
  sideLeaderElected: boolean;
  /** The side that should not be able to commit in safe mode. */
  rest: number[];
  oldSide?: SideLeader;
  newSide?: SideLeader;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const set = (ids: number[]) => `{${ids.join(",")}}`;

/**
 * `minority[0]` leads the old configuration; clients 0-2 talk to it, 3-5 to `rest[0]`. In bug1 the
 * minority's clients only write and the rest's only read, so that any read `rest[0]` serves from its
 * stale log is a stale read of an acknowledged write (were that side to write a key before reading it,
 * the stale state would go unseen). In bug2 both sides write: they commit different entries.
 */
export async function runSplit(options: {
  bug: BugName;
  mode: SafetyMode;
  seconds: number;
  cluster: SplitTarget;
  recorder: HistoryRecorder;
  minority: number[];
  rest: number[];
  note: (text: string) => void;
  /** How long the rest's side gets to serve linearizable reads in an unsafe mode (a slow machine). */
  servingTimeoutMs?: number;
}): Promise<SplitRun> {
  const { bug, mode, seconds, cluster, recorder, minority, rest, note } = options;
  const [oldLeader] = minority;
  const [contact] = rest;
  const writes = { get: 0, put: 1, delete: 0, cas: 0 };
  const reads = { get: 1, put: 0, delete: 0, cas: 0 };
  const both = { get: 0.5, put: 0.5, delete: 0, cas: 0 };
  const workload = new RecordedWorkload(recorder, {
    keys: 3,
    endpoints: () => cluster.endpoints(),
    requestTimeoutMs: 1000,
    pin: (client) => cluster.clientUrl(client < 3 ? oldLeader : contact),
    mix: (client) => bug === "bug1" ? (client < 3 ? writes : reads) : both,
    ...(cluster.access ? { access: cluster.access } : {}),
  });
  const run: SplitRun = {
    workload,
    t0: performance.now(),
    partitionedAt: performance.now(),
    healedAt: Infinity,
    sideLeaderElected: false,
    rest,
  };
  try {
    workload.start(6);
    await sleep(700);
    const oldTerm = (await cluster.status(oldLeader))?.term;
    run.oldSide = {
      endpoint: cluster.clientUrl(oldLeader),
      description: `node ${oldLeader} (leader of ${set(minority)} in term ${oldTerm})`,
    };
    await cluster.partition([minority, rest]);
    run.partitionedAt = performance.now();
    note(`partition ${set(minority)} | ${set(rest)}`);
    // The clients keep going for `seconds` after the rest's side starts serving linearizable reads
    // (the window in which the bug shows); a slow machine gets up to 20 s to get there. In safe mode
    // that side never serves, and the clients run for `seconds` plus an election or two.
    const servingDeadline = performance.now() + (options.servingTimeoutMs ?? 20_000);
    let deadline = performance.now() + seconds * 1000 + 2000;
    let sideServes = false;
    const unsafe = mode !== "safe";
    while (performance.now() < (unsafe && !sideServes ? servingDeadline : deadline)) {
      for (const id of rest) {
        const s = await cluster.status(id);
        if (s?.role === "leader" && !run.sideLeaderElected) {
          run.sideLeaderElected = true;
          run.newSide = {
            endpoint: cluster.clientUrl(contact),
            description: `node ${id} (leader of ${set(rest)} in term ${s.term}${
              id === contact ? "" : `, through node ${contact}`
            })`,
          };
          note(`node ${id} leads the ${set(rest)} side (term ${s.term})`);
        }
      }
      if (run.sideLeaderElected && !sideServes) {
        const r = await fetch(`${cluster.clientUrl(contact)}/kv/probe`, { signal: AbortSignal.timeout(500) })
          .catch(() => undefined);
        await r?.body?.cancel();
        if (r && (r.status === 200 || r.status === 404)) {
          sideServes = true;
          deadline = performance.now() + seconds * 1000;
          note(`the ${set(rest)} side serves linearizable reads`);
        }
      }
      await sleep(100);
    }
    await workload.stop();
    run.healedAt = performance.now();
    await cluster.heal();
    note("healed");
    await sleep(1500);
    await workload.finalReads([cluster.clientUrl(oldLeader)]);
  } finally {
    await workload.stop();
  }
  return run;
}

/** The checker's verdict on the recorded history, its HTML report, and the violation in words. */
export async function judgeSplit(
  bug: BugName,
  mode: SafetyMode,
  reportName: string,
  recorder: HistoryRecorder,
  run: SplitRun,
  log: (line: string) => void,
  extra: Record<string, unknown> = {},
): Promise<BugOutcome> {
  const acks = run.workload.acknowledged;
  const explanation = run.oldSide && run.newSide
    ? bug === "bug1"
      ? explainStaleRead(acks, run.t0, run.oldSide, run.newSide)
      : explainSplitBrain(acks, run.t0, run.oldSide, run.newSide, run.partitionedAt, run.healedAt)
    : undefined;
  const checked = await checkAndReport(reportName, recorder, {
    bug,
    mode,
    ...extra,
    operations: { total: recorder.size, ...run.workload.counts },
    sideLeaderElected: run.sideLeaderElected,
    explanation: explanation ??
      (run.sideLeaderElected
        ? "no violation found in the acknowledged operations"
        : `the ${set(run.rest)} side never elected a leader`),
  });
  log(checked.verdict);
  if (explanation) log(explanation);
  return {
    bug,
    mode,
    verdict: checked.result.verdict,
    verdictLine: checked.verdict,
    operations: recorder.size,
    sideLeaderElected: run.sideLeaderElected,
    explanation,
    htmlPath: checked.htmlPath,
  };
}
