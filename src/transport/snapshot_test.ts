import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import type { Message } from "../raft/types.ts";
import { encodeFrames, FrameDecoder } from "./frame.ts";
import { PROTOCOL_VERSION } from "./handshake.ts";
import { seededRandom } from "./random.ts";
import { closedPort, CLUSTER, connectAll, heartbeat, startNode, TOKEN, waitFor } from "./test_nodes.ts";

function snapMessage(from: number, to: number, data: Uint8Array): Message {
  return {
    type: "snap",
    from,
    to,
    term: 7,
    snapshot: {
      meta: {
        index: 1234,
        term: 6,
        conf: { voters: [1, 2, 3], votersOutgoing: [], learners: [], learnersNext: [] },
      },
      data,
    },
  };
}

function randomBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = random() * 256;
  return bytes;
}

Deno.test("a multi-megabyte snapshot travels in chunks and arrives byte-exact", async () => {
  const a = await startNode(1);
  const b = await startNode(2);
  try {
    connectAll([a, b]);
    const data = randomBytes(5 * 1024 * 1024 + 123, 42);
    a.transport.send([snapMessage(1, 2, data), heartbeat(1, 2, 7, "beside the snapshot")]);
    await waitFor(() => a.snapshotOutcomes.length === 1, () => JSON.stringify(a.transport.stats()));
    assert.deepEqual(a.snapshotOutcomes, [[2, true]]);
    const received = b.received.find((m) => m.type === "snap");
    assert.ok(received?.snapshot);
    assert.equal(received.snapshot.data.length, data.length);
    assert.ok(received.snapshot.data.every((byte, i) => byte === data[i]), "snapshot bytes differ");
    assert.deepEqual(received.snapshot.meta, snapMessage(1, 2, data).snapshot!.meta);
    // 512 KiB chunks: 10 full ones and a last one of 123 bytes.
    assert.equal(a.transport.stats().peers[2].snapshotChunksSent, 11);
    assert.equal(b.transport.stats().totals.snapshotChunksReceived, 11);
    assert.equal(b.transport.stats().totals.snapshotsReceived, 1);
    await waitFor(() => b.received.some((m) => m.context === "beside the snapshot"), () => "the heartbeat");
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});

Deno.test("an empty snapshot is delivered too", async () => {
  const a = await startNode(1);
  const b = await startNode(2);
  try {
    connectAll([a, b]);
    a.transport.send([snapMessage(1, 2, new Uint8Array(0))]);
    await waitFor(() => a.snapshotOutcomes.length === 1, () => "the outcome");
    assert.deepEqual(a.snapshotOutcomes, [[2, true]]);
    assert.equal(b.received[0].snapshot?.data.length, 0);
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});

Deno.test("a snapshot to an unreachable or unknown peer reports false", async () => {
  const a = await startNode(1);
  try {
    a.transport.setPeer(2, `127.0.0.1:${closedPort()}`);
    a.transport.send([snapMessage(1, 2, new Uint8Array(1000)), snapMessage(1, 3, new Uint8Array(10))]);
    await waitFor(() => a.snapshotOutcomes.length === 2, () => JSON.stringify(a.snapshotOutcomes));
    assert.deepEqual(a.snapshotOutcomes.sort(), [[2, false], [3, false]]);
    assert.equal(a.transport.stats().peers[2].snapshotsFailed, 1);
  } finally {
    await a.transport.close();
  }
});

/** Streams hand-made snapshot frames to `port` and returns the receiver's ack. */
async function rawSnapshotStream(port: number, frames: unknown[]): Promise<{ ok: boolean; error?: string }> {
  const hello = {
    kind: "hello",
    version: PROTOCOL_VERSION,
    clusterId: CLUSTER,
    from: 1,
    to: 2,
    token: TOKEN,
    channel: "snapshot",
    safetyMode: "safe",
  };
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encodeFrames([hello, ...frames]));
    const decoder = new FrameDecoder(1 << 20);
    const chunk = new Uint8Array(4096);
    const answers: unknown[] = [];
    while (answers.length < 2) {
      const n = await conn.read(chunk);
      if (n === null) break;
      decoder.push(chunk.subarray(0, n));
      for (let value = decoder.next(); value !== undefined; value = decoder.next()) answers.push(value);
    }
    return answers[1] as { ok: boolean; error?: string };
  } finally {
    conn.close();
  }
}

Deno.test("a corrupted or inconsistent snapshot stream is refused and never delivered", async (t) => {
  const b = await startNode(2);
  try {
    const data = randomBytes(1000, 1);
    const begin = {
      kind: "snapBegin",
      message: snapMessage(1, 2, new Uint8Array(0)),
      size: data.length,
      crc32: crc32(data),
      chunks: 2,
    };
    const chunk = (seq: number, bytes: Uint8Array) => ({ kind: "snapChunk", seq, data: bytes });

    await t.step("a flipped byte fails the CRC", async () => {
      const corrupted = data.slice();
      corrupted[500] ^= 1;
      const ack = await rawSnapshotStream(b.port, [
        begin,
        chunk(0, corrupted.subarray(0, 600)),
        chunk(1, corrupted.subarray(600)),
      ]);
      assert.equal(ack.ok, false);
      assert.match(ack.error!, /CRC-32 mismatch/);
    });

    await t.step("chunks out of order, past the announced size, or a bogus size", async () => {
      const outOfOrder = await rawSnapshotStream(b.port, [begin, chunk(1, data.subarray(0, 600))]);
      assert.match(outOfOrder.error!, /chunk 1 out of order: expected 0/);
      const tooLong = await rawSnapshotStream(b.port, [begin, chunk(0, data), chunk(1, data)]);
      assert.match(tooLong.error!, /runs past the announced size/);
      const hugeSize = await rawSnapshotStream(b.port, [{ ...begin, size: 2 ** 40 }]);
      assert.match(hugeSize.error!, /outside 0\.\./);
    });

    await t.step("the good stream is delivered, and only it", async () => {
      const ack = await rawSnapshotStream(b.port, [
        begin,
        chunk(0, data.subarray(0, 600)),
        chunk(1, data.subarray(600)),
      ]);
      assert.deepEqual(ack, { kind: "snapAck", ok: true });
      assert.equal(b.received.length, 1);
      assert.deepEqual([...b.received[0].snapshot!.data], [...data]);
    });
  } finally {
    await b.transport.close();
  }
});

Deno.test("a second snapshot to the same peer while one is in flight is refused at once", async () => {
  const a = await startNode(1);
  const b = await startNode(2);
  try {
    connectAll([a, b]);
    a.transport.send([snapMessage(1, 2, randomBytes(1 << 20, 3)), snapMessage(1, 2, new Uint8Array(5))]);
    await waitFor(() => a.snapshotOutcomes.length === 2, () => JSON.stringify(a.snapshotOutcomes));
    assert.deepEqual(a.snapshotOutcomes, [[2, false], [2, true]]);
    assert.equal(b.received.length, 1);
    assert.equal(b.received[0].snapshot!.data.length, 1 << 20);
    assert.ok(a.logs.some((l) => l.includes("another one is still in flight")));
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});
