import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../server/config.ts";
import { ClusterCa } from "./certificates.ts";
import { SERVER_TASK_PERMISSIONS, startTestServer } from "../server/test_server.ts";

const BASE = ["--data-dir", "/tmp/x", "--peer-token", "p", "--admin-token", "a"];
const noEnv = () => undefined;

Deno.test("--tls-cert, --tls-key and --tls-ca go together; with them the advertised URL is https", () => {
  assert.throws(() => parseConfig([...BASE, "--tls-cert", "c.pem"], noEnv), ConfigError);
  assert.throws(
    () => parseConfig([...BASE, "--tls-cert", "c.pem", "--tls-key", "k.pem"], noEnv),
    /go together/,
  );
  const config = parseConfig([...BASE, "--tls-cert", "c", "--tls-key", "k", "--tls-ca", "ca"], noEnv);
  assert.deepEqual(config.tls, { certFile: "c", keyFile: "k", caFile: "ca" });
  assert.equal(config.advertiseClient, "https://127.0.0.1:8080");
  assert.equal(parseConfig(BASE, noEnv).tls, undefined);
  assert.equal(parseConfig([...BASE, "--auth-file", "auth.json"], noEnv).authFile, "auth.json");
  assert.equal(config.clientCertAuth, true);
  const tlsFlags = ["--tls-cert", "c", "--tls-key", "k", "--tls-ca", "ca"];
  assert.equal(parseConfig([...BASE, ...tlsFlags, "--client-cert-auth", "off"], noEnv).clientCertAuth, false);
  assert.throws(() => parseConfig([...BASE, ...tlsFlags, "--client-cert-auth", "maybe"], noEnv), /on or off/);
  assert.throws(() => parseConfig([...BASE, "--client-cert-auth", "off"], noEnv), /needs TLS/);
});

Deno.test("--client-cert-auth off: HTTPS on Deno's native TLS, tokens still required", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv-tls-tokens-" });
  try {
    const { ca, pem } = await ClusterCa.create("raft-kv");
    const node = await ca.issueNode({
      nodeId: 1,
      clusterId: "raft-kv",
      dnsNames: [],
      ipAddresses: ["127.0.0.1"],
    });
    await Deno.writeTextFile(`${dir}/ca.crt`, pem.cert);
    await Deno.writeTextFile(`${dir}/node.crt`, node.cert);
    await Deno.writeTextFile(`${dir}/node.key`, node.key);
    const token = "writer-token-0123456789";
    await Deno.writeTextFile(
      `${dir}/auth.json`,
      JSON.stringify({ tokens: [{ name: "w", token, role: "read-write" }] }),
    );
    const server = await startTestServer([
      "--tls-cert",
      `${dir}/node.crt`,
      "--tls-key",
      `${dir}/node.key`,
      "--tls-ca",
      `${dir}/ca.crt`,
      "--client-cert-auth",
      "off",
      "--auth-file",
      `${dir}/auth.json`,
    ], pem.cert);
    const client = Deno.createHttpClient({ caCerts: [pem.cert] });
    try {
      assert.match(server.url, /^https:/);
      const put = (headers: Record<string, string>) =>
        fetch(`${server.url}/kv/k`, {
          client,
          method: "PUT",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ value: "v" }),
        }).then(async (r) => (await r.body?.cancel(), r.status));
      assert.equal(await put({}), 401);
      assert.equal(await put({ authorization: `Bearer ${token}` }), 200);
      const plain = await fetch(server.url.replace("https:", "http:") + "/kv/k").then(
        (r) => `status ${r.status}`,
        (e) => `error: ${(e as Error).message}`,
      );
      assert.match(plain, /^error/);
      assert.ok(server.logLines.some((l) => l.includes("client certificates are not requested")));
    } finally {
      client.close();
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function runServer(args: string[]): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...SERVER_TASK_PERMISSIONS,
      new URL("../server/main.ts", import.meta.url).pathname,
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("a node refuses to start with another node's certificate, or with an unreadable TLS file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv-tls-flags-" });
  try {
    const { ca, pem } = await ClusterCa.create("raft-kv");
    const other = await ca.issueNode({
      nodeId: 2,
      clusterId: "raft-kv",
      dnsNames: ["localhost"],
      ipAddresses: [],
    });
    await Deno.writeTextFile(`${dir}/ca.crt`, pem.cert);
    await Deno.writeTextFile(`${dir}/node.crt`, other.cert);
    await Deno.writeTextFile(`${dir}/node.key`, other.key);
    const common = [
      ...BASE.slice(2),
      "--data-dir",
      `${dir}/data`,
      "--node-id",
      "1",
      "--bootstrap",
      "--listen-client",
      "127.0.0.1:0",
      "--listen-peer",
      "127.0.0.1:0",
    ];
    const wrongId = await runServer([
      ...common,
      "--tls-cert",
      `${dir}/node.crt`,
      "--tls-key",
      `${dir}/node.key`,
      "--tls-ca",
      `${dir}/ca.crt`,
    ]);
    assert.equal(wrongId.code, 1);
    assert.match(wrongId.stderr, /--tls-cert is for node 2, but this is node 1/);
    const missing = await runServer([
      ...common,
      "--tls-cert",
      `${dir}/missing.crt`,
      "--tls-key",
      `${dir}/node.key`,
      "--tls-ca",
      `${dir}/ca.crt`,
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--tls-cert .*missing\.crt: cannot read the certificate/);
    const badAuth = await runServer([...common, "--auth-file", `${dir}/ca.crt`]);
    assert.equal(badAuth.code, 1);
    assert.match(badAuth.stderr, /--auth-file .* is not JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
