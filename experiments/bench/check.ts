/**
 * `deno task bench check [--quick] [--sizes 10k,100k,1M] [--unknown 0.01] [--seed 1]`
 *
 * The linearizability checker on simulated histories (src/check/simulate.ts: clients against an atomic
 * store with random linearization points, so every history is linearizable; 1% of the ops time out and
 * took effect or not). Operations like the nemesis harness's: get 50%, put 30%, cas 10%, delete 10%.
 * For each size and shape (keys x clients) it reports the wall time of the check on one thread and,
 * from 100k ops on, with 2 worker threads; the peak RSS; the search's steps and stored configurations.
 * Each measurement runs in a fresh process, so that no run's memory counts against the next.
 * Writes bench-results/check.json and bench-results/check.svg.
 */
import { parseFlags, positiveIntegers, UsageError } from "../../src/cli/args.ts";
import { checkHistory } from "../../src/check/checker.ts";
import { kvModel } from "../../src/check/kv_model.ts";
import { simulateKvHistory } from "../../src/check/simulate.ts";
import { writeResults } from "../lib/results.ts";
import { lineChart, type Series } from "../lib/charts.ts";

const SHAPES = [
  { keys: 10, clients: 2 },
  { keys: 10, clients: 64 },
  { keys: 100, clients: 16 },
  { keys: 1000, clients: 64 },
];
const MIX = { get: 50, put: 30, cas: 10, delete: 10, append: 0 };
const TIMEOUT_MS = 300_000;
const TARGET = { operations: 100_000, seconds: 10 };

/** What one child process measures: one history, checked once. */
interface Measurement {
  generateSeconds: number;
  unknownOps: number;
  seconds: number;
  peakRssMB: number;
  verdict: string;
  steps: number;
  configs: number;
  slowestKeySeconds: number;
}

interface Job {
  operations: number;
  keys: number;
  clients: number;
  seed: number;
  unknown: number;
  workers: number;
}

interface RunResult {
  operations: number;
  keys: number;
  clients: number;
  unknownOps: number;
  generateSeconds: number;
  oneThread: Measurement;
  twoWorkers?: Measurement;
}

export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args);
  const plan = options.sizes.flatMap((operations) => SHAPES.map((shape) => ({ operations, ...shape })));
  console.log(
    `checker benchmark: ${plan.length} histories (${options.sizes.map(formatCount).join(", ")} ops; ` +
      `${SHAPES.map((s) => `${s.keys} keys/${s.clients} clients`).join(", ")}), ` +
      `${options.unknown * 100}% unknown outcomes`,
  );
  const results: RunResult[] = [];
  for (const [i, p] of plan.entries()) {
    const label = `[${i + 1}/${plan.length}] ${
      formatCount(p.operations)
    } ops, ${p.keys} keys, ${p.clients} clients`;
    const job = { ...p, seed: options.seed + i, unknown: options.unknown };
    console.log(`${label}: checking on one thread`);
    const oneThread = await measureInChild({ ...job, workers: 0 }, label);
    const result: RunResult = {
      operations: p.operations,
      keys: p.keys,
      clients: p.clients,
      unknownOps: oneThread.unknownOps,
      generateSeconds: oneThread.generateSeconds,
      oneThread,
    };
    if (p.operations >= 100_000 && navigator.hardwareConcurrency >= 2) {
      console.log(`${label}: checking with 2 worker threads`);
      result.twoWorkers = await measureInChild({ ...job, workers: 2 }, label);
    }
    for (const m of [result.oneThread, result.twoWorkers]) {
      if (m && m.verdict !== "linearizable") {
        console.log(`!!! ${label}: the checker said "${m.verdict}" on a linearizable history`);
      }
    }
    console.log(
      `${label}: ${oneThread.seconds} s on one thread` +
        (result.twoWorkers ? `, ${result.twoWorkers.seconds} s with 2 workers` : "") +
        `, peak RSS ${oneThread.peakRssMB} MB`,
    );
    results.push(result);
  }
  printTable(results);
  const atTarget = results.filter((r) => r.operations === TARGET.operations);
  if (atTarget.length > 0) {
    const worst = Math.max(...atTarget.map((r) => r.oneThread.seconds));
    console.log(
      `target: ${
        formatCount(TARGET.operations)
      } ops in under ${TARGET.seconds} s: worst ${worst} s on one thread -> ` +
        (worst < TARGET.seconds ? "met" : "MISSED"),
    );
  }
  await writeResults(
    "check",
    { mix: MIX, unknownRate: options.unknown, seed: options.seed, target: TARGET, runs: results },
    await chart(results),
  );
}

/** Runs one measurement in a fresh Deno process (this file as its main module); its progress goes to stderr. */
async function measureInChild(job: Job, label: string): Promise<Measurement> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      // As `deno task check` runs (deno.json): Maglev as the top tier, see src/check/README.md.
      "--v8-flags=--max-opt=2",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      new URL(import.meta.url).pathname,
      JSON.stringify(job),
      label,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const { code, stdout } = await child.output();
  const text = new TextDecoder().decode(stdout).trim();
  if (code !== 0) throw new Error(`${label}: the measuring process failed (exit ${code}): ${text}`);
  return JSON.parse(text.split("\n").pop()!);
}

/** The child's side: generate, check, print one JSON line. */
async function measureHere(job: Job, label: string): Promise<Measurement> {
  let started = performance.now();
  const history = simulateKvHistory({ ...job, unknownRate: job.unknown, mix: MIX });
  const generateSeconds = (performance.now() - started) / 1000;
  let peak = Deno.memoryUsage().rss;
  const sample = () => peak = Math.max(peak, Deno.memoryUsage().rss);
  // A one-thread check blocks timers, so RSS is also sampled after every key.
  const timer = setInterval(sample, 100);
  started = performance.now();
  let lastPrint = started;
  try {
    const result = await checkHistory(history, {
      model: kvModel,
      timeoutMs: TIMEOUT_MS,
      workers: job.workers,
      onProgress(done, total) {
        sample();
        const now = performance.now();
        if (now - lastPrint < 2000) return;
        lastPrint = now;
        console.error(`${label}:   ${done}/${total} keys checked (${((now - started) / 1000).toFixed(1)} s)`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    sample();
    return {
      generateSeconds: round(generateSeconds),
      unknownOps: history.operations.filter((o) => o.status === "unknown").length,
      seconds: round(seconds),
      peakRssMB: Math.round(peak / 1e6),
      verdict: result.verdict,
      steps: result.partitions.reduce((s, x) => s + x.steps, 0),
      configs: result.partitions.reduce((s, x) => s + x.configs, 0),
      slowestKeySeconds: round(Math.max(...result.partitions.map((x) => x.elapsedMs)) / 1000),
    };
  } finally {
    clearInterval(timer);
  }
}

function printTable(results: RunResult[]): void {
  const header = [
    "ops",
    "keys",
    "clients",
    "unknown",
    "gen s",
    "check s",
    "2 workers s",
    "steps",
    "configs",
    "peak RSS MB",
  ];
  const rows = results.map((r) => [
    formatCount(r.operations),
    String(r.keys),
    String(r.clients),
    String(r.unknownOps),
    r.generateSeconds.toFixed(2),
    r.oneThread.seconds.toFixed(2),
    r.twoWorkers ? r.twoWorkers.seconds.toFixed(2) : "-",
    r.oneThread.steps.toLocaleString("en-US"),
    r.oneThread.configs.toLocaleString("en-US"),
    String(r.oneThread.peakRssMB),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  console.log("\n" + line(header));
  for (const row of rows) console.log(line(row));
  console.log("");
}

function chart(results: RunResult[]): Promise<string> {
  const series: Series[] = SHAPES.map((s) => ({
    system: `${s.keys} keys, ${s.clients} clients`,
    variant: "1 thread",
    points: results.filter((r) => r.keys === s.keys && r.clients === s.clients)
      .map((r): [number, number] => [r.operations, r.oneThread.seconds]),
  }));
  for (const s of SHAPES.filter((s) => s.keys === 10)) {
    series.push({
      system: `${s.keys} keys, ${s.clients} clients`,
      variant: "2 workers",
      points: results.filter((r) => r.keys === s.keys && r.clients === s.clients && r.twoWorkers)
        .map((r): [number, number] => [r.operations, r.twoWorkers!.seconds]),
    });
  }
  return lineChart({
    title: "Linearizability checker: wall time by history size (1% unknown outcomes)",
    xLabel: "operations in the history",
    yLabel: "seconds to check",
    series,
    logX: true,
    logY: true,
    colourTitle: "history shape",
  });
}

function parseArgs(args: string[]): { sizes: number[]; unknown: number; seed: number } {
  const { values } = parseFlags(args, {
    quick: { type: "boolean" },
    sizes: { type: "string" },
    unknown: { type: "string", default: "0.01" },
    seed: { type: "string", default: "1" },
  });
  const unknown = Number(values.unknown);
  if (!(unknown >= 0 && unknown <= 1)) {
    throw new UsageError(`--unknown is a fraction between 0 and 1, got "${values.unknown}"`);
  }
  const sizes = values.sizes !== undefined
    ? values.sizes.split(",").map(parseCount)
    : values.quick
    ? [10_000, 100_000]
    : [10_000, 100_000, 1_000_000];
  return { sizes, unknown, seed: positiveIntegers("seed", values.seed!)[0] };
}

function parseCount(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--sizes: cannot read "${text}": write e.g. 10k,100k,1M`);
  return Math.round(Number(m[1]) * (m[2].toLowerCase() === "k" ? 1e3 : m[2].toLowerCase() === "m" ? 1e6 : 1));
}

function formatCount(n: number): string {
  return n >= 1e6 && n % 1e5 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 100 === 0 ? `${n / 1e3}k` : String(n);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.main) {
  const [job, label] = Deno.args;
  console.log(JSON.stringify(await measureHere(JSON.parse(job), label)));
}
