import { deepEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert/strict";
import tls from "node:tls";
import { ClusterCa, describeCertificate, nodeIdFromSubject } from "./certificates.ts";

Deno.test("a node certificate names the node, carries every name it is reached by, and chains to the CA", async () => {
  const { ca, pem } = await ClusterCa.create("demo");
  const node = await ca.issueNode({
    nodeId: 3,
    clusterId: "demo",
    dnsNames: ["kv-2.kv-peers.default.svc", "localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const described = describeCertificate(node.cert);
  assertEquals(described.dnsNames, ["kv-2.kv-peers.default.svc", "localhost"]);
  assertEquals(described.ipAddresses, ["127.0.0.1"]);
  assert(described.subject.includes("CN=node-3"));
  assertEquals(nodeIdFromSubject({ CN: "node-3", OU: "node" }), 3);
  assertEquals(nodeIdFromSubject({ CN: "node-3", OU: "admin" }), undefined);
  assertEquals(nodeIdFromSubject({ CN: "node-03", OU: "node" }), undefined);
  // Reloading the CA from its PEM files gives one that signs certificates the same root verifies.
  const reloaded = await ClusterCa.load(pem);
  assertEquals(reloaded.certificate.subject, ca.certificate.subject);
});

Deno.test("loading a CA whose key belongs to another CA fails and says so", async () => {
  const one = await ClusterCa.create("one");
  const two = await ClusterCa.create("two");
  await assertRejects(
    () => ClusterCa.load({ cert: one.pem.cert, key: two.pem.key }),
    /does not belong to the CA certificate/,
  );
});

Deno.test("bad requests are refused before anything is signed", async () => {
  const { ca } = await ClusterCa.create("demo");
  await assertRejects(
    () => ca.issueNode({ nodeId: 0, clusterId: "demo", dnsNames: ["x"], ipAddresses: [] }),
    /node id/,
  );
  await assertRejects(
    () => ca.issueNode({ nodeId: 1, clusterId: "demo", dnsNames: [], ipAddresses: [] }),
    /at least one/,
  );
  await assertRejects(() => ca.issueClient({ name: "a,OU=admin", role: "read-only" }), /may only hold/);
});

/**
 * What Deno 2.9.6 allows for mutual TLS (the transport relies on it): a node:tls server with
 * requestCert verifies client certificates against the CA and tells who connected; Deno.connectTls
 * and fetch clients present certificates; a certificate from another CA is refused.
 */
Deno.test("node:tls on Deno verifies client certificates issued by the cluster CA", async () => {
  const { ca, pem } = await ClusterCa.create("demo");
  const other = await ClusterCa.create("other");
  const server = await ca.issueNode({
    nodeId: 1,
    clusterId: "demo",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const client = await ca.issueClient({ name: "alice", role: "read-write" });
  const stranger = await other.ca.issueClient({ name: "mallory", role: "admin" });

  const seen: string[] = [];
  const listener = tls.createServer(
    { ...server, ca: [pem.cert], requestCert: true, rejectUnauthorized: true },
    (socket) => {
      const subject = socket.getPeerCertificate().subject;
      seen.push(`${subject.CN}/${subject.OU}`);
      socket.end("ok");
    },
  );
  const errors: string[] = [];
  listener.on("tlsClientError", (e) => errors.push(e.message));
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const port = (listener.address() as { port: number }).port;
  const attempt = async (identity: { cert?: string; key?: string }) => {
    try {
      const conn = await Deno.connectTls(
        { hostname: "127.0.0.1", port, caCerts: [pem.cert], ...identity } as Deno.ConnectTlsOptions,
      );
      const buffer = new Uint8Array(8);
      const n = await conn.read(buffer);
      conn.close();
      return n === null ? "closed" : new TextDecoder().decode(buffer.subarray(0, n));
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  };
  try {
    assertEquals(await attempt(client), "ok");
    assertEquals(seen, ["alice/read-write"]);
    assert((await attempt({})) !== "ok", "no client certificate must be refused");
    assert((await attempt(stranger)) !== "ok", "a certificate of another CA must be refused");
    assertEquals(seen, ["alice/read-write"]);
  } finally {
    await new Promise((resolve) => listener.close(resolve));
  }
});
