/**
 * deno task jepsen [--seconds 60] [--nemesis all|partition,kill,pause,membership] [--safety-mode safe]
 *                  [--clients 8] [--keys 5] [--seed N] [--name NAME] [--tls]
 *
 * Drives a local cluster with concurrent recorded clients while a nemesis injects faults, then
 * heals everything, checks that the cluster serves again, checks the history for
 * linearizability, and writes the history, an HTML report and a JSON summary to bench-results/.
 * --tls: the cluster runs with its own CA (HTTPS, mutual TLS between peers, client tokens).
 * Exit code: 0 linearizable, 1 not linearizable, 2 unknown or the cluster did not recover.
 */
import { parseFlags, UsageError, usageErrorLines } from "../src/cli/args.ts";
import { SAFETY_MODES, type SafetyMode } from "../src/raft/mod.ts";
import { HistoryRecorder } from "../src/check/history.ts";
import { KvClient } from "../src/client/mod.ts";
import { ExperimentCluster } from "./lib/cluster_harness.ts";
import { RecordedWorkload } from "./lib/workload.ts";
import { FAULT_KINDS, type FaultKind, Nemesis } from "./lib/nemesis.ts";
import { checkAndReport } from "./lib/check_run.ts";
import { Rng } from "../src/sim/rng.ts";

export interface JepsenOptions {
  seconds: number;
  nemesis: FaultKind[];
  mode: SafetyMode;
  clients: number;
  keys: number;
  seed: number;
  name: string;
  /** HTTPS, mutual TLS between the peers and client tokens (as `deno task local up --tls`). */
  tls?: boolean;
}

export async function runJepsen(o: JepsenOptions): Promise<{ verdict: string; code: number }> {
  console.log(
    `jepsen: ${o.seconds}s, ${o.clients} clients on ${o.keys} keys, nemesis [${o.nemesis}], ${o.mode}, seed ${o.seed}`,
  );
  const cluster = await ExperimentCluster.start({ replicas: 3, mode: o.mode, tls: o.tls });
  const access = await cluster.access();
  const recorder = new HistoryRecorder({ model: "kv" });
  const workload = new RecordedWorkload(recorder, {
    keys: o.keys,
    endpoints: () => cluster.endpoints(),
    requestTimeoutMs: 1500,
    access,
  });
  const rng = new Rng(o.seed);
  const nemesis = new Nemesis(cluster, recorder, o.nemesis, () => rng.next());
  let recoveredMs: number | undefined;
  let recoveryFailure: string | undefined;
  try {
    console.log("fault timeline:");
    const start = performance.now();
    workload.start(o.clients);
    await nemesis.run(start + o.seconds * 1000);
    await workload.stop();
    await nemesis.healAll();
    // Recovery: the cluster must serve a write again, then settle at its size. An unsafe mode may
    // leave it unable to (a log that lost committed entries): that is a finding, and the history
    // is still checked.
    const healedAt = performance.now();
    const probe = new KvClient({
      endpoints: cluster.endpoints(),
      retry: { operationTimeoutMs: 30_000 },
      ...access,
    });
    try {
      await probe.put("jepsen-recovery", "ok");
      recoveredMs = Math.round(performance.now() - healedAt);
      await cluster.settle(60_000);
      console.log(
        `  recovered: a write succeeded ${recoveredMs} ms after healing; ${cluster.nodes.length} members`,
      );
    } catch (e) {
      recoveryFailure = (e as Error).message.split("\n")[0];
      console.log(`  NOT recovered after healing: ${recoveryFailure}`);
    } finally {
      await probe.close();
    }
    await workload.finalReads(cluster.endpoints());
  } finally {
    await workload.stop();
    await cluster.stop();
  }
  const c = workload.counts;
  console.log(`operations: ${recorder.size} (ok ${c.ok}, failed ${c.fail}, unknown ${c.unknown})`);
  const checked = await checkAndReport(o.name, recorder, {
    options: o,
    operations: { total: recorder.size, ...c },
    recoveredMs,
    recoveryFailure,
    timeline: nemesis.timeline,
  });
  console.log(checked.verdict);
  console.log(`history ${checked.historyPath}\nreport  ${checked.htmlPath}`);
  const verdict = checked.result.verdict;
  if (recoveryFailure && verdict !== "not linearizable") return { verdict, code: 2 };
  return { verdict, code: verdict === "linearizable" ? 0 : verdict === "not linearizable" ? 1 : 2 };
}

if (import.meta.main) {
  const usage = "usage: deno task jepsen [--seconds 60] [--nemesis all|partition,kill,pause,membership] " +
    "[--safety-mode safe] [--clients 8] [--keys 5] [--seed N] [--name NAME] [--tls]";
  let values;
  try {
    values = parseFlags(Deno.args, {
      seconds: { type: "string", default: "60" },
      nemesis: { type: "string", default: "all" },
      "safety-mode": { type: "string", default: "safe" },
      clients: { type: "string", default: "8" },
      keys: { type: "string", default: "5" },
      seed: { type: "string", default: String(Date.now() % 100000) },
      name: { type: "string" },
      tls: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    }).values;
  } catch (e) {
    console.error(usageErrorLines("jepsen", e as UsageError));
    Deno.exit(2);
  }
  if (values.help) {
    console.log(usage);
    Deno.exit(0);
  }
  const nemesis = values.nemesis === "all" ? FAULT_KINDS : values.nemesis!.split(",") as FaultKind[];
  const mode = values["safety-mode"] as SafetyMode;
  const bad = nemesis.filter((k) => !FAULT_KINDS.includes(k));
  const numbers = [values.seconds, values.clients, values.keys, values.seed].map(Number);
  if (bad.length || !SAFETY_MODES.includes(mode) || numbers.some((n) => !Number.isInteger(n) || n < 0)) {
    const problem = bad.length
      ? `--nemesis: unknown fault kinds ${bad.join(",")} (${FAULT_KINDS.join(", ")})`
      : !SAFETY_MODES.includes(mode)
      ? `--safety-mode takes ${SAFETY_MODES.join(", ")}, got "${mode}"`
      : "--seconds, --clients, --keys and --seed take whole numbers >= 0";
    console.error(usageErrorLines("jepsen", new UsageError(problem)));
    Deno.exit(2);
  }
  const [seconds, clients, keys, seed] = numbers;
  const { code } = await runJepsen({
    seconds,
    nemesis,
    mode,
    clients,
    keys,
    seed,
    name: values.name ?? `jepsen-${mode}${values.tls ? "-tls" : ""}`,
    tls: values.tls === true,
  });
  Deno.exit(code);
}
