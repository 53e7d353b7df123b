/**
 * `deno task bench check-vs-porcupine [--rounds N]`
 *
 * raft-kv's linearizability checker against Porcupine (Go, github.com/anishathalye/porcupine v1.3.1)
 * on Porcupine's own key-value fixtures (test_data/kv: c01/c10/c50 clients, -ok linearizable, -bad
 * not), in the same run, alternating which goes first each round (the machine's speed drifts).
 * What a user waits for is measured: one process per history, from start to exit, wall time and CPU
 * time (user + system, from bash's `times`); plus one row for the six files at once, which raft-kv
 * checks in one process (`deno task check a b c ...`) and Porcupine in six. Porcupine also reports
 * its parse and check times from inside (the Go runtime starts in about a millisecond; Deno in
 * about 25). raft-kv runs exactly as `deno task check` does (flags from deno.json). Both verdicts
 * must match the file name, or the run fails: this is also a cross-check of the two checkers.
 *
 * Porcupine is built from its Go module once per machine (experiments/bench/porcupine/, cached in
 * ~/.cache/raft-kv/); the fixtures come with the module's source. Writes
 * bench-results/check-vs-porcupine.{json,md,svg}.
 */
import { parseFlags, positiveIntegers, UsageError } from "../../src/cli/args.ts";
import { ensureGoBinary, type GoFixture } from "../../src/localkube/cached_go_binary.ts";
import { barChart, type GroupedBar } from "../lib/charts.ts";
import { markdownTable, writeResults } from "../lib/results.ts";

const PORCUPINE: GoFixture = {
  name: "porcupine-kv",
  what: "Porcupine (the Go linearizability checker) with a key-value model",
  moduleDir: new URL("./porcupine/", import.meta.url).pathname,
  sources: ["go.mod", "go.sum", "main.go"],
  pkg: ".",
};
const FIXTURES = ["c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"];
const ALL = "all six";
const REPO = new URL("../../", import.meta.url).pathname;

type System = "raft-kv" | "porcupine";

interface Sample {
  wallMs: number;
  cpuMs: number;
  /** Porcupine only: its own parse and check times (summed over files for ALL). */
  parseMs?: number;
  checkMs?: number;
}

interface Row {
  history: string;
  system: System;
  runs: number;
  wallMs: { median: number; min: number; max: number };
  cpuMs: { median: number; min: number; max: number };
  parseMs?: number;
  checkMs?: number;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    rounds: { type: "string" },
    quick: { type: "boolean" },
    help: { type: "boolean" },
  });
  if (values.help) {
    console.log(
      "usage: deno task bench check-vs-porcupine [--rounds N] [--quick]   (default 10 rounds, --quick 3)",
    );
    return;
  }
  const rounds = values.rounds ? oneCount(values.rounds) : values.quick ? 3 : 10;

  const porcupine = await ensureGoBinary(PORCUPINE, (line) => console.log(line));
  const dir = await fixtureDir(porcupine);
  const files = FIXTURES.map((f) => `${dir}/${f}.txt`);
  for (const file of files) await Deno.stat(file); // a clear error when the module's test data is missing
  const ours = denoTaskCheck();
  console.log(`raft-kv: deno ${ours.join(" ")} <history>...`);
  console.log(`porcupine: ${porcupine} <history>  (fixtures from ${dir})`);
  console.log(`${rounds} rounds, alternating which system goes first`);

  const samples = new Map<string, Sample[]>();
  const add = (history: string, system: System, s: Sample) => {
    const key = `${history}\0${system}`;
    samples.set(key, [...(samples.get(key) ?? []), s]);
  };
  for (let round = 0; round < rounds; round++) {
    const order: System[] = round % 2 === 0 ? ["raft-kv", "porcupine"] : ["porcupine", "raft-kv"];
    for (const [i, history] of FIXTURES.entries()) {
      for (const system of order) {
        add(
          history,
          system,
          system === "raft-kv" ? await runOurs(ours, [files[i]]) : await runPorcupine(porcupine, files[i]),
        );
      }
    }
    for (const system of order) {
      if (system === "raft-kv") add(ALL, system, await runOurs(ours, files));
      else {
        const each = [];
        for (const file of files) each.push(await runPorcupine(porcupine, file));
        add(ALL, system, {
          wallMs: sum(each.map((s) => s.wallMs)),
          cpuMs: sum(each.map((s) => s.cpuMs)),
          parseMs: sum(each.map((s) => s.parseMs!)),
          checkMs: sum(each.map((s) => s.checkMs!)),
        });
      }
    }
    console.log(`round ${round + 1}/${rounds} done`);
  }

  const rows: Row[] = [];
  for (const history of [...FIXTURES, ALL]) {
    for (const system of ["raft-kv", "porcupine"] as System[]) {
      const s = samples.get(`${history}\0${system}`)!;
      rows.push({
        history,
        system,
        runs: s.length,
        wallMs: stats(s.map((x) => x.wallMs)),
        cpuMs: stats(s.map((x) => x.cpuMs)),
        ...(system === "porcupine"
          ? { parseMs: median(s.map((x) => x.parseMs!)), checkMs: median(s.map((x) => x.checkMs!)) }
          : {}),
      });
    }
  }
  const table = summaryTable(rows);
  console.log(table);
  await writeResults(
    "check-vs-porcupine",
    {
      porcupine: "github.com/anishathalye/porcupine v1.3.1",
      rounds,
      command: `deno ${ours.join(" ")}`,
      rows,
    },
    { charts: { "": await chart(rows, rounds) }, summary: table },
  );
}

/** Porcupine's test_data/kv: where Go put the module (`go list`), else where the binary thinks it is. */
async function fixtureDir(binary: string): Promise<string> {
  try {
    const list = await output(
      "go",
      ["list", "-m", "-f", "{{.Dir}}", "github.com/anishathalye/porcupine"],
      {},
      PORCUPINE.moduleDir,
    );
    if (list.code === 0 && list.stdout.trim()) return `${list.stdout.trim()}/test_data/kv`;
  } catch { /* no go on PATH: the cached binary's own guess */ }
  return (await output(binary, ["--testdata"])).stdout.trim();
}

/** The arguments `deno task check` passes to deno, from deno.json, so that both run alike. */
function denoTaskCheck(): string[] {
  const task: string = JSON.parse(Deno.readTextFileSync(`${REPO}deno.json`)).tasks.check;
  const [deno, ...args] = task.split(/\s+/);
  if (deno !== "deno") throw new Error(`deno.json's check task does not start with deno: ${task}`);
  return args.map((a) => a.startsWith("src/") ? `${REPO}${a}` : a);
}

async function runOurs(args: string[], files: string[]): Promise<Sample> {
  const { stdout, code, sample } = await timed(Deno.execPath(), [...args, ...files]);
  const verdicts = stdout.split("\n").filter((l) => /linearizable/.test(l));
  if (verdicts.length !== files.length) throw new Error(`raft-kv's checker printed:\n${stdout}`);
  files.forEach((file, i) =>
    expectVerdict("raft-kv", file, !verdicts[i].includes("NOT linearizable"), verdicts[i])
  );
  const anyBad = files.some((f) => f.endsWith("-bad.txt"));
  if (code !== (anyBad ? 1 : 0)) throw new Error(`raft-kv's checker exited with ${code}:\n${stdout}`);
  return sample;
}

async function runPorcupine(binary: string, file: string): Promise<Sample> {
  const { stdout, sample } = await timed(binary, [file]);
  const result = JSON.parse(stdout) as { linearizable: boolean; parseMs: number; checkMs: number };
  expectVerdict("porcupine", file, result.linearizable, stdout);
  return { ...sample, parseMs: result.parseMs, checkMs: result.checkMs };
}

function expectVerdict(system: System, file: string, linearizable: boolean, said: string): void {
  if (linearizable !== file.endsWith("-ok.txt")) {
    throw new Error(`${system} got ${file} wrong: ${said.trim()}`);
  }
}

/** Runs `command` under bash, whose `times` gives the child's CPU time (user + system). */
async function timed(command: string, args: string[]) {
  const out = await Deno.makeTempFile({ prefix: "check-vs-porcupine-" });
  try {
    const started = performance.now();
    const result = await output("bash", [
      "-c",
      '"$@" > "$OUT"; code=$?; times >&2; exit $code',
      "bash",
      command,
      ...args,
    ], { OUT: out });
    const wallMs = performance.now() - started;
    // `times`: the shell's user and system time, then its children's: "0m0.081s 0m0.031s".
    const children = result.stderr.trim().split("\n").at(-1)!.match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/);
    if (!children) throw new Error(`no CPU times from bash: ${result.stderr}`);
    const cpuMs =
      (Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4])) *
      1000;
    return { stdout: await Deno.readTextFile(out), code: result.code, sample: { wallMs, cpuMs } };
  } finally {
    await Deno.remove(out);
  }
}

async function output(command: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const out = await new Deno.Command(command, { args, env, cwd, stdout: "piped", stderr: "piped" }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  if (out.code > 1) {
    throw new Error(`${command} ${args.join(" ")} failed (exit ${out.code}): ${decode(out.stderr)}`);
  }
  return { stdout: decode(out.stdout), stderr: decode(out.stderr), code: out.code };
}

function summaryTable(rows: Row[]): string {
  const byHistory = [...new Set(rows.map((r) => r.history))];
  return markdownTable(
    [
      "history",
      "raft-kv CPU ms",
      "Porcupine CPU ms",
      "CPU ratio",
      "raft-kv wall ms",
      "Porcupine wall ms",
      "Porcupine parse + check ms",
    ],
    byHistory.map((history) => {
      const ours = rows.find((r) => r.history === history && r.system === "raft-kv")!;
      const theirs = rows.find((r) => r.history === history && r.system === "porcupine")!;
      return [
        history,
        ours.cpuMs.median.toFixed(0),
        theirs.cpuMs.median.toFixed(0),
        `${(theirs.cpuMs.median / ours.cpuMs.median).toFixed(2)}x`,
        ours.wallMs.median.toFixed(0),
        theirs.wallMs.median.toFixed(0),
        `${theirs.parseMs!.toFixed(1)} + ${theirs.checkMs!.toFixed(1)}`,
      ];
    }),
  ) +
    "\n\nMedians over the rounds; CPU ratio is Porcupine's CPU time over raft-kv's (above 1: raft-kv is faster).";
}

function chart(rows: Row[], rounds: number): Promise<string> {
  const bars: GroupedBar[] = rows.map((r) => ({
    group: r.history,
    system: r.system === "raft-kv" ? "raft-kv" : "Porcupine",
    value: Math.round(r.cpuMs.median),
    high: Math.round(r.cpuMs.max),
  }));
  return barChart({
    title: "Checker CPU time per run: raft-kv vs Porcupine",
    subtitle:
      `Porcupine's kv fixtures, a fresh process per run (the six: one raft-kv process, six Porcupine), ` +
      `median of ${rounds} alternating rounds, whisker to the slowest`,
    yLabel: "CPU time, ms (user + system)",
    bars,
  });
}

function stats(values: number[]) {
  return {
    median: round1(median(values)),
    min: round1(Math.min(...values)),
    max: round1(Math.max(...values)),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function oneCount(text: string): number {
  const [n, ...more] = positiveIntegers("rounds", text);
  if (more.length > 0) throw new UsageError(`--rounds takes one number, got "${text}"`);
  return n;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const round1 = (x: number) => Math.round(x * 10) / 10;
