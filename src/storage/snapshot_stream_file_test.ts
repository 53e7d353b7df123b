import assert from "node:assert/strict";
import type { Snapshot } from "../raft/types.ts";
import { crc32 } from "./crc32.ts";
import {
  checkSnapshotFile,
  SNAPSHOT_SYNC_EVERY_BYTES,
  SnapshotDataReader,
  snapshotFileName,
  SnapshotFileWriter,
} from "./snapshot_file.ts";
import { openQuietly, withTempDir } from "./test_support.ts";

const conf = { voters: [1, 2, 3], votersOutgoing: [], learners: [4], learnersNext: [] };

function image(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

async function readAll(reader: SnapshotDataReader, chunk: number): Promise<Uint8Array> {
  const out = new Uint8Array(reader.size);
  for (let at = 0; at < reader.size;) {
    const piece = await reader.read(chunk);
    assert.ok(piece.length > 0 && piece.length <= chunk);
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

Deno.test("a snapshot written piece by piece recovers as the same snapshot, and its data reads back in chunks", async () => {
  await withTempDir(async (dir) => {
    const data = image(3 * 1024 * 1024 + 17, 5);
    const meta = { index: 42, term: 3, conf };
    const { storage } = await openQuietly(dir);
    const file = await storage.beginSnapshotFile(meta);
    for (let at = 0; at < data.length; at += 700_001) await file.write(data.subarray(at, at + 700_001));
    const bytes = await file.finish();
    assert.equal(bytes, (await Deno.stat(`${dir}/${snapshotFileName(42, 3)}`)).size);

    const reader = await storage.openSnapshotData(meta);
    assert.equal(reader.size, data.length);
    assert.equal(reader.crc32, crc32(data));
    assert.deepEqual(await readAll(reader, 512 * 1024), data);
    reader.close();
    await storage.close();

    const again = await openQuietly(dir);
    assert.deepEqual(again.recovered.snapshot?.meta, meta);
    assert.deepEqual(again.recovered.snapshot?.data, data);
    await again.storage.close();
  });
});

Deno.test("a snapshot saved whole (small data, short msgpack header) is read from its file in chunks too", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await openQuietly(dir);
    for (const size of [0, 200, 60_000]) {
      const snapshot: Snapshot = { meta: { index: 10 + size, term: 2, conf }, data: image(size, size) };
      await storage.saveSnapshot(snapshot);
      const reader = await storage.openSnapshotData(snapshot.meta);
      assert.equal(reader.size, size);
      assert.deepEqual(await readAll(reader, 1000), snapshot.data);
      reader.close();
    }
    await storage.close();
  });
});

Deno.test("a damaged snapshot file is refused before any of it is sent", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await openQuietly(dir);
    const snapshot: Snapshot = { meta: { index: 7, term: 1, conf }, data: image(100_000, 1) };
    await storage.saveSnapshot(snapshot);
    const path = `${dir}/${snapshotFileName(7, 1)}`;
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 10] ^= 0xff;
    await Deno.writeFile(path, bytes);
    await assert.rejects(() => storage.openSnapshotData(snapshot.meta), /checksum mismatch/);
    await assert.rejects(
      () => storage.openSnapshotData({ ...snapshot.meta, index: 8 }),
      /No such file|NotFound|not found/i,
    );
    await storage.close();
  });
});

Deno.test("an aborted or refused streamed snapshot leaves no file behind", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await openQuietly(dir);
    await storage.saveSnapshot({ meta: { index: 20, term: 1, conf }, data: image(10, 1) });
    const aborted = await storage.beginSnapshotFile({ index: 21, term: 1, conf });
    await aborted.write(image(1000, 2));
    await aborted.abort();
    const older = await storage.beginSnapshotFile({ index: 19, term: 1, conf });
    await older.write(image(1000, 3));
    await assert.rejects(() => older.finish(), /older than the saved snapshot 20/);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.filter((n) => n.includes("snap")), [snapshotFileName(20, 1)]);
    await storage.close();
  });
});

Deno.test("a streamed snapshot a crash interrupted is removed when the storage opens again", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await openQuietly(dir);
    const partial = await storage.beginSnapshotFile({ index: 5, term: 1, conf });
    await partial.write(image(1000, 2));
    await storage.close(); // as if the process died here: the partial file stays
    const again = await openQuietly(dir);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.filter((n) => n.includes("snap")), []);
    await again.storage.close();
  });
});

Deno.test("a snapshot file being written is flushed every few MiB, not only at the end", async () => {
  await withTempDir(async (dir) => {
    const meta = {
      index: 9,
      term: 2,
      conf: { voters: [1], votersOutgoing: [], learners: [], learnersNext: [] },
    };
    const piece = new Uint8Array(1024 * 1024).fill(5);
    const write = async (syncEvery?: number) => {
      const writer = await SnapshotFileWriter.create(dir, meta, syncEvery);
      for (let i = 0; i < 10; i++) await writer.write(piece);
      await writer.finish();
      return writer.syncs;
    };
    // 10 MiB: flushed at 4 and 8 MiB by default (SNAPSHOT_SYNC_EVERY_BYTES), then by finish().
    assert.equal(SNAPSHOT_SYNC_EVERY_BYTES, 4 * 1024 * 1024);
    assert.equal(await write(), 2);
    assert.equal(await write(Infinity), 0);
    const checked = await checkSnapshotFile(dir, { name: snapshotFileName(9, 2), index: 9, term: 2 });
    assert.equal(checked.image.bytes, 10 * 1024 * 1024);
  });
});
