import assert from "node:assert/strict";
import { encodeFrames, FrameDecoder } from "./frame.ts";
import { type Hello, PROTOCOL_VERSION } from "./handshake.ts";
import { seededRandom } from "./random.ts";
import { CLUSTER, heartbeat, startNode, type TestNode, TOKEN, waitFor } from "./test_nodes.ts";

function hello(overrides: Partial<Hello> = {}): Hello {
  return {
    kind: "hello",
    version: PROTOCOL_VERSION,
    clusterId: CLUSTER,
    from: 7,
    to: 1,
    token: TOKEN,
    channel: "messages",
    safetyMode: "safe",
    ...overrides,
  };
}

/** Writes `bytes` on a raw connection and returns what the node answered before closing it. */
async function sendRaw(port: number, ...writes: Uint8Array[]): Promise<unknown[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (const bytes of writes) await conn.write(bytes).catch(() => undefined);
    const decoder = new FrameDecoder(1 << 20);
    const answers: unknown[] = [];
    const chunk = new Uint8Array(4096);
    const deadline = setTimeout(() => conn.close(), 5_000);
    try {
      while (true) {
        const n = await conn.read(chunk).catch(() => null);
        if (n === null) break;
        decoder.push(chunk.subarray(0, n));
        for (let value = decoder.next(); value !== undefined; value = decoder.next()) answers.push(value);
      }
    } finally {
      clearTimeout(deadline);
    }
    return answers;
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the deadline above.
    }
  }
}

/** The node still serves a well-behaved peer. */
async function stillServes(node: TestNode, peer: TestNode): Promise<void> {
  const before = node.received.length;
  peer.transport.send([heartbeat(peer.id, node.id, 1, "still-serving")]);
  await waitFor(() => node.received.length === before + 1, () => "a message from the good peer");
}

Deno.test("handshake: wrong token, cluster, mode, version or addressee is refused and logged", async (t) => {
  const a = await startNode(1);
  const good = await startNode(2);
  const badToken = await startNode(3, { token: "not-the-token" });
  const badCluster = await startNode(4, { clusterId: "other-cluster" });
  const badMode = await startNode(5, { safetyMode: "unsafe-no-joint" });
  try {
    good.transport.setPeer(1, a.address);
    for (const node of [badToken, badCluster, badMode]) node.transport.setPeer(1, a.address);

    await t.step("wrong token: both sides log why, nothing is delivered", async () => {
      badToken.transport.send([heartbeat(3, 1, 1)]);
      await waitFor(() => a.logs.some((l) => l.includes("wrong peer token")), () => a.logs.join("\n"));
      await waitFor(
        () => badToken.logs.some((l) => /cannot reach peer 1 .*wrong peer token/.test(l)),
        () => "dialer log",
      );
      assert.ok(!a.logs.some((l) => l.includes("not-the-token")), "the token never appears in logs");
    });

    await t.step("wrong cluster", async () => {
      badCluster.transport.send([heartbeat(4, 1, 1)]);
      await waitFor(
        () => a.logs.some((l) => l.includes(`wrong cluster "other-cluster"`)),
        () => a.logs.join("\n"),
      );
    });

    await t.step("another safety mode: both sides name both modes, nothing is delivered", async () => {
      badMode.transport.send([heartbeat(5, 1, 1)]);
      const why = /node 5 runs safety mode "unsafe-no-joint" but node 1 runs "safe"/;
      await waitFor(() => a.logs.some((l) => why.test(l)), () => a.logs.join("\n"));
      await waitFor(() => badMode.logs.some((l) => why.test(l)), () => badMode.logs.join("\n"));
    });

    await t.step("wrong version and wrong addressee get a refusal that says why", async () => {
      const [versionReply] = await sendRaw(a.port, encodeFrames([hello({ version: 99 })]));
      assert.deepEqual((versionReply as { ok: boolean }).ok, false);
      assert.match((versionReply as { error: string }).error, /protocol version 99 is not 2/);
      const [addresseeReply] = await sendRaw(a.port, encodeFrames([hello({ to: 5 })]));
      assert.match((addresseeReply as { error: string }).error, /dialed node 5 but reached node 1/);
    });

    await t.step("the listener keeps accepting good peers", async () => {
      await stillServes(a, good);
      assert.equal(a.received.filter((m) => m.from !== 2).length, 0);
      assert.ok(a.transport.stats().totals.rejectedConnections >= 5);
    });
  } finally {
    await Promise.all([a, good, badToken, badCluster, badMode].map((n) => n.transport.close()));
  }
});

Deno.test("garbage on the peer port closes that connection; the node keeps working", async (t) => {
  const a = await startNode(1, { maxFrameBytes: 1 << 20, ioTimeoutMs: 1_000 });
  const good = await startNode(2);
  try {
    good.transport.setPeer(1, a.address);
    await stillServes(a, good);
    const random = seededRandom(7);

    await t.step("random bytes instead of a hello", async () => {
      for (let i = 0; i < 5; i++) {
        const bytes = new Uint8Array(200);
        for (let j = 0; j < bytes.length; j++) bytes[j] = random() * 256;
        const answers = await sendRaw(a.port, bytes);
        assert.ok(answers.every((x) => (x as { ok?: boolean }).ok === false));
      }
    });

    await t.step("a huge length prefix is refused at once, without waiting for its body", async () => {
      await sendRaw(a.port, new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
      // Refused for its header, not for the handshake deadline running out.
      assert.ok(a.logs.some((l) => /frame of 4294967295 bytes exceeds maxFrameBytes/.test(l)));
    });

    await t.step("valid msgpack of the wrong shape, before and after the hello", async () => {
      await sendRaw(a.port, encodeFrames([{ hello: "world" }]));
      assert.ok(a.logs.some((l) => l.includes("first frame is not a hello")));
      const invalidBefore = a.transport.stats().totals.invalidConnections;
      const answers = await sendRaw(
        a.port,
        encodeFrames([hello(), { type: "app", from: 7, to: 1, term: "x" }]),
      );
      assert.deepEqual(answers, [{ kind: "helloReply", ok: true }]);
      assert.equal(a.transport.stats().totals.invalidConnections, invalidBefore + 1);
      assert.ok(a.logs.some((l) => l.includes("message.term: expected an integer >= 0, got string")));
    });

    await t.step("a message whose sender is not the authenticated peer is refused", async () => {
      await sendRaw(a.port, encodeFrames([hello(), heartbeat(2, 1, 1, "spoofed")]));
      assert.ok(a.logs.some((l) => l.includes("message from 2 to 1 on a connection from node 7")));
      assert.ok(!a.received.some((m) => m.context === "spoofed"));
    });

    await t.step("a connection that never says hello is closed at the handshake deadline", async () => {
      assert.deepEqual(await sendRaw(a.port), []);
      assert.ok(
        a.logs.some((l) =>
          /refused peer connection from .*: read on the connection with .* took over 1000 ms/.test(l)
        ),
      );
    });

    await t.step("after all of it, the good peer is still served", async () => {
      await stillServes(a, good);
      assert.equal(a.received.filter((m) => m.from !== 2).length, 0, "no garbage reached Raft");
    });
  } finally {
    await a.transport.close();
    await good.transport.close();
  }
});
