import assert from "node:assert/strict";
import { parseFlags, positiveIntegers, positiveNumber, UsageError } from "./args.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(script: string, args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}${script}`, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("parseFlags: unknown flags, missing values and stray words are usage errors", () => {
  const options = { seconds: { type: "string" as const }, quick: { type: "boolean" as const } };
  assert.throws(() => parseFlags(["--bogus"], options), new UsageError("Unknown option '--bogus'"));
  assert.throws(() => parseFlags(["--seconds"], options), UsageError);
  assert.throws(() => parseFlags(["extra"], options), UsageError);
  assert.deepEqual({ ...parseFlags(["--seconds", "2", "--quick"], options).values }, {
    seconds: "2",
    quick: true,
  });
  assert.throws(() => parseFlags(["--seconds", "-1"], options), /^UsageError: --seconds needs a value/);
  assert.equal(positiveNumber("seconds", "0.5"), 0.5);
  assert.throws(() => positiveNumber("seconds", "0"), /--seconds takes a positive number, got "0"/);
  assert.throws(() => positiveNumber("seconds", ""), UsageError);
  assert.deepEqual(positiveIntegers("levels", "1,8"), [1, 8]);
  assert.throws(() => positiveIntegers("levels", "1,x"), /--levels takes a comma-separated list/);
});

// Every command's mistyped flag: one line saying what is wrong, one saying where the help is, exit 2, at
// once (before the benchmark or the check starts), never a stack trace.
const MISTYPED: Array<[string, string[], string]> = [
  ["experiments/bench/main.ts", ["check", "--bogus"], "bench check"],
  ["experiments/bench/main.ts", ["core", "--bogus"], "bench core"],
  ["experiments/bench/main.ts", ["wal", "--bogus"], "bench wal"],
  ["experiments/bench/main.ts", ["transport", "--bogus"], "bench transport"],
  ["experiments/bench/main.ts", ["steady", "--bogus"], "bench steady"],
  ["experiments/bench/main.ts", ["wal", "--seconds", "-1"], "bench wal"],
  ["src/check/task.ts", ["history.jsonl", "--bogus"], "check"],
];

for (const [script, args, command] of MISTYPED) {
  Deno.test(`usage error: deno task ${command} ${args.slice(command.split(" ").length - 1).join(" ")}`, async () => {
    const { code, out, err } = await run(script, args);
    assert.equal(code, 2);
    assert.equal(out, "");
    const lines = err.trimEnd().split("\n");
    assert.equal(lines.length, 2, err);
    assert.match(lines[0], /^error: /);
    assert.equal(lines[1], `run \`deno task ${command} --help\` for the options`);
  });
}

Deno.test("one flag name per idea: the old names say what they are called now", async () => {
  const sim = await run("src/sim/cli.ts", ["--mode", "safe"]);
  assert.equal(sim.code, 2);
  assert.match(sim.err, /^error: --mode is now --safety-mode/);
  const jepsen = await run("experiments/jepsen.ts", ["--time", "5"]);
  assert.equal(jepsen.code, 2);
  assert.match(jepsen.err, /^error: Unknown option '--time'\nrun `deno task jepsen --help`/);
  const help = await run("experiments/jepsen.ts", ["--help"]);
  assert.match(help.out, /--seconds 60\] .*--safety-mode safe/);
  // deno task experiment keeps --mode as an alias of --safety-mode (issue 11).
  const experiment = await run("experiments/run.ts", ["bug1", "--mode", "nonsense"]);
  assert.equal(experiment.code, 2);
});
