/**
 * deno task experiment bug1|bug2|all [--safety-mode both|safe|unsafe|<mode>] [--runs N] [--seconds S]
 *
 * Reproduces a membership bug on real processes and shows, with the linearizability checker,
 * that the unsafe mode breaks and `safe` does not. With --runs N every scenario is repeated and a
 * table says, per mode, how often it violated linearizability. Exit code 0 when every outcome is
 * the one its mode predicts (a violation in the unsafe mode, none in safe), 1 otherwise, 2 on a
 * usage error. `--mode` is accepted as an alias of `--safety-mode`.
 */
import { parseArgs } from "node:util";
import type { SafetyMode } from "../src/raft/mod.ts";
import { type BugName, type BugOutcome, runBugExperiment, UNSAFE_MODE_OF } from "./bugs.ts";
import { markdownTable, writeResults } from "./lib/results.ts";

const USAGE =
  "usage: deno task experiment bug1|bug2|all [--safety-mode both|safe|unsafe|<unsafe mode>] [--runs N] [--seconds S]";

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
for (let run = 1; run <= runs; run++) {
  for (const { bug, modes } of plan) {
    for (const mode of modes) {
      console.log(`\n== ${bug} in ${mode}${runs > 1 ? `, run ${run} of ${runs}` : ""}`);
      const out = await runBugExperiment(bug, mode, seconds);
      const expected = mode === "safe" ? "linearizable" : "not linearizable";
      outcomes.push({ ...out, run, expected, asExpected: out.verdict === expected });
    }
  }
}

console.log("\n== results");
for (const o of outcomes) {
  console.log(
    `${o.bug} ${o.mode.padEnd(18)} ${o.verdict.padEnd(17)} (expected ${o.expected})${
      o.asExpected ? "" : "  <-- UNEXPECTED"
    }  ${o.operations} ops, {3,4,5} elected a leader: ${
      o.sideLeaderElected ? "yes" : "no"
    }; report ${o.htmlPath}`,
  );
  if (o.explanation) console.log(`    ${o.explanation}`);
}

const table = plan.flatMap(({ bug, modes }) =>
  modes.map((mode) => {
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
await writeResults(`experiment-${bugs.join("-")}`, { runs, seconds, table, allAsPredicted, outcomes }, {
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
