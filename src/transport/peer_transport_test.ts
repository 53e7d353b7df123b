import assert from "node:assert/strict";
import type { Message } from "../raft/types.ts";
import { encodeFrames } from "./frame.ts";
import { PeerTransport } from "./peer_transport.ts";
import { closedPort, connectAll, heartbeat, startNode, type TestNode, waitFor } from "./test_nodes.ts";

function contexts(node: TestNode, from: number): string[] {
  return node.received.filter((m) => m.from === from).map((m) => m.context ?? "");
}

Deno.test("two transports exchange messages in order, batched into one write per tick", async () => {
  const a = await startNode(1);
  const b = await startNode(2);
  try {
    connectAll([a, b]);
    const count = 500;
    a.transport.send(Array.from({ length: count }, (_, i) => heartbeat(1, 2, 1, `a${i}`)));
    b.transport.send([heartbeat(2, 1, 1, "b0"), heartbeat(2, 1, 1, "b1")]);
    await waitFor(() => b.received.length === count && a.received.length === 2, () => `${b.received.length}`);
    assert.deepEqual(contexts(b, 1), Array.from({ length: count }, (_, i) => `a${i}`));
    assert.deepEqual(contexts(a, 2), ["b0", "b1"]);
    const stats = a.transport.stats();
    assert.equal(stats.peers[2].sentMessages, count);
    assert.equal(stats.peers[2].sentBatches, 1, "everything queued in one tick goes out in one write");
    assert.equal(stats.peers[2].connected, true);
    assert.equal(b.transport.stats().totals.receivedMessages, count);
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});

Deno.test("three transports: every pair talks, order preserved per sender", async () => {
  const nodes = [await startNode(1), await startNode(2), await startNode(3)];
  try {
    connectAll(nodes);
    const rounds = 50;
    // Spread over several ticks so that batches interleave with deliveries.
    for (let round = 0; round < rounds; round++) {
      for (const node of nodes) {
        node.transport.send(
          nodes.filter((p) => p !== node).map((p) => heartbeat(node.id, p.id, 1, `${round}`)),
        );
      }
      if (round % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitFor(() => nodes.every((n) => n.received.length === 2 * rounds), () => "all messages");
    const expected = Array.from({ length: rounds }, (_, i) => `${i}`);
    for (const node of nodes) {
      for (const peer of nodes) if (peer !== node) assert.deepEqual(contexts(node, peer.id), expected);
    }
  } finally {
    await Promise.all(nodes.map((n) => n.transport.close()));
  }
});

Deno.test("a peer restarted on the same port is redialed and gets new messages", async () => {
  const a = await startNode(1);
  let b = await startNode(2);
  try {
    connectAll([a, b]);
    a.transport.send([heartbeat(1, 2, 1, "before")]);
    await waitFor(() => b.received.length === 1, () => "first message");
    const port = b.port;
    await b.transport.close();
    b = await startNode(2, { listen: { hostname: "127.0.0.1", port } });
    // Raft keeps sending; messages written into the dead connection are lost until the redial.
    const restarted = b;
    let i = 0;
    await waitFor(() => {
      a.transport.send([heartbeat(1, 2, 2, `after${i++}`)]);
      return restarted.received.length > 0;
    }, () => JSON.stringify(a.transport.stats().peers[2]));
    const stats = a.transport.stats().peers[2];
    assert.equal(stats.reconnects, 1);
    assert.ok(restarted.received[0].context?.startsWith("after"));
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});

Deno.test("a dead peer: the queue stays bounded, drops are counted, the peer is reported unreachable", async () => {
  const a = await startNode(1, { maxQueuedMessages: 100, backoff: { initialMs: 20, maxMs: 100 } });
  try {
    a.transport.setPeer(2, `127.0.0.1:${closedPort()}`);
    a.transport.send(Array.from({ length: 1000 }, (_, i) => heartbeat(1, 2, 1, `${i}`)));
    const stats = a.transport.stats().peers[2];
    assert.equal(stats.queueLength, 100);
    assert.equal(stats.droppedMessages, 900);
    await waitFor(() => a.unreachable.length >= 2, () => `unreachable reports: ${a.unreachable}`);
    assert.ok(a.unreachable.every((id) => id === 2));
    assert.equal(a.transport.stats().peers[2].connected, false);
    assert.equal(
      a.logs.filter((l) => l.includes("cannot reach peer 2")).length,
      1,
      "one log line per outage",
    );
  } finally {
    await a.transport.close();
  }
});

Deno.test("a peer that comes up later receives what was queued while it was down", async () => {
  const port = closedPort();
  const a = await startNode(1, { backoff: { initialMs: 20, maxMs: 100 } });
  const b = { current: undefined as TestNode | undefined };
  try {
    a.transport.setPeer(2, `127.0.0.1:${port}`);
    a.transport.send([heartbeat(1, 2, 1, "queued")]);
    await waitFor(() => a.unreachable.length >= 1, () => "a failed dial");
    b.current = await startNode(2, { listen: { hostname: "127.0.0.1", port } });
    await waitFor(() => b.current!.received.length === 1, () => "the queued message");
    assert.equal(b.current.received[0].context, "queued");
    assert.ok(a.logs.some((l) => /connected to peer 2 .* after \d+ failed dials/.test(l)));
  } finally {
    await a.transport.close();
    await b.current?.transport.close();
  }
});

Deno.test("send() never throws: unknown peers and messages after close are dropped", async () => {
  const a = await startNode(1);
  a.transport.send([heartbeat(1, 9, 1)]);
  assert.equal(a.transport.stats().totals.unroutableMessages, 1);
  assert.ok(a.logs.some((l) => l.includes("no address for node 9")));
  await a.transport.close();
  a.transport.send([heartbeat(1, 9, 1)]);
});

Deno.test("bad options and peer addresses are refused with the fix in the message", () => {
  const base = {
    nodeId: 1,
    clusterId: "c",
    token: "t",
    listen: { hostname: "127.0.0.1", port: 0 },
    onMessage: () => {},
  };
  assert.throws(() => new PeerTransport({ ...base, token: "" }), /token must not be empty/);
  assert.throws(() => new PeerTransport({ ...base, nodeId: 0 }), /nodeId must be an integer >= 1/);
  assert.throws(
    () => new PeerTransport({ ...base, maxFrameBytes: 1000, snapshotChunkBytes: 1000 }),
    /lower the chunk size or raise maxFrameBytes/,
  );
  const transport = new PeerTransport(base);
  assert.throws(() => transport.setPeer(2, "no-port"), /must be host:port/);
  assert.throws(() => transport.setPeer(1, "127.0.0.1:1"), /is this node itself/);
  transport.setPeer(2, "[::1]:7000");
  transport.setPeer(3, "kv-3.kv-peers:7000");
});

Deno.test("setPeer to a new address moves the link there", async () => {
  const a = await startNode(1);
  const oldB = await startNode(2);
  const newB = await startNode(2);
  try {
    a.transport.setPeer(2, oldB.address);
    a.transport.send([heartbeat(1, 2, 1, "to-old")]);
    await waitFor(() => oldB.received.length === 1, () => "the message at the old address");
    a.transport.setPeer(2, newB.address);
    a.transport.send([heartbeat(1, 2, 1, "to-new")]);
    await waitFor(() => newB.received.length === 1, () => JSON.stringify(a.transport.stats()));
    assert.equal(newB.received[0].context, "to-new");
    assert.equal(oldB.received.length, 1);
  } finally {
    await Promise.all([a, oldB, newB].map((n) => n.transport.close()));
  }
});

Deno.test("a peer that stops reading is given up on after the write deadline, then redialed", async () => {
  // A raw peer: accepts the hello, then never reads again, so our writes eventually stall.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const stalled: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      stalled.push(conn);
      await conn.read(new Uint8Array(1024));
      await conn.write(encodeFrames([{ kind: "helloReply", ok: true }]));
    }
  })();
  const a = await startNode(1, { ioTimeoutMs: 300, maxFrameBytes: 1 << 20, snapshotChunkBytes: 1 << 16 });
  try {
    a.transport.setPeer(2, `127.0.0.1:${listener.addr.port}`);
    const big = (i: number): Message => ({
      type: "app",
      from: 1,
      to: 2,
      term: 1,
      entries: [{ term: 1, index: i, type: "normal", data: new Uint8Array(512 * 1024) }],
    });
    let i = 0;
    await waitFor(() => {
      a.transport.send([big(i++)]);
      return a.logs.some((l) =>
        /write to peer 2 failed, will redial: write on the connection with .* took over 300 ms/.test(l)
      );
    }, () => JSON.stringify(a.transport.stats().peers[2]));
    await waitFor(() => stalled.length >= 2, () => "a redial");
    assert.ok(a.unreachable.includes(2));
  } finally {
    await a.transport.close();
    listener.close();
    for (const conn of stalled) conn.close();
    await accepting.catch(() => undefined);
  }
});

Deno.test("big appends queued in one tick are split into writes of a few MiB, still in order", async () => {
  const a = await startNode(1);
  const b = await startNode(2);
  try {
    connectAll([a, b]);
    const append = (index: number): Message => ({
      type: "app",
      from: 1,
      to: 2,
      term: 1,
      entries: [{ term: 1, index, type: "normal", data: new Uint8Array(1024 * 1024).fill(index) }],
    });
    a.transport.send(Array.from({ length: 10 }, (_, i) => append(i + 1)));
    await waitFor(() => b.received.length === 10, () => JSON.stringify(a.transport.stats().peers[2]));
    assert.deepEqual(b.received.map((m) => m.entries![0].index), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(b.received.every((m) => m.entries![0].data!.every((byte) => byte === m.entries![0].index)));
    assert.equal(a.transport.stats().peers[2].sentBatches, 3, "4 + 4 + 2 MiB");
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});
