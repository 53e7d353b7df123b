/**
 * A server with --tls-bootstrap (the operator's mode) as a real process: it makes its own key, serves a
 * stand-in certificate, hands out a MAC'd certificate request, takes only a certificate of the cluster
 * CA for its own key as its identity, switches to it at once and keeps it across a restart.
 */
import assert from "node:assert/strict";
import { ClusterCa } from "./certificates.ts";
import { csrMacMatches, describeRequest } from "./member_key.ts";
import { namedFetch } from "./named_fetch.ts";
import { SERVER_TASK_PERMISSIONS } from "../server/test_server.ts";

const MAIN = new URL("../server/main.ts", import.meta.url).pathname;
const ADMIN_TOKEN = "admin-secret-0123456789";

async function startServer(dir: string): Promise<{ url: string; stop(): Promise<void>; log: string[] }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...SERVER_TASK_PERMISSIONS,
      MAIN,
      ...["--data-dir", `${dir}/data`, "--cluster-id", "c1"],
      ...["--listen-client", "127.0.0.1:0", "--listen-peer", "127.0.0.1:0"],
      ...["--peer-token", "peer-secret", "--admin-token", ADMIN_TOKEN],
      ...["--tls-cert", `${dir}/data/tls/node.crt`, "--tls-key", `${dir}/data/tls/node.key`],
      ...["--tls-ca", `${dir}/ca.crt`, "--tls-bootstrap"],
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const url = Promise.withResolvers<string>();
  const reading = (async () => {
    let pending = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        log.push(line);
        const found = /client API on (https:\/\/[\d.]+:\d+)/.exec(line);
        if (found) url.resolve(found[1]);
      }
    }
    url.reject(new Error(`the server exited: ${log.join("\n")}`));
  })();
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await reading;
  };
  const timer = setTimeout(() => url.reject(new Error(`no start within 20 s: ${log.join("\n")}`)), 20_000);
  try {
    return { url: await url.promise, stop, log };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

const unverified = (url: string, init: { method?: string; body?: string; headers?: HeadersInit } = {}) =>
  namedFetch(url, { ...init, tls: { ca: [], verify: false }, signal: AbortSignal.timeout(5_000) });

Deno.test("--tls-bootstrap: own key, MAC'd CSR, certificate checked against key and CA, kept across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv-bootstrap-" });
  const { ca, pem } = await ClusterCa.create("c1");
  const stranger = await ClusterCa.create("other");
  await Deno.writeTextFile(`${dir}/ca.crt`, pem.cert);
  const trusting = Deno.createHttpClient({ caCerts: [pem.cert] });
  let server = await startServer(dir);
  try {
    // Before its certificate: nobody can verify it, and its key is its own (0600, in its data dir).
    await assert.rejects(fetch(`${server.url}/status`, { client: trusting }));
    assert.equal((await Deno.stat(`${dir}/data/tls/node.key`)).mode! & 0o777, 0o600);
    const status = await (await unverified(`${server.url}/status`)).json();
    assert.equal(status.id, undefined, "no identity yet");

    const answer = await (await unverified(`${server.url}/admin/bootstrap/csr`)).json();
    assert.equal(answer.issued, false);
    assert.ok(csrMacMatches(ADMIN_TOKEN, answer.csr, answer.mac), "the MAC is made with the admin token");
    assert.ok(!csrMacMatches("another-token-0123", answer.csr, answer.mac), "and no other");

    // For an issuer that signs what a CSR says (cert-manager), the CSR asks for the node's names.
    const named = await (await unverified(
      `${server.url}/admin/bootstrap/csr?subject=${
        encodeURIComponent("CN=node-7, OU=node, O=c1")
      }&dns=a.svc&dns=b.svc`,
    )).json();
    assert.deepEqual(describeRequest(named.csr), {
      subject: "CN=node-7, OU=node, O=c1",
      dnsNames: ["a.svc", "b.svc"],
    });
    assert.ok(csrMacMatches(ADMIN_TOKEN, named.csr, named.mac));
    const badSubject = await unverified(`${server.url}/admin/bootstrap/csr?subject=CN=admin&dns=a`);
    assert.equal(badSubject.status, 400);
    await badSubject.body?.cancel();

    const post = async (certificate: string) =>
      await unverified(`${server.url}/admin/bootstrap/identity`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ certificate, bootstrap: true }),
      });
    const names = { clusterId: "c1", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] };
    // A certificate for another key, or from another CA, or for another cluster, is refused.
    const otherKey = await ca.issueNode({ nodeId: 1, ...names });
    let refused = await post(otherKey.cert);
    assert.equal(refused.status, 403);
    assert.match((await refused.json()).error.message, /for another key than this member's/);
    refused = await post(await stranger.ca.signNodeRequest(answer.csr, { nodeId: 1, ...names }));
    assert.equal(refused.status, 403);
    assert.match((await refused.json()).error.message, /not issued by a trusted CA/);
    refused = await post(await ca.signNodeRequest(answer.csr, { ...names, nodeId: 1, clusterId: "c2" }));
    assert.match((await refused.json()).error.message, /for cluster "c2", this server runs for "c1"/);
    assert.equal((await (await unverified(`${server.url}/status`)).json()).id, undefined, "nothing changed");

    const certificate = await ca.signNodeRequest(answer.csr, { nodeId: 7, ...names });
    const accepted = await post(certificate);
    assert.equal(accepted.status, 200, await accepted.clone().text());
    assert.equal((await accepted.json()).id, 7);
    // At once: verified HTTPS, as node 7 (the identity named by the certificate).
    const verified = await (await fetch(`${server.url}/status`, { client: trusting })).json();
    assert.equal(verified.id, 7);
    assert.equal(await Deno.readTextFile(`${dir}/data/tls/node.crt`), certificate);
    // The renewal route needs the admin token, and a certificate of a trusted CA.
    const renew = (token?: string, cert = certificate) =>
      fetch(`${server.url}/admin/tls/certificate`, {
        client: trusting,
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ certificate: cert }),
      });
    assert.equal((await renew()).status, 401);
    const foreign = await renew(
      ADMIN_TOKEN,
      await stranger.ca.signNodeRequest(answer.csr, { nodeId: 7, ...names }),
    );
    assert.equal(foreign.status, 403);
    await foreign.body?.cancel();
    const renewed = await renew(ADMIN_TOKEN);
    assert.equal(renewed.status, 200);
    await renewed.body?.cancel();

    // A restart serves the issued certificate from the start, as the same node.
    await server.stop();
    server = await startServer(dir);
    const again = await (await fetch(`${server.url}/status`, { client: trusting })).json();
    assert.equal(again.id, 7);
  } finally {
    trusting.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
