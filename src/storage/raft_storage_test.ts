import assert from "node:assert/strict";
import type { HardState, Snapshot } from "../raft/types.ts";
import { StorageLockedError } from "./raft_storage.ts";
import { makeEntries, openQuietly, segmentFiles, snapshotFiles, withTempDir } from "./test_support.ts";

const conf = { voters: [1, 2, 3], votersOutgoing: [], learners: [], learnersNext: [] };
const snapshotAt = (index: number, term: number, fill = 7): Snapshot => ({
  meta: { index, term, conf },
  data: new Uint8Array(300).fill(fill),
});

Deno.test("RaftStorage round trip", async (t) => {
  await t.step("a fresh directory recovers empty and fresh", async () => {
    await withTempDir(async (dir) => {
      const { storage, recovered } = await openQuietly(dir);
      assert.deepEqual(recovered, { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], fresh: true });
      await storage.close();
      const again = await openQuietly(dir);
      assert.equal(again.recovered.fresh, false);
      await again.storage.close();
    });
  });

  await t.step("entries, conf entries and hard state come back equal", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      const entries = [
        ...makeEntries(1, 5, 1),
        {
          term: 1,
          index: 6,
          type: "conf" as const,
          change: { ops: [{ op: "addLearner" as const, node: 4 }], joint: false },
        },
        { term: 2, index: 7, type: "normal" as const },
      ];
      const hs: HardState = { term: 2, vote: 3, commit: 6 };
      await storage.save(entries.slice(0, 4), { term: 1, vote: 1, commit: 2 });
      await storage.save(entries.slice(4), hs);
      await storage.close();
      const { storage: reopened, recovered } = await openQuietly(dir);
      assert.deepEqual(recovered.entries, entries);
      assert.equal(recovered.entries[0].data!.constructor, Uint8Array);
      assert.deepEqual(recovered.hardState, hs);
      assert.equal(recovered.snapshot, undefined);
      await reopened.close();
    });
  });

  await t.step("a conflicting suffix is replaced by the later write", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 10, 1));
      await storage.save(makeEntries(6, 8, 2)); // a new leader overwrote 6..10 with 6..8
      await storage.save(makeEntries(9, 9, 3));
      await storage.close();
      const { storage: reopened, recovered } = await openQuietly(dir);
      assert.deepEqual(recovered.entries.map((e) => [e.index, e.term]), [
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 1],
        [5, 1],
        [6, 2],
        [7, 2],
        [8, 2],
        [9, 3],
      ]);
      await reopened.close();
    });
  });

  await t.step("writes that recovery could not replay are refused and change nothing", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 3, 1));
      await assert.rejects(storage.save(makeEntries(5, 6, 1)), /gap after the last stored index 3/);
      await assert.rejects(
        storage.save([...makeEntries(4, 4, 1), ...makeEntries(6, 6, 1)]),
        /jump from 4 to 6/,
      );
      await assert.rejects(storage.save([], { term: -1, vote: 0, commit: 0 }), /hard state fields/);
      await assert.rejects(
        storage.save([], { term: 1, vote: 0, commit: 4 }),
        /commits up to 4 but the log ends at 3/,
      );
      await storage.close();
      const { storage: reopened, recovered } = await openQuietly(dir);
      assert.deepEqual(recovered.entries.map((e) => e.index), [1, 2, 3]);
      await reopened.close();
    });
  });
});

Deno.test("RaftStorage segments roll over and reopen", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await openQuietly(dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 200; i += 4) {
      await storage.save(makeEntries(i, i + 3, 1), { term: 1, vote: 1, commit: i });
    }
    const stats = storage.stats();
    assert.ok(stats.segments > 5, `expected several segments, got ${stats.segments}`);
    assert.equal((await segmentFiles(dir)).length, stats.segments);
    await storage.close();
    const { storage: reopened, recovered } = await openQuietly(dir, { segmentBytes: 4096 });
    assert.deepEqual(recovered.entries.map((e) => e.index), Array.from({ length: 200 }, (_, i) => i + 1));
    assert.deepEqual(recovered.hardState, { term: 1, vote: 1, commit: 197 });
    await reopened.save(makeEntries(201, 201, 2));
    await reopened.close();
  });
});

Deno.test("RaftStorage snapshots", async (t) => {
  await t.step("segments covered by the older retained snapshot go; state survives", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir, { segmentBytes: 4096 });
      for (let i = 1; i <= 300; i += 5) {
        await storage.save(makeEntries(i, i + 4, 1), { term: 1, vote: 2, commit: i });
      }
      const before = storage.stats().segments;
      await storage.saveSnapshot(snapshotAt(100, 1, 1));
      assert.equal(
        storage.stats().segments,
        before,
        "one snapshot alone releases nothing (fallback needs the WAL)",
      );
      await storage.saveSnapshot(snapshotAt(200, 1, 2));
      await storage.saveSnapshot(snapshotAt(250, 1, 3));
      const after = storage.stats();
      assert.ok(after.segments < before, `segments ${before} -> ${after.segments}`);
      assert.equal(after.lastSnapshotIndex, 250);
      assert.deepEqual(await snapshotFiles(dir), [
        "snap-0000000000000200-0000000000000001.snap",
        "snap-0000000000000250-0000000000000001.snap",
      ]);
      await storage.close();
      const { storage: reopened, recovered } = await openQuietly(dir, { segmentBytes: 4096 });
      assert.deepEqual(recovered.snapshot, snapshotAt(250, 1, 3));
      assert.equal(recovered.snapshot!.data.constructor, Uint8Array);
      assert.deepEqual(recovered.entries.map((e) => e.index), Array.from({ length: 50 }, (_, i) => i + 251));
      assert.deepEqual(
        recovered.hardState,
        { term: 1, vote: 2, commit: 296 },
        "the hard state outlives its segment",
      );
      await reopened.close();
    });
  });

  await t.step("the hard state survives when every segment that held it is released", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir, { segmentBytes: 1024 });
      await storage.save([], { term: 7, vote: 3, commit: 0 });
      for (let i = 1; i <= 60; i++) await storage.save(makeEntries(i, i, 7));
      await storage.saveSnapshot(snapshotAt(30, 7));
      await storage.saveSnapshot(snapshotAt(60, 7));
      assert.ok(!(await segmentFiles(dir)).includes("wal-0000000000000001.log"));
      await storage.close();
      const { storage: reopened, recovered } = await openQuietly(dir, { segmentBytes: 1024 });
      assert.deepEqual(recovered.hardState, { term: 7, vote: 3, commit: 0 });
      await reopened.close();
    });
  });

  await t.step("a snapshot from the leader replaces a log that disagrees with it", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 20, 1)); // a stale branch: the leader's entry 10 has term 3
      // Not awaited in between: the save must still land after the snapshot's WAL marker.
      await Promise.all([
        storage.saveSnapshot(snapshotAt(10, 3)),
        storage.save(makeEntries(11, 12, 3), { term: 3, vote: 0, commit: 10 }),
      ]);
      await storage.close();
      const { storage: reopened, recovered } = await openQuietly(dir);
      assert.equal(recovered.snapshot!.meta.index, 10);
      assert.deepEqual(recovered.entries.map((e) => [e.index, e.term]), [[11, 3], [12, 3]]);
      await reopened.close();
    });
  });

  await t.step("a compaction snapshot keeps the entries after it", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 20, 1));
      await storage.saveSnapshot(snapshotAt(10, 1));
      await storage.close();
      const { storage: reopened, recovered } = await openQuietly(dir);
      assert.deepEqual(recovered.entries.map((e) => e.index), Array.from({ length: 10 }, (_, i) => i + 11));
      await reopened.close();
    });
  });

  await t.step("a crash between the snapshot file and its WAL marker drops the disagreeing log", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 20, 1));
      await storage.saveSnapshot(snapshotAt(10, 3));
      await storage.close();
      // Rebuild the state of that window: the same WAL without the marker, the snapshot file present.
      const wal = await Deno.readFile(`${dir}/wal-0000000000000001.log`);
      const markerBytes = 17 + 3; // header + msgpack [10, 3]
      await Deno.writeFile(`${dir}/wal-0000000000000001.log`, wal.subarray(0, wal.length - markerBytes));
      const { storage: reopened, recovered } = await openQuietly(dir);
      assert.equal(recovered.snapshot!.meta.index, 10);
      assert.deepEqual(recovered.entries, []);
      await reopened.close();
    });
  });

  await t.step("a damaged newest snapshot falls back to the older one and the WAL", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 40, 1), { term: 1, vote: 1, commit: 40 });
      await storage.saveSnapshot(snapshotAt(10, 1));
      await storage.saveSnapshot(snapshotAt(30, 1));
      await storage.close();
      const newest = `${dir}/snap-0000000000000030-0000000000000001.snap`;
      const bytes = await Deno.readFile(newest);
      bytes[bytes.length - 5] ^= 0x10;
      await Deno.writeFile(newest, bytes);
      const { storage: reopened, recovered, lines } = await openQuietly(dir);
      assert.equal(recovered.snapshot!.meta.index, 10);
      assert.deepEqual(recovered.entries.map((e) => e.index), Array.from({ length: 30 }, (_, i) => i + 11));
      assert.ok(
        lines.some((l) => l.includes("checksum mismatch") && l.includes(".damaged")),
        lines.join("\n"),
      );
      await reopened.close();
    });
  });

  await t.step("a damaged older snapshot is found without being loaded, and set aside", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 40, 1), { term: 1, vote: 1, commit: 40 });
      await storage.saveSnapshot(snapshotAt(10, 1));
      await storage.saveSnapshot(snapshotAt(30, 1));
      await storage.close();
      const older = `${dir}/snap-0000000000000010-0000000000000001.snap`;
      const bytes = await Deno.readFile(older);
      bytes[bytes.length - 5] ^= 0x10;
      await Deno.writeFile(older, bytes);
      const { storage: reopened, recovered, lines } = await openQuietly(dir);
      assert.equal(recovered.snapshot!.meta.index, 30);
      assert.deepEqual(recovered.snapshot!.data, snapshotAt(30, 1).data);
      assert.ok(
        lines.some((l) => l.includes("snap-0000000000000010") && l.includes("checksum mismatch")),
        lines.join("\n"),
      );
      await reopened.close();
    });
  });

  await t.step("snapshotImageInFile: the image is checked and left in its file, not read", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 40, 1), { term: 1, vote: 1, commit: 40 });
      await storage.saveSnapshot(snapshotAt(10, 1, 1));
      const newest = {
        meta: { index: 30, term: 1, conf },
        data: Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff),
      };
      await storage.saveSnapshot(newest);
      await storage.close();
      const { storage: reopened, recovered } = await openQuietly(dir, { snapshotImageInFile: true });
      assert.deepEqual(recovered.snapshot, { meta: newest.meta, data: new Uint8Array(0) });
      const image = recovered.snapshotImage!;
      assert.equal(image.path, `${dir}/snap-0000000000000030-0000000000000001.snap`);
      assert.equal(image.bytes, newest.data.length);
      const file = await Deno.readFile(image.path);
      assert.deepEqual(file.subarray(image.offset, image.offset + image.bytes), newest.data);
      assert.equal(image.offset + image.bytes, file.length, "the image runs to the end of the file");
      assert.deepEqual(recovered.entries.map((e) => e.index), Array.from({ length: 10 }, (_, i) => i + 31));
      await reopened.close();

      // Damage the newest image (not its metadata): its CRC is still checked before it is used.
      file[image.offset + 1234] ^= 0x01;
      await Deno.writeFile(image.path, file);
      const { storage: third, recovered: fallback, lines } = await openQuietly(dir, {
        snapshotImageInFile: true,
      });
      assert.equal(fallback.snapshot!.meta.index, 10);
      assert.equal(fallback.snapshotImage!.path, `${dir}/snap-0000000000000010-0000000000000001.snap`);
      assert.equal(fallback.snapshotImage!.bytes, 300);
      assert.deepEqual(fallback.entries.map((e) => e.index), Array.from({ length: 30 }, (_, i) => i + 11));
      assert.ok(
        lines.some((l) => l.includes("checksum mismatch") && l.includes(".damaged")),
        lines.join("\n"),
      );
      await third.close();
    });
  });

  await t.step("a damaged newest snapshot the WAL cannot rebuild stops open()", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 5, 1));
      await storage.saveSnapshot(snapshotAt(50, 2)); // from the leader: replaces the log
      await storage.close();
      const path = `${dir}/snap-0000000000000050-0000000000000002.snap`;
      await Deno.writeFile(path, (await Deno.readFile(path)).subarray(0, 40));
      await assert.rejects(openQuietly(dir), (error: Error) => {
        assert.equal(error.name, "StorageCorruptionError");
        assert.match(error.message, /snapshot 50 .*unreadable.*NEW node id/);
        return true;
      });
      assert.ok(
        (await snapshotFiles(dir)).includes("snap-0000000000000050-0000000000000002.snap"),
        "left untouched",
      );
    });
  });

  await t.step("an older snapshot than the saved one is refused", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(1, 20, 1));
      await storage.saveSnapshot(snapshotAt(15, 1));
      await assert.rejects(storage.saveSnapshot(snapshotAt(12, 1)), /older than the saved snapshot 15/);
      await storage.close();
    });
  });
});

Deno.test("RaftStorage group commit: concurrent saves share fdatasyncs", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await openQuietly(dir);
    const writers = 200;
    await Promise.all(
      Array.from(
        { length: writers },
        (_, i) => storage.save(makeEntries(i + 1, i + 1, 1), { term: 1, vote: 1, commit: i }),
      ),
    );
    const { syncs, recordsWritten } = storage.stats();
    assert.equal(recordsWritten, 2 * writers);
    assert.ok(syncs <= writers / 10, `${writers} concurrent saves took ${syncs} syncs`);
    await storage.close();
    const { storage: reopened, recovered } = await openQuietly(dir);
    assert.equal(recovered.entries.length, writers);
    assert.deepEqual(recovered.hardState, { term: 1, vote: 1, commit: writers - 1 });
    await reopened.close();
  });
});

Deno.test("RaftStorage lock: a second open of the same directory fails clearly", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await openQuietly(dir);
    await assert.rejects(openQuietly(dir), (error: Error) => {
      assert.ok(error instanceof StorageLockedError);
      assert.ok(error.message.includes(dir));
      return true;
    });
    await storage.close();
    const again = await openQuietly(dir);
    await again.storage.close();
  });
});
