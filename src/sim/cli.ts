/**
 * deno task sim [--safety-mode safe|unsafe-early-vote|unsafe-no-joint|all] [--scenario random|bug1|bug2|all]
 *               [--seeds N] [--first S] [--duration MS] [--json FILE]
 * deno task sim --scenario S --safety-mode M --seed N [--trace]     replay one seed with a readable trace
 * deno task sim --scenario S --safety-mode M --seed N --trace-json F ... and write it as JSON (deno task ui)
 *
 * Runs seeded simulations and prints, per scenario and mode, in how many seeds an invariant was
 * violated, and in how many the cluster did not recover once the faults stopped (a stall).
 * Exits 1 if `safe` mode violated anything or stalled (that is a bug in raft-kv).
 */
import { UsageError, usageErrorLines } from "../cli/args.ts";
import { parseArgs } from "node:util";
import process from "node:process";
import { SAFETY_MODES, type SafetyMode } from "../raft/mod.ts";
import { parseSafetyMode } from "../raft/mod.ts";
import { randomRun } from "./random_run.ts";
import { type BugName, runBug } from "./bug_scenarios.ts";
import type { Violation } from "./invariants.ts";
import { recordSimTrace } from "./trace_json.ts";

type ScenarioName = "random" | BugName;
const SCENARIOS: ScenarioName[] = ["random", "bug1", "bug2"];

interface Outcome {
  violations: Violation[];
  /** Simulator events processed. */
  steps: number;
  /** Liveness failures after healing (random runs only). */
  stalls?: string[];
  trace: string[];
}

function runOne(
  scenario: ScenarioName,
  seed: number,
  mode: SafetyMode,
  trace: boolean,
  duration: number,
): Outcome {
  return scenario === "random"
    ? randomRun({ seed, mode, trace, durationMs: duration })
    : runBug(scenario, seed, mode, trace);
}

const USAGE =
  "usage: deno task sim [--safety-mode safe|unsafe-early-vote|unsafe-no-joint|all] [--scenario random|bug1|bug2|all]\n" +
  "                     [--seeds N] [--first S] [--duration MS] [--json FILE]\n" +
  "       deno task sim --scenario NAME --safety-mode MODE --seed N [--trace] [--trace-json FILE]";

function usage(message: string): never {
  console.error(usageErrorLines("sim", new UsageError(message)));
  Deno.exit(2);
}

function replayCommand(scenario: ScenarioName, mode: SafetyMode, seed: number): string {
  return `deno task sim --scenario ${scenario} --safety-mode ${mode} --seed ${seed} --trace`;
}

function printViolations(violations: Violation[]): void {
  for (const v of violations.slice(0, 5)) console.log(`  ${v.invariant} at ${v.time}ms: ${v.detail}`);
  if (violations.length > 5) console.log(`  ... and ${violations.length - 5} more`);
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        "safety-mode": { type: "string", default: "all" },
        mode: { type: "string" },
        scenario: { type: "string", default: "all" },
        seeds: { type: "string", default: "200" },
        first: { type: "string", default: "1" },
        seed: { type: "string" },
        duration: { type: "string", default: "6000" },
        trace: { type: "boolean", default: false },
        "trace-json": { type: "string" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  // One flag name per idea across the CLIs: local, jepsen and experiment say --safety-mode too.
  if (args.mode !== undefined) usage("--mode is now --safety-mode (as in deno task local and jepsen)");
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const modes: SafetyMode[] = args["safety-mode"] === "all" ? [...SAFETY_MODES] : (() => {
    try {
      return [parseSafetyMode(args["safety-mode"]!)];
    } catch (e) {
      usage((e as Error).message);
    }
  })();
  const scenarios = args.scenario === "all"
    ? SCENARIOS
    : SCENARIOS.includes(args.scenario as ScenarioName)
    ? [args.scenario as ScenarioName]
    : usage(`unknown scenario "${args.scenario}" (random, bug1, bug2, all)`);
  const duration = Number(args.duration);
  if (!Number.isInteger(duration) || duration <= 0) {
    usage(`--duration must be a positive integer, got ${args.duration}`);
  }

  const traceJson = args["trace-json"];
  if (traceJson !== undefined && (args.seed === undefined || scenarios.length > 1 || modes.length > 1)) {
    usage("--trace-json needs one --scenario, one --safety-mode and a --seed");
  }
  if (args.seed !== undefined) {
    const seed = Number(args.seed);
    if (!Number.isInteger(seed)) usage(`--seed must be an integer, got ${args.seed}`);
    if (traceJson !== undefined) {
      const [scenario, mode] = [scenarios[0], modes[0]];
      const { result, trace } = recordSimTrace(
        { scenario, mode, seed },
        () => runOne(scenario, seed, mode, true, duration),
      );
      await Deno.writeTextFile(traceJson, JSON.stringify(trace));
      console.log(
        `${scenario} ${mode} seed ${seed}: ${result.violations.length ? "VIOLATED" : "no violation"}`,
      );
      const left = trace.truncated
        ? ` (${trace.truncated} more left out of the middle: the first and last ones are kept)`
        : "";
      console.log(`wrote ${trace.events.length} events to ${traceJson}${left}; open it in deno task ui`);
      return 0;
    }
    for (const scenario of scenarios) {
      for (const mode of modes) {
        const out = runOne(scenario, seed, mode, args.trace!, duration);
        if (args.trace) console.log(out.trace.join("\n"));
        console.log(
          `${scenario} ${mode} seed ${seed}: ${out.violations.length ? "VIOLATED" : "no violation"}`,
        );
        printViolations(out.violations);
        for (const stall of out.stalls ?? []) console.log(`  STALL: ${stall}`);
      }
    }
    return 0;
  }

  const seeds = Number(args.seeds), first = Number(args.first);
  if (!Number.isInteger(seeds) || seeds <= 0) usage(`--seeds must be a positive integer, got ${args.seeds}`);
  if (!Number.isInteger(first)) usage(`--first must be an integer, got ${args.first}`);

  const rows: Array<
    {
      scenario: string;
      mode: string;
      seeds: number;
      violated: number;
      stalled: number;
      firstSeed?: number;
      ms: number;
      /** CPU time of this process (the machine may be shared; wall time then overstates). */
      cpuMs: number;
      steps: number;
      seedsPerCpuSecond: number;
      stepsPerCpuSecond: number;
    }
  > = [];
  let safeBroken = false;
  for (const scenario of scenarios) {
    for (const mode of modes) {
      const t0 = performance.now();
      const cpu0 = cpuMs();
      let violated = 0, stalled = 0, steps = 0;
      let firstSeed: number | undefined;
      let lastReport = t0;
      for (let seed = first; seed < first + seeds; seed++) {
        const out = runOne(scenario, seed, mode, false, duration);
        steps += out.steps;
        if (out.stalls?.length) {
          stalled++;
          if (mode === "safe") {
            safeBroken = true;
            console.log(`\nSTALL in safe mode: ${scenario} seed ${seed}: ${out.stalls.join("; ")}`);
            console.log(`replay: ${replayCommand(scenario, mode, seed)}\n`);
          }
        }
        if (out.violations.length) {
          violated++;
          if (firstSeed === undefined) {
            firstSeed = seed;
            if (mode === "safe") {
              safeBroken = true;
              console.log(`\nSAFETY VIOLATION in safe mode: ${scenario} seed ${seed}`);
              printViolations(out.violations);
              const replay = runOne(scenario, seed, mode, true, duration);
              console.log("--- trace (last events) ---");
              console.log(replay.trace.slice(-80).join("\n"));
              console.log(`replay: ${replayCommand(scenario, mode, seed)}\n`);
            }
          }
        }
        const now = performance.now();
        if (now - lastReport > 5000) {
          lastReport = now;
          console.error(
            `  ${scenario} ${mode}: ${seed - first + 1}/${seeds} seeds, ${violated} violated ...`,
          );
        }
      }
      const ms = performance.now() - t0;
      const cpu = cpuMs() - cpu0;
      rows.push({
        scenario,
        mode,
        seeds,
        violated,
        stalled,
        firstSeed,
        ms,
        cpuMs: cpu,
        steps,
        seedsPerCpuSecond: seeds / (cpu / 1000),
        stepsPerCpuSecond: steps / (cpu / 1000),
      });
      const rate = ((violated / seeds) * 100).toFixed(1);
      console.log(
        `${scenario.padEnd(7)} ${mode.padEnd(18)} violations in ${
          String(violated).padStart(5)
        } of ${seeds} seeds (${rate.padStart(5)}%), stalls ${stalled}  ${(ms / 1000).toFixed(1)}s, ` +
          `${(seeds / (cpu / 1000)).toFixed(0)} seeds/s, ${
            (steps / (cpu / 1000) / 1000).toFixed(0)
          }k steps/s (CPU)` +
          (firstSeed !== undefined ? `  first: ${replayCommand(scenario, mode, firstSeed)}` : ""),
      );
    }
  }
  if (args.json) {
    await Deno.writeTextFile(
      args.json,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          duration,
          loadAverage: Deno.loadavg(),
          note: "nodes run the production driver over a simulated disk (delays, torn writes, wipes)",
          rows,
        },
        null,
        2,
      ),
    );
    console.log(`wrote ${args.json}`);
  }
  if (safeBroken) console.log("FAILED: safe mode violated a Raft invariant or stalled (see above)");
  return safeBroken ? 1 : 0;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

Deno.exit(await main());
