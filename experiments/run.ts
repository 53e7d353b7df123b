/**
 * deno task experiment bug1|bug2|all [--safety-mode both|safe|unsafe|<mode>] [--runs N] [--seconds S]
 * deno task experiment bug1|bug2 --kube NAME [--namespace NS] [--seconds S]
 *
 * Reproduces a membership bug on real processes and shows, with the linearizability checker,
 * that the unsafe mode breaks and `safe` does not. With --runs N every scenario is repeated and a
 * table says, per mode, how often it violated linearizability. Exit code 0 when every outcome is
 * the one its mode predicts (a violation in the unsafe mode, none in safe), 1 otherwise, 2 on a
 * usage error, 3 when the experiment could not run (--kube: no cluster, no such RaftCluster, the
 * wrong safety mode, no fault injection). `--mode` is accepted as an alias of `--safety-mode`.
 */
import { parseArgs } from "node:util";
import type { SafetyMode } from "../src/raft/mod.ts";
import { type BugName, type BugOutcome, runBugExperiment, UNSAFE_MODE_OF } from "./bugs.ts";
import { KubeExperimentError, runKubeBugExperiment } from "./kube_bugs.ts";
import { markdownTable, writeResults } from "./lib/results.ts";

const USAGE =
  `usage: deno task experiment bug1|bug2|all [--safety-mode both|safe|unsafe|<unsafe mode>] [--runs N] [--seconds S]
       deno task experiment bug1|bug2 --kube NAME [--namespace NS] [--safety-mode ...] [--seconds S]

Reproduces a membership bug and judges the clients' history with the linearizability checker:
  bug1  unsafe-early-vote: new members vote at once, empty; a stale node wins with their votes
  bug2  unsafe-no-joint: nodes adopt the new voter set one by one, no joint phase; two majorities commit
The unsafe mode should violate linearizability (said in words: which write a read missed, or which
writes two leaders committed at one index); safe should not.

options:
  --safety-mode M  both (default), safe, unsafe or the bug's unsafe mode; --mode is an alias
  --runs N         repeat each scenario N times, then a table of violations per mode (local only)
  --seconds S      how long the clients run once the split serves (default 4)
  --kube NAME      run on RaftCluster NAME through the operator instead of local processes. Needs a
                   kubeconfig, a route to the pod network, and a RaftCluster of 3 settled voters
                   created with spec.faultInjection: true in the bug's unsafe mode or safe (its mode
                   is the one run). The experiment injects faults through the pods' fault endpoints
                   (partitions; for bug2 refuse-admin on one old voter, as if the operator could not
                   reach it) and scales the RaftCluster to 5 (reconfig.maxParallel 2): the operator
                   makes the membership change. The cluster is left at 5 members, healed.
  --namespace NS   the RaftCluster's namespace (default: the kubeconfig context's)
exit code: 0 every outcome as the mode predicts, 1 otherwise, 2 usage error, 3 could not run`;

function usageError(message: string): never {
  console.error(`experiment: ${message} (deno task experiment --help for usage)`);
  Deno.exit(2);
}

let values, positionals;
try {
  ({ values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      "safety-mode": { type: "string" },
      mode: { type: "string" },
      runs: { type: "string", default: "1" },
      seconds: { type: "string", default: "4" },
      kube: { type: "string" },
      namespace: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (e) {
  usageError((e as Error).message);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (values["safety-mode"] !== undefined && values.mode !== undefined) {
  usageError("give --safety-mode or its alias --mode, not both");
}
const modeFlag = values["safety-mode"] ?? values.mode ?? "both";
const which = positionals[0];
const bugs: BugName[] = which === "all"
  ? ["bug1", "bug2"]
  : which === "bug1" || which === "bug2"
  ? [which]
  : [];
if (!bugs.length || positionals.length > 1) {
  usageError(which ? `unknown experiment "${positionals.join(" ")}"` : "which bug?");
}
const seconds = Number(values.seconds);
const runs = Number(values.runs);
if (!(seconds > 0)) usageError(`--seconds needs a positive number, got "${values.seconds}"`);
if (!Number.isInteger(runs) || runs < 1) usageError(`--runs needs a whole number >= 1, got "${values.runs}"`);

const kube = values.kube;
if (kube !== undefined) {
  if (!kube) usageError("--kube needs the RaftCluster's name");
  if (bugs.length > 1) usageError("--kube runs one bug (a RaftCluster runs one safety mode): bug1 or bug2");
  if (runs !== 1) {
    usageError(
      "--runs is for local runs: --kube leaves the RaftCluster at 5 members; re-create it to run again",
    );
  }
} else if (values.namespace !== undefined) {
  usageError("--namespace goes with --kube");
}

function modesFor(bug: BugName): SafetyMode[] {
  const unsafe = UNSAFE_MODE_OF[bug];
  if (modeFlag === "both") return [unsafe, "safe"];
  if (modeFlag === "safe") return ["safe"];
  if (modeFlag === "unsafe" || modeFlag === unsafe) return [unsafe];
  return usageError(
    `--safety-mode for ${bug} is both, safe, unsafe or ${unsafe}, got "${modeFlag}"`,
  );
}
const plan = bugs.map((bug) => ({ bug, modes: modesFor(bug) }));

type Outcome = BugOutcome & { run: number; expected: string; asExpected: boolean };
const outcomes: Outcome[] = [];
const record = (out: BugOutcome, run: number) => {
  const expected = out.mode === "safe" ? "linearizable" : "not linearizable";
  outcomes.push({ ...out, run, expected, asExpected: out.verdict === expected });
};
if (kube !== undefined) {
  const [{ bug, modes }] = plan;
  console.log(
    `\n== ${bug} on RaftCluster ${
      values.namespace ? `${values.namespace}/` : ""
    }${kube}, through the operator`,
  );
  try {
    record(
      await runKubeBugExperiment(bug, {
        name: kube,
        ...(values.namespace ? { namespace: values.namespace } : {}),
        seconds,
        ...(modeFlag === "both" ? {} : { modes }),
      }),
      1,
    );
  } catch (e) {
    if (!(e instanceof KubeExperimentError)) throw e;
    console.error(`experiment --kube: ${e.message}`);
    Deno.exit(3);
  }
} else {
  for (let run = 1; run <= runs; run++) {
    for (const { bug, modes } of plan) {
      for (const mode of modes) {
        console.log(`\n== ${bug} in ${mode}${runs > 1 ? `, run ${run} of ${runs}` : ""}`);
        record(await runBugExperiment(bug, mode, seconds), run);
      }
    }
  }
}
const ran = (bug: BugName) => [...new Set(outcomes.filter((o) => o.bug === bug).map((o) => o.mode))];

console.log("\n== results");
for (const o of outcomes) {
  console.log(
    `${o.bug} ${o.mode.padEnd(18)} ${o.verdict.padEnd(17)} (expected ${o.expected})${
      o.asExpected ? "" : "  <-- UNEXPECTED"
    }  ${o.operations} ops, the new majority side elected a leader: ${
      o.sideLeaderElected ? "yes" : "no"
    }; report ${o.htmlPath}`,
  );
  if (o.explanation) console.log(`    ${o.explanation}`);
}

const table = plan.flatMap(({ bug }) =>
  ran(bug).map((mode) => {
    const mine = outcomes.filter((o) => o.bug === bug && o.mode === mode);
    const violations = mine.filter((o) => o.verdict === "not linearizable").length;
    return {
      bug,
      mode,
      runs: mine.length,
      violations,
      unknown: mine.filter((o) => o.verdict !== "linearizable" && o.verdict !== "not linearizable").length,
      predicted: mode === "safe" ? "never" : "every run",
      asPredicted: mine.filter((o) => o.asExpected).length,
    };
  })
);
console.log("\n== violations per mode");
console.log("bug   mode                runs  violated  predicted   as predicted");
for (const t of table) {
  console.log(
    `${t.bug}  ${t.mode.padEnd(18)} ${String(t.runs).padStart(5)} ${String(t.violations).padStart(9)}  ${
      t.predicted.padEnd(10)
    } ${String(t.asPredicted).padStart(4)} of ${t.runs}`,
  );
}
const allAsPredicted = outcomes.every((o) => o.asExpected);
await writeResults(`experiment-${bugs.join("-")}${kube !== undefined ? "-kube" : ""}`, {
  runs,
  seconds,
  ...(kube !== undefined ? { raftCluster: `${values.namespace ?? "(context namespace)"}/${kube}` } : {}),
  table,
  allAsPredicted,
  outcomes,
}, {
  summary: `## ${bugs.join(" and ")}: violations per mode over ${runs} run(s)\n\n${
    markdownTable(
      ["bug", "mode", "runs", "violated", "predicted", "as predicted"],
      table.map((t) => [t.bug, t.mode, t.runs, t.violations, t.predicted, `${t.asPredicted} of ${t.runs}`]),
    )
  }\n\n${
    outcomes.filter((o) => o.explanation).map((o) => `- ${o.bug} ${o.mode} run ${o.run}: ${o.explanation}`)
      .join("\n")
  }`,
});
Deno.exit(allAsPredicted ? 0 : 1);
