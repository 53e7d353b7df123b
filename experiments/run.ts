/**
 * deno task experiment bug1|bug2|all [--safety-mode unsafe|safe|both] [--seconds S]
 *
 * Reproduces a membership bug on real processes and shows, with the linearizability checker,
 * that the unsafe mode breaks and `safe` does not. Exits 1 if an outcome is not the expected one
 * (a violation in safe mode, or no violation in the unsafe mode).
 */
import { parseFlags, UsageError, usageErrorLines } from "../src/cli/args.ts";
import { type BugName, type BugOutcome, runBugExperiment, UNSAFE_MODE_OF } from "./bugs.ts";
import { writeResults } from "./lib/results.ts";

const USAGE = "usage: deno task experiment bug1|bug2|all [--safety-mode unsafe|safe|both] [--seconds S]";

function usageError(message: string): never {
  console.error(usageErrorLines("experiment", new UsageError(message)));
  Deno.exit(2);
}

let values, positionals;
try {
  ({ values, positionals } = parseFlags(Deno.args, {
    "safety-mode": { type: "string", default: "both" },
    seconds: { type: "string", default: "4" },
    help: { type: "boolean", short: "h" },
  }, true));
} catch (e) {
  usageError((e as Error).message);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const which = positionals[0];
const bugs: BugName[] = which === "all"
  ? ["bug1", "bug2"]
  : which === "bug1" || which === "bug2"
  ? [which]
  : [];
const seconds = Number(values.seconds);
if (!bugs.length) usageError(`which experiment? bug1, bug2 or all, got "${which ?? ""}"`);
if (!["unsafe", "safe", "both"].includes(values["safety-mode"]!)) {
  usageError(`--safety-mode takes unsafe, safe or both, got "${values["safety-mode"]}"`);
}
if (!(seconds > 0)) usageError(`--seconds takes a positive number, got "${values.seconds}"`);

const outcomes: Array<BugOutcome & { expected: string; asExpected: boolean }> = [];
for (const bug of bugs) {
  const modes = values["safety-mode"] === "both"
    ? [UNSAFE_MODE_OF[bug], "safe" as const]
    : values["safety-mode"] === "safe"
    ? ["safe" as const]
    : [UNSAFE_MODE_OF[bug]];
  for (const mode of modes) {
    console.log(`\n== ${bug} in ${mode}`);
    const out = await runBugExperiment(bug, mode, seconds);
    const expected = mode === "safe" ? "linearizable" : "not linearizable";
    outcomes.push({ ...out, expected, asExpected: out.verdict === expected });
  }
}

console.log("\n== results");
for (const o of outcomes) {
  console.log(
    `${o.bug} ${o.mode.padEnd(18)} ${o.verdict.padEnd(17)} (expected ${o.expected})${
      o.asExpected ? "" : "  <-- UNEXPECTED"
    }` +
      `  ${o.operations} ops, minority-side leader: ${o.sideLeaderElected ? "yes" : "no"}  ${o.htmlPath}`,
  );
}
await writeResults(`experiment-${bugs.join("-")}`, { outcomes });
Deno.exit(outcomes.every((o) => o.asExpected) ? 0 : 1);
