/** The CLI run as a real subprocess (`deno run src/client/cli.ts ...`) against a fake cluster. */
import assert from "node:assert/strict";
import { FakeCluster } from "./testing/fake_cluster.ts";

const CLI = new URL("./cli.ts", import.meta.url).pathname;
const REPO = new URL("../../", import.meta.url).pathname;
const STACK_TRACE = /^\s+at |Stack backtrace|Uncaught/m;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function runCli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-env", CLI, ...args],
    cwd: REPO,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    // No endpoints from the environment or from a real local cluster unless a test gives them.
    env: {
      NO_COLOR: "1",
      RAFTKV_ENDPOINTS: "",
      RAFTKV_CLUSTER_FILE: "/nonexistent/cluster.json",
      ...options.env,
    },
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

function assertNoStackTrace(run: CliRun, what: string): void {
  assert.doesNotMatch(run.stderr, STACK_TRACE, `${what}: stderr shows a stack trace:\n${run.stderr}`);
  assert.doesNotMatch(run.stdout, STACK_TRACE, `${what}: stdout shows a stack trace:\n${run.stdout}`);
}

Deno.test("CLI: put, get, delete, CAS and status against a cluster", async (t) => {
  await using fake = await FakeCluster.start();
  const endpoints = ["--endpoints", fake.urls.join(",")];

  await t.step("put prints OK with the index; get prints the value and who served it", async () => {
    const put = await runCli([...endpoints, "put", "greeting", "hello world"]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^OK \(index \d+\)\n$/);
    const get = await runCli([...endpoints, "get", "greeting", "--node", "2"]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, "hello world\n");
    assert.match(
      get.stderr,
      new RegExp(
        `\\(modified at index ${
          put.stdout.match(/index (\d+)/)![1]
        }; served by node 2, leader is node 1, which has applied up to index \\d+\\)`,
      ),
    );
    const forwarded = await runCli([...endpoints, "put", "greeting", "hello world", "--node", "2"]);
    assert.match(forwarded.stderr, /\(served by node 1, forwarded by node 2\)/);
  });
  await t.step("stale read, a value starting with a dash", async () => {
    assert.equal((await runCli([...endpoints, "put", "n", "--", "-5"])).code, 0);
    const get = await runCli([...endpoints, "get", "n", "--stale", "--node", "3"]);
    assert.equal(get.stdout, "-5\n");
  });
  await t.step("not found and CAS mismatch exit 1", async () => {
    const missing = await runCli([...endpoints, "get", "nothing"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found/);
    const cas = await runCli([...endpoints, "put", "greeting", "x", "--prev-value", "wrong"]);
    assert.equal(cas.code, 1);
    assert.match(cas.stderr, /compare-and-swap failed.*current value: "hello world"/);
    assert.equal((await runCli([...endpoints, "put", "greeting", "x", "--if-absent"])).code, 1);
    assert.equal(
      (await runCli([...endpoints, "put", "greeting", "x", "--prev-value", "hello world"])).code,
      0,
    );
    assert.equal(fake.valueOf("greeting"), "x");
  });
  await t.step("delete", async () => {
    const deleted = await runCli([...endpoints, "delete", "greeting"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /^OK \(index \d+\)\n$/);
    assert.equal((await runCli([...endpoints, "delete", "greeting"])).code, 1);
  });
  await t.step("status, as text and as JSON", async () => {
    const text = await runCli([...endpoints, "status"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /node 1 \(leader\) of cluster fake/);
    assert.match(text.stdout, /voters 1,2,3/);
    const json = await runCli([...endpoints, "status", "--node", "3", "--json"]);
    assert.equal(JSON.parse(json.stdout).id, 3);
  });
  await t.step("bad input the server would refuse is a usage error", async () => {
    const run = await runCli([...endpoints, "put", "", "v"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad key: the key is empty/);
    assert.equal((await runCli([...endpoints, "get", "k", "--node", "9"])).code, 2);
  });
});

Deno.test("CLI: a dead node is named, the next one is tried; pinned to it, the CLI gives up", async () => {
  await using fake = await FakeCluster.start();
  const dir = await Deno.makeTempDir({ prefix: "raftkv-cli-" });
  try {
    const clusterFile = `${dir}/cluster.json`;
    const nodes = [1, 2, 3].map((id) => ({ id, clientUrl: fake.url(id), peerUrl: "ignored" }));
    await Deno.writeTextFile(clusterFile, JSON.stringify({ clusterId: "fake", adminToken: "t", nodes }));
    const env = { RAFTKV_CLUSTER_FILE: clusterFile };
    await fake.kill(1);
    fake.setLeader(3);

    const put = await runCli(["put", "k", "v"], { env });
    assert.equal(put.code, 0, put.stderr);
    assert.match(
      put.stderr,
      new RegExp(`node 1 at ${fake.url(1)} is not answering \\(connection refused\\); trying node 2`),
    );

    const pinned = await runCli(["get", "k", "--node", "1"], { env });
    assert.equal(pinned.code, 3);
    assert.match(pinned.stderr, /node 1 at .* connection refused/);
    assert.doesNotMatch(pinned.stderr, /trying/);
    assertNoStackTrace(pinned, "pinned to a dead node");

    await fake.kill(2);
    await fake.kill(3);
    const allDead = await runCli(["get", "k"], { env });
    assert.equal(allDead.code, 3);
    assert.match(allDead.stderr, /no node could serve it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: no endpoints at all explains how to start a local cluster", async () => {
  const run = await runCli(["get", "k"]);
  assert.equal(run.code, 3);
  assert.match(run.stderr, /deno task local up/);
  assertNoStackTrace(run, "no endpoints");
  const env = await runCli(["get", "k"], { env: { RAFTKV_ENDPOINTS: "not a url" } });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /endpoint "not a url" is not a URL/);
});

Deno.test("CLI: malformed commands print usage and exit 2", async () => {
  const cases = [
    ["put", "k"],
    ["frobnicate"],
    ["get", "k", "--node", "x"],
    ["get", "k", "--bogus"],
    ["--endpoints"],
    ["--endpoints", "ftp://x", "get", "k"],
    ["delete", "k", "--stale"],
  ];
  const runs = await Promise.all(cases.map((args) => runCli(["--endpoints", "http://127.0.0.1:9", ...args])));
  for (const [i, run] of runs.entries()) {
    const what = cases[i].join(" ");
    assert.equal(run.code, 2, `${what}: ${run.stderr}`);
    assert.match(run.stderr, /error: /, what);
    assertNoStackTrace(run, what);
  }
  for (const run of runs.filter((_, i) => !cases[i].includes("ftp://x"))) {
    const lines = run.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, run.stderr);
    assert.equal(lines[1], "run `deno task kv --help` for the options");
  }
});

Deno.test("CLI: random garbage arguments never crash and exit 0..3", async () => {
  await using fake = await FakeCluster.start();
  const words = [
    "put",
    "get",
    "delete",
    "status",
    "help",
    "exit",
    "--node",
    "--node=2",
    "--stale",
    "--json",
    "--if-absent",
    "--prev-value",
    "--endpoints",
    `--endpoints=${fake.urls.join(",")}`,
    "--",
    "-",
    "-h",
    "--help",
    "k",
    "",
    " ",
    "é😀",
    "\u0001",
    "..",
    ".",
    "%",
    "--stale=yes",
    "-5",
    "2",
    "0",
    "-x",
    "constructor",
    "__proto__",
    "x".repeat(600),
    "http://",
    "=",
  ];
  let seed = 20_251_123;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = (list: string[]) => list[Math.floor(random() * list.length)];
  const cases = Array.from({ length: 60 }, () => {
    // Mostly a real command with random arguments, so that the runs reach the cluster too.
    const head = random() < 0.7 ? [pick(["put", "get", "delete", "status"])] : [];
    return [...head, ...Array.from({ length: Math.floor(random() * 5) }, () => pick(words))];
  });
  const exitCodes = new Set<number>();
  for (let batch = 0; batch < cases.length; batch += 6) {
    const slice = cases.slice(batch, batch + 6);
    const runs = await Promise.all(
      slice.map((args) => runCli(args, { env: { RAFTKV_ENDPOINTS: fake.urls.join(",") } })),
    );
    for (const [i, run] of runs.entries()) {
      const what = JSON.stringify(slice[i]);
      assert.ok(run.code >= 0 && run.code <= 3, `${what} exited ${run.code}: ${run.stderr}`);
      exitCodes.add(run.code);
      assertNoStackTrace(run, what);
    }
  }
  assert.deepEqual(
    [...exitCodes].sort(),
    [0, 1, 2],
    "the cases should reach success, not found and usage errors",
  );
});

Deno.test("CLI: the REPL reads commands from piped stdin and survives bad lines", async () => {
  await using fake = await FakeCluster.start();
  const script = [
    "put greeting 'hello world'",
    "get greeting",
    "",
    "# a comment",
    "frobnicate",
    `put k "unterminated`,
    "get missing",
    "put n -- -7",
    "get n --node 2 --stale",
    "delete greeting",
    "status",
    "help",
    "--endpoints http://x get k",
    "exit",
    "put after exit",
  ].join("\n");
  const run = await runCli(["--endpoints", fake.urls.join(",")], { stdin: script + "\n" });
  assert.equal(run.code, 0, run.stderr);
  assertNoStackTrace(run, "REPL");
  const out = run.stdout.split("\n");
  assert.match(out[0], /^OK \(index \d+\)$/);
  assert.equal(out[1], "hello world");
  assert.match(out[2], /^OK \(index \d+\)$/);
  assert.equal(out[3], "-7");
  assert.match(out[4], /^OK \(index \d+\)$/);
  assert.match(run.stdout, /node 1 \(leader\)/);
  assert.match(run.stdout, /commands:\n {2}put <key> <value>/);
  assert.doesNotMatch(run.stdout, /raft-kv> /, "no prompt when stdin is not a terminal");
  assert.match(run.stderr, /unknown command "frobnicate"; type help/);
  assert.match(run.stderr, /unterminated " quote/);
  assert.match(run.stderr, /get missing: key not found/);
  assert.match(run.stderr, /not inside the prompt/);
  assert.equal(fake.valueOf("after"), undefined, "nothing runs after exit");
  assert.equal(fake.valueOf("greeting"), undefined);
  assert.equal(fake.valueOf("n"), "-7");

  const noNewline = await runCli(["--endpoints", fake.urls.join(",")], { stdin: "put last line" });
  assert.equal(noNewline.code, 0);
  assert.equal(fake.valueOf("last"), "line");
});

Deno.test("CLI: get shows the key's own modification index, not the node's applied index", async () => {
  await using fake = await FakeCluster.start();
  const endpoints = ["--endpoints", fake.urls.join(",")];
  const first = await runCli([...endpoints, "put", "a", "1"]);
  const setAt = Number(first.stdout.match(/index (\d+)/)![1]);
  for (const key of ["b", "c", "d"]) await runCli([...endpoints, "put", key, "x"]);
  const get = await runCli([...endpoints, "get", "a"]);
  assert.match(get.stderr, new RegExp(`modified at index ${setAt};`));
  assert.match(get.stderr, new RegExp(`applied up to index ${setAt + 3}\\)`));
});

Deno.test("CLI: values that would drive the terminal are escaped on a terminal; --raw and pipes get bytes", async () => {
  await using fake = await FakeCluster.start();
  const endpoints = ["--endpoints", fake.urls.join(",")];
  const evil = "\x1b[31mRED\x1b]0;pwned\x07\u202e";
  assert.equal((await runCli([...endpoints, "put", "esc", evil])).code, 0);
  // Through a pipe: the exact value, and a newline.
  assert.equal((await runCli([...endpoints, "get", "esc"])).stdout, evil + "\n");
  // --raw: the exact bytes, nothing added.
  assert.equal((await runCli([...endpoints, "get", "esc", "--raw"])).stdout, evil);
  // On a terminal (script(1) gives the CLI a pty): escapes, no raw ESC or BEL reaches the screen.
  const script = await new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((o) => o.success, () => false);
  if (!script) {
    console.error("!!! SKIPPED the terminal half: script(1) (util-linux) is missing");
    return;
  }
  const command = [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    CLI,
    ...endpoints,
    "get",
    "esc",
  ]
    .map((w) => `'${w}'`).join(" ");
  const pty = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: { NO_COLOR: "1", RAFTKV_ENDPOINTS: "", RAFTKV_CLUSTER_FILE: "/nonexistent" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const seen = new TextDecoder().decode(pty.stdout);
  assert.equal(pty.code, 0, seen);
  assert.match(seen, /\\x1b\[31mRED\\x1b\]0;pwned\\x07\\u202e/);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(seen, /\x1b\[31m|\x07|\u202e/, "no raw control character on the terminal");
});

Deno.test("CLI: put --value-file and put - take values larger than a command line; invalid UTF-8 is refused", async () => {
  await using fake = await FakeCluster.start();
  const endpoints = ["--endpoints", fake.urls.join(",")];
  const dir = await Deno.makeTempDir({ prefix: "raftkv-cli-values-" });
  try {
    // 512 KiB: well past what one command-line argument may hold (128 KiB on Linux).
    const big = "é".repeat(256 * 1024) + "\n";
    await Deno.writeTextFile(`${dir}/big.txt`, big);
    const fromFile = await runCli([...endpoints, "put", "big", "--value-file", `${dir}/big.txt`]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(fake.valueOf("big"), big, "byte for byte, trailing newline kept");
    const fromStdin = await runCli([...endpoints, "put", "piped", "-"], { stdin: "from stdin\n" });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fake.valueOf("piped"), "from stdin\n");

    await Deno.writeFile(`${dir}/binary.bin`, new Uint8Array([0x61, 0x62, 0xff, 0x63]));
    const binary = await runCli([...endpoints, "put", "bin", "--value-file", `${dir}/binary.bin`]);
    assert.equal(binary.code, 2);
    assert.match(binary.stderr, /binary\.bin is not valid UTF-8 \(byte 2 of 4\).*base64/);
    assert.equal(fake.valueOf("bin"), undefined, "nothing written");
    const missing = await runCli([...endpoints, "put", "m", "--value-file", `${dir}/nope`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--value-file .*nope: no such file/);
    assertNoStackTrace(missing, "missing value file");
    // Bytes that are not UTF-8 in an argument reach the program as U+FFFD: refused, not stored changed.
    const mangled = await runCli([...endpoints, "put", "m", "a\uFFFDb"]);
    assert.equal(mangled.code, 2);
    assert.match(mangled.stderr, /U\+FFFD/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: an unknown write outcome says what to run, never a library call or sequence numbers", async () => {
  await using fake = await FakeCluster.start();
  fake.loseWriteReplies(100, "504");
  const run = await runCli(["--endpoints", fake.urls.join(","), "put", "k", "v"]);
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stderr, /put k: no definite answer from the cluster/);
  assert.match(run.stderr, /`deno task kv get k` shows what is there now/);
  assert.doesNotMatch(run.stderr, /KvClient|retryUnknown|sequence number|X-Request-Seq/i);
  assertNoStackTrace(run, "unknown outcome");
});

Deno.test("CLI: on a terminal the prompt edits lines and recalls history (arrows are not commands)", async () => {
  const script = await new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((o) => o.success, () => false);
  if (!script) {
    console.error("!!! SKIPPED: script(1) (util-linux) is missing, so no terminal to test the prompt on");
    return;
  }
  await using fake = await FakeCluster.start();
  const dir = await Deno.makeTempDir({ prefix: "raftkv-cli-pty-" });
  try {
    const command = [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--allow-write",
      CLI,
      "--endpoints",
      fake.urls.join(","),
    ].map((w) => `'${w}'`).join(" ");
    const child = new Deno.Command("script", {
      args: ["-qec", command, "/dev/null"],
      env: { RAFTKV_HISTORY: `${dir}/history`, TERM: "xterm", NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).spawn();
    const writer = child.stdin.getWriter();
    const output = child.output();
    const type = async (keys: string, waitMs = 1500) => {
      await writer.write(new TextEncoder().encode(keys));
      await new Promise((r) => setTimeout(r, waitMs));
    };
    await new Promise((r) => setTimeout(r, 3000)); // the client starts
    await type("put k v1\r");
    await type("put j other\r");
    await type("\x1b[A\x1b[A\r"); // up, up: "put k v1" again
    await type("put x y\x1b[D\x1b[DZ\r"); // left, left, insert: "put xZ y"
    await type("exit\r", 500);
    await writer.close();
    const seen = new TextDecoder().decode((await output).stdout);
    assert.doesNotMatch(seen, /unknown command/, seen);
    assert.equal(seen.match(/OK \(index \d+\)/g)?.length, 4, seen);
    assert.match(seen, /raft-kv> put k v1/, "the recalled line is shown");
    assert.equal(fake.valueOf("xZ"), "y", "the edited line ran");
    assert.deepEqual(
      (await Deno.readTextFile(`${dir}/history`)).trim().split("\n"),
      ["put k v1", "put j other", "put k v1", "put xZ y", "exit"],
      "history is kept for the next session",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
