import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ClusterCa } from "./certificates.ts";
import { mutualTlsChannel } from "./tls_peer_channel.ts";
import { connectAll, heartbeat, startNode, type TestNode, waitFor } from "../transport/test_nodes.ts";
import { FramedConnection } from "../transport/connection.ts";
import { encodeFrames } from "../transport/frame.ts";
import { PROTOCOL_VERSION } from "../transport/handshake.ts";

async function clusterMaterial() {
  const { ca, pem } = await ClusterCa.create("test-cluster");
  const nodeCert = (nodeId: number) =>
    ca.issueNode({ nodeId, clusterId: "test-cluster", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  return { ca, pem, nodeCert };
}

async function tlsNode(id: number, cert: { cert: string; key: string }, caPem: string[]): Promise<TestNode> {
  const logs: string[] = [];
  const log = (level: string, line: string) => logs.push(`${level}: ${line}`);
  // The channel's own lines (handshake refusals) and the transport's go to one list.
  const node = await startNode(id, { channel: mutualTlsChannel({ ...cert, ca: caPem }, log), log });
  return Object.assign(node, { logs });
}

Deno.test("peers talk over mutual TLS with certificates from the cluster CA", async () => {
  const { pem, nodeCert } = await clusterMaterial();
  const nodes = [
    await tlsNode(1, await nodeCert(1), [pem.cert]),
    await tlsNode(2, await nodeCert(2), [pem.cert]),
  ];
  try {
    connectAll(nodes);
    nodes[0].transport.send([heartbeat(1, 2, 1, "over tls")]);
    nodes[1].transport.send([heartbeat(2, 1, 1, "back")]);
    await waitFor(
      () => nodes[1].received.length === 1 && nodes[0].received.length === 1,
      () => `both heartbeats, logs: ${[...nodes[0].logs, ...nodes[1].logs].join(" | ")}`,
    );
    assertEquals(nodes[1].received[0].context, "over tls");
  } finally {
    await Promise.all(nodes.map((n) => n.transport.close()));
  }
});

Deno.test("a peer with another node's certificate is refused, both when it dials and when it listens", async () => {
  const { pem, nodeCert } = await clusterMaterial();
  const cert2 = await nodeCert(2);
  const honest = await tlsNode(1, await nodeCert(1), [pem.cert]);
  // Node 3 holds node 2's certificate and key (a stolen or misconfigured one).
  const impostor = await tlsNode(3, cert2, [pem.cert]);
  try {
    impostor.transport.setPeer(1, `127.0.0.1:${honest.port}`);
    impostor.transport.send([heartbeat(3, 1, 1, "i am 3")]);
    await waitFor(
      () =>
        honest.logs.some((l) => l.includes("hello claims node 3 but the peer's certificate is for node 2")),
      () => `the refusal in node 1's log: ${honest.logs.join(" | ")}`,
    );
    // Node 1 dials "node 3" at the impostor's port and finds node 2's certificate there.
    honest.transport.setPeer(3, `127.0.0.1:${impostor.port}`);
    honest.transport.send([heartbeat(1, 3, 1, "to 3")]);
    await waitFor(
      () => honest.logs.some((l) => l.includes("presented a certificate for node 2, not node 3")),
      () => `the dial refusal in node 1's log: ${honest.logs.join(" | ")}`,
    );
    assertEquals(honest.received, []);
    assertEquals(impostor.received, []);
  } finally {
    await Promise.all([honest.transport.close(), impostor.transport.close()]);
  }
});

Deno.test("a certificate from another CA, and a plain TCP peer, are refused with a clear log line", async () => {
  const { pem, nodeCert } = await clusterMaterial();
  const strangerCa = await ClusterCa.create("test-cluster");
  const strangerCert = await strangerCa.ca.issueNode({
    nodeId: 2,
    clusterId: "test-cluster",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const honest = await tlsNode(1, await nodeCert(1), [pem.cert]);
  const stranger = await tlsNode(2, strangerCert, [strangerCa.pem.cert]);
  try {
    stranger.transport.setPeer(1, `127.0.0.1:${honest.port}`);
    stranger.transport.send([heartbeat(2, 1, 1, "from another CA")]);
    await waitFor(
      () => stranger.logs.some((l) => l.includes("cannot reach peer 1")),
      () => `the stranger's failed dial: ${stranger.logs.join(" | ")}`,
    );

    // A plain-TCP dialer sends a hello in clear text: it is closed at once, not left hanging.
    const started = Date.now();
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: honest.port });
    const conn = new FramedConnection(tcp, 1 << 20);
    await conn.write(encodeFrames([{
      kind: "hello",
      version: PROTOCOL_VERSION,
      clusterId: "test-cluster",
      from: 2,
      to: 1,
      token: "peer-secret",
      channel: "messages",
      safetyMode: "safe",
    }]));
    let answer: unknown;
    try {
      answer = await conn.read(5_000);
    } catch (error) {
      answer = (error as Error).message;
    }
    conn.close();
    assert(
      Date.now() - started < 4_000,
      `the plain connection was closed only after ${Date.now() - started} ms`,
    );
    assert(
      answer === undefined || typeof answer === "string",
      `a plain peer got an answer: ${String(answer)}`,
    );
    await waitFor(
      () => honest.logs.some((l) => /refused peer connection from 127\.0\.0\.1:\d+: not TLS/.test(l)),
      () => `the "not TLS" line in node 1's log: ${honest.logs.join(" | ")}`,
    );
    assertEquals(honest.received, []);
  } finally {
    await Promise.all([honest.transport.close(), stranger.transport.close()]);
  }
});

Deno.test("during a CA rotation a bundle of the old and the new CA lets members of both talk; the old alone does not", async () => {
  const before = await clusterMaterial();
  const after = await clusterMaterial();
  const both = [before.pem.cert, after.pem.cert];
  // Node 1 still holds a certificate of the old CA, node 2 one of the new; both trust both.
  const old1 = await tlsNode(1, await before.nodeCert(1), both);
  const new2 = await tlsNode(2, await after.nodeCert(2), both);
  // Node 3 already dropped the old CA: it must refuse node 1.
  const new3 = await tlsNode(3, await after.nodeCert(3), [after.pem.cert]);
  const nodes = [old1, new2, new3];
  try {
    connectAll(nodes);
    old1.transport.send([heartbeat(1, 2, 1, "old to new"), heartbeat(1, 3, 1, "old to strict")]);
    new2.transport.send([heartbeat(2, 1, 1, "new to old")]);
    await waitFor(
      () => new2.received.length === 1 && old1.received.length === 1,
      () => `both heartbeats across the rotation, logs: ${[...old1.logs, ...new2.logs].join(" | ")}`,
    );
    await waitFor(
      () => old1.logs.some((l) => l.includes("cannot reach peer 3")),
      () => `node 1 refused by node 3: ${[...old1.logs, ...new3.logs].join(" | ")}`,
    );
    assertEquals(new3.received, []);
  } finally {
    await Promise.all(nodes.map((n) => n.transport.close()));
  }
});
