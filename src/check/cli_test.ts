import assert from "node:assert/strict";
import { main, parseDuration } from "./cli.ts";
import { HistoryRecorder } from "./history.ts";
import { simulateKvHistory } from "./simulate.ts";

/** Runs main() with console output captured. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await main(args), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function staleReadHistory(): string {
  let now = 0;
  const r = new HistoryRecorder({ model: "kv", now: () => now++ });
  for (const [op, value] of [["put", "a"], ["put", "b"]] as const) r.ok(r.call("c1", op, "x", value));
  r.ok(r.call("c2", "get", "x"), "a");
  r.ok(r.call("c2", "get", "y"), "");
  return r.toJsonl();
}

function simulatedJsonl(operations: number, keys: number, clients: number): string {
  const lines = [];
  for (
    const o of simulateKvHistory({ operations, keys, clients, seed: 11, mix: { append: 30 } }).operations
  ) {
    lines.push({
      type: "call",
      id: o.id,
      client: o.client,
      op: o.op,
      key: o.key,
      value: o.value,
      prev: o.prev,
      time: o.call,
    });
    if (o.status === "ok") {
      lines.push({
        type: "return",
        id: o.id,
        status: "ok",
        output: o.output,
        time: o.ret,
      });
    }
  }
  // Returns must follow their calls in the file only by time, not by line: sort by time as a recorder would.
  return lines.sort((a, b) => a.time - b.time).map((l) => JSON.stringify(l)).join("\n");
}

Deno.test("cli: exit codes, verdict line and HTML report", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("linearizable -> 0", async () => {
      const path = `${dir}/ok.jsonl`;
      await Deno.writeTextFile(path, simulatedJsonl(500, 5, 4));
      const { code, out } = await run([path]);
      assert.equal(code, 0);
      assert.match(out, /^linearizable: 500 operations on 5 keys, checked in [\d.]+ s$/);
    });
    await t.step("not linearizable -> 1, with the evidence in the line and an HTML page", async () => {
      const path = `${dir}/stale.jsonl`;
      await Deno.writeTextFile(path, staleReadHistory());
      const { code, out, err } = await run([path, "--html", `${dir}/stale.html`]);
      assert.equal(code, 1);
      assert.match(
        out,
        /^NOT linearizable: key "x" \(3 ops\) breaks at get\["x"\]\(\) -> "a" \(client c2, op 2\)/,
      );
      assert.match(out, /after a 2-op linearizable prefix; 1 of 2 keys fail/);
      assert.match(err, /wrote .*stale\.html/);
      assert.match(await Deno.readTextFile(`${dir}/stale.html`), /^<!doctype html>/);
    });
    await t.step("Jepsen EDN input", async () => {
      const path = `${dir}/h.edn`;
      await Deno.writeTextFile(
        path,
        `{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n` +
          `{:process 1, :type :invoke, :f :read, :value nil}\n{:process 1, :type :ok, :f :read, :value 2}\n`,
      );
      const { code, out } = await run([path]);
      assert.equal(code, 1, "register model picked by itself; a read of 2 was never written");
      assert.match(out, /^NOT linearizable/);
    });
    await t.step("time budget exceeded -> 2 and says so", async () => {
      const path = `${dir}/hard.jsonl`;
      await Deno.writeTextFile(path, simulatedJsonl(20_000, 1, 24));
      const { code, out } = await run([path, "--timeout", "50ms", "--workers", "0"]);
      assert.equal(code, 2);
      assert.match(
        out,
        /^unknown: no violation found, but 1 of 1 keys could not be decided \(time budget exceeded\)/,
      );
    });
    const bad: Array<[string, string[], RegExp]> = [
      ["no file given", [], /which history\? give one or more files/],
      ["missing file", [`${dir}/nope.jsonl`], /nope\.jsonl: no such file/],
      [
        "unknown option",
        [`${dir}/ok.jsonl`, "--fast"],
        /^error: Unknown option '--fast'\nrun `deno task check --help` for the options$/,
      ],
      ["bad timeout", [`${dir}/ok.jsonl`, "--timeout", "soon"], /cannot read "soon"/],
      ["unknown model", [`${dir}/ok.jsonl`, "--model", "queue"], /unknown model "queue"/],
      ["wrong model", [`${dir}/ok.jsonl`, "--model", "register"], /does not fit the register model/],
    ];
    for (const [name, args, message] of bad) {
      await t.step(`bad input -> 2: ${name}`, async () => {
        const { code, err } = await run(args);
        assert.equal(code, 2);
        assert.match(err, message);
        assert.doesNotMatch(err, /\n\s+at /, "no stack trace");
      });
    }
    await t.step("several histories in one call: a line each, the worst exit code, a page each", async () => {
      const { code, out, err } = await run([
        `${dir}/ok.jsonl`,
        `${dir}/stale.jsonl`,
        "--html",
        `${dir}/pages`,
      ]);
      assert.equal(code, 1, "one of them is not linearizable");
      const lines = out.split("\n");
      assert.equal(lines.length, 2);
      assert.match(lines[0], /ok\.jsonl: linearizable: 500 operations/);
      assert.match(lines[1], /stale\.jsonl: NOT linearizable/);
      assert.match(err, /2 histories: 1 linearizable, 1 not linearizable, 0 unknown or unreadable/);
      assert.match(await Deno.readTextFile(`${dir}/pages/ok.html`), /^<!doctype html>/);
      assert.match(await Deno.readTextFile(`${dir}/pages/stale.html`), /^<!doctype html>/);
      const unreadable = await run([`${dir}/ok.jsonl`, `${dir}/nope.jsonl`]);
      assert.equal(unreadable.code, 2, "no violation, one file unreadable");
      assert.match(unreadable.err, /nope\.jsonl: no such file/);
    });
    await t.step("bad input -> 2: broken JSON names the line", async () => {
      await Deno.writeTextFile(
        `${dir}/broken.jsonl`,
        `{"type":"call","id":1,"client":1,"op":"get","key":"x"}\n{oops\n`,
      );
      const { code, err } = await run([`${dir}/broken.jsonl`]);
      assert.equal(code, 2);
      assert.match(err, /broken\.jsonl:2: not JSON/);
    });
    await t.step("through deno task's entry point: the exit code comes out of the process", async () => {
      const task = new URL("./task.ts", import.meta.url).pathname;
      const { code, stdout } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-sys",
          task,
          `${dir}/stale.jsonl`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(code, 1);
      assert.match(new TextDecoder().decode(stdout), /^NOT linearizable/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseDuration reads ms, s, m and plain seconds", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("60s"), 60_000);
  assert.equal(parseDuration("1.5m"), 90_000);
  assert.equal(parseDuration("2"), 2000);
  assert.throws(() => parseDuration("-1s"), /cannot read/);
});
