import assert from "node:assert/strict";
import type { Message } from "../raft/types.ts";
import { IncomingSnapshots } from "./incoming_snapshots.ts";
import { seededRandom } from "../transport/random.ts";
import { SnapshotAssembler } from "../transport/snapshot_stream.ts";
import { connectAll, startNode, waitFor } from "../transport/test_nodes.ts";

function snapMessage(data: Uint8Array): Message {
  return {
    type: "snap",
    from: 1,
    to: 2,
    term: 7,
    snapshot: {
      meta: {
        index: 99,
        term: 6,
        conf: { voters: [1, 2], votersOutgoing: [], learners: [], learnersNext: [] },
      },
      data,
    },
  };
}

Deno.test("a staged snapshot is written to a file chunk by chunk and delivered with empty data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "snapshot-stage-" });
  const incoming = new IncomingSnapshots(`${dir}/incoming`);
  const a = await startNode(1);
  const b = await startNode(2, { stageSnapshot: (meta, size) => incoming.stage(meta, size) });
  try {
    connectAll([a, b]);
    const random = seededRandom(7);
    const data = new Uint8Array(3 * 1024 * 1024 + 5).map(() => random() * 256);
    a.transport.send([snapMessage(data)]);
    await waitFor(() => a.snapshotOutcomes.length === 1, () => JSON.stringify(a.transport.stats()));
    assert.deepEqual(a.snapshotOutcomes, [[2, true]]);
    const received = b.received.find((m) => m.type === "snap")!;
    assert.equal(received.snapshot!.data.length, 0, "the image is in the stage, not the message");
    const staged = incoming.image(received.snapshot!.meta)!;
    assert.equal(staged.size, data.length);
    assert.deepEqual(await Deno.readFile(staged.path), data);
    const totals = b.transport.stats().totals;
    assert.equal(totals.snapshotChunksReceived, 7);
    assert.equal(totals.snapshotMaxBytesHeld, 512 * 1024, "one chunk in memory at a time");
    await incoming.discardUpTo(99);
    assert.equal(incoming.image(received.snapshot!.meta), undefined);
    assert.deepEqual([...Deno.readDirSync(`${dir}/incoming`)], []);
  } finally {
    await a.transport.close();
    await b.transport.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stream that breaks or fails its CRC leaves no staged file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "snapshot-stage-" });
  const incoming = new IncomingSnapshots(`${dir}/incoming`);
  try {
    const data = new Uint8Array(1000).fill(3);
    const message = { ...snapMessage(new Uint8Array(0)) };
    const begin = { kind: "snapBegin", message, size: data.length, crc32: 12345, chunks: 2 };
    // Wrong CRC: refused after the last chunk, the partial file removed.
    const bad = new SnapshotAssembler(1 << 20, (meta, size) => incoming.stage(meta, size));
    assert.equal(await bad.accept(begin), undefined);
    assert.equal(await bad.accept({ kind: "snapChunk", seq: 0, data: data.subarray(0, 600) }), undefined);
    await assert.rejects(() => bad.accept({ kind: "snapChunk", seq: 1, data: data.subarray(600) }), /CRC-32/);
    await bad.close();
    // Broken after one chunk.
    const broken = new SnapshotAssembler(1 << 20, (meta, size) => incoming.stage(meta, size));
    await broken.accept(begin);
    await broken.accept({ kind: "snapChunk", seq: 0, data: data.subarray(0, 600) });
    await broken.close();
    assert.deepEqual([...Deno.readDirSync(`${dir}/incoming`)], []);
    assert.equal(incoming.image(message.snapshot!.meta), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a resent stream of the same snapshot is not hurt by the broken one it replaces", async () => {
  const dir = await Deno.makeTempDir({ prefix: "snapshot-stage-" });
  const incoming = new IncomingSnapshots(`${dir}/incoming`);
  try {
    const meta = snapMessage(new Uint8Array(0)).snapshot!.meta;
    const broken = await incoming.stage(meta, 6);
    await broken.write(Uint8Array.of(1, 2, 3));
    const resent = await incoming.stage(meta, 6);
    await resent.write(Uint8Array.of(1, 2, 3));
    await broken.abort(); // the old connection noticed it was superseded
    await resent.write(Uint8Array.of(4, 5, 6));
    await resent.finish();
    assert.deepEqual(await Deno.readFile(incoming.image(meta)!.path), Uint8Array.of(1, 2, 3, 4, 5, 6));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
