import assert from "node:assert/strict";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function bench(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("every benchmark answers --help with its usage, and a bad flag with a usage error (exit 2)", async () => {
  const list = await bench("--help");
  assert.equal(list.code, 0);
  const names = [...list.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
  assert.ok(names.length >= 10, list.stdout);
  for (const name of names) {
    const help = await bench(name, "--help");
    assert.equal(help.code, 0, `${name} --help: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`usage: deno task bench ${name}`), name);
  }
  const bad = await bench("snapshot-stall", "--bogus");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown option '--bogus'/);
  assert.doesNotMatch(bad.stderr, /Uncaught/);
});
