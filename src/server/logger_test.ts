import assert from "node:assert/strict";
import { formatLogLine, makeLogger, parseLogFormat } from "./logger.ts";
import { startTestServer } from "./test_server.ts";

Deno.test("log lines: text for people, one JSON object a line for a pipeline", () => {
  const now = new Date("2026-01-02T03:04:05.678Z");
  assert.equal(
    formatLogLine("text", "info", "elected", { component: "server", node: 2, term: 7 }, "node 2", now),
    "2026-01-02T03:04:05.678Z info  [node 2] elected",
  );
  const json = JSON.parse(
    formatLogLine("json", "warn", 'a "quoted"\nline', { component: "server", node: 2, term: 7 }, "", now),
  );
  assert.deepEqual(json, {
    time: "2026-01-02T03:04:05.678Z",
    level: "warn",
    component: "server",
    node: 2,
    term: 7,
    message: 'a "quoted"\nline',
  });
  const lines: string[] = [];
  const log = makeLogger("info", "json", () => ({ component: "server" }), (l) => lines.push(l));
  log("debug", "hidden");
  log("error", "shown");
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]).node, null, "no identity yet: node is null, the key is still there");
  assert.throws(() => parseLogFormat("xml"), /--log-format takes text or json, got "xml"/);
});

Deno.test("server --log-format json: every stderr line is a JSON object naming the node and its term", async () => {
  const server = await startTestServer(["--log-format", "json"]);
  try {
    await (await fetch(`${server.url}/kv/a`, { method: "PUT", body: '{"value":"1"}' })).body?.cancel();
  } finally {
    await server.stop();
  }
  assert.ok(server.logLines.length >= 2, server.logLines.join("\n"));
  for (const line of server.logLines) {
    const entry = JSON.parse(line);
    assert.deepEqual(Object.keys(entry), ["time", "level", "component", "node", "term", "message"]);
    assert.equal(entry.node, 1);
  }
  assert.ok(server.logLines.some((l) => typeof JSON.parse(l).term === "number" && JSON.parse(l).term > 0));
});

Deno.test("operator --log-format: json is accepted, anything else is a one-line usage error", async () => {
  const main = new URL("../operator/raftcluster/main.ts", import.meta.url).pathname;
  const run = async (format: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "--log-format", format, "--kubeconfig", "/nonexistent/kubeconfig"],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    return { code: out.code, err: new TextDecoder().decode(out.stderr) };
  };
  const bad = await run("xml");
  assert.equal(bad.code, 2);
  assert.equal(
    bad.err,
    'error: --log-format takes text or json, got "xml"\nrun `deno task operator --help` for the options\n',
  );
  // json passes the flag check and stops at the (missing) kubeconfig instead.
  const json = await run("json");
  assert.equal(json.code, 2);
  assert.match(json.err, /cannot load the kubeconfig/);
});
