import assert from "node:assert/strict";
import { StorageCorruptionError } from "./raft_storage.ts";
import { RecordType } from "./record_codec.ts";
import { scanSegment } from "./segment_scan.ts";
import { makeEntries, openQuietly, segmentFiles, withTempDir } from "./test_support.ts";

const FIRST = "wal-0000000000000001.log";

/** Bytes of the segment's records, without the zeroed runway after them. */
async function recordBytes(path: string): Promise<Uint8Array> {
  const bytes = await Deno.readFile(path);
  return bytes.subarray(0, scanSegment(bytes, path, true).validBytes);
}

/** A one-segment WAL: 10 saves of entries + hard state, then one last save of a single record. */
async function writeWal(dir: string): Promise<{ before: number; after: number }> {
  const { storage } = await openQuietly(dir);
  for (let i = 1; i <= 50; i += 5) {
    await storage.save(makeEntries(i, i + 4, 1), { term: 1, vote: 1, commit: i });
  }
  await storage.close();
  const before = (await recordBytes(`${dir}/${FIRST}`)).length;
  const reopened = await openQuietly(dir);
  await reopened.storage.save(makeEntries(51, 51, 2));
  await reopened.storage.close();
  return { before, after: (await recordBytes(`${dir}/${FIRST}`)).length };
}

async function expectCorruption(dir: string, file: string, offset: number, problem: RegExp): Promise<void> {
  await assert.rejects(openQuietly(dir), (error: Error) => {
    assert.ok(error instanceof StorageCorruptionError, `${error}`);
    assert.equal(error.file, `${dir}/${file}`);
    assert.equal(error.offset, offset);
    assert.match(error.message, problem);
    assert.match(error.message, /NEW node id/);
    return true;
  });
}

Deno.test("WAL torn tail", async (t) => {
  await t.step("a cut at every byte of the last record recovers everything before it", async () => {
    await withTempDir(async (dir) => {
      const { before, after } = await writeWal(dir);
      const full = await recordBytes(`${dir}/${FIRST}`);
      assert.ok(after - before > 100, "the reopened WAL wrote after its records, not after its runway");
      for (let cut = before; cut < after; cut++) {
        for (const padWithZeros of [false, true]) {
          const torn = new Uint8Array(padWithZeros ? after : cut);
          torn.set(full.subarray(0, cut));
          await Deno.writeFile(`${dir}/${FIRST}`, torn);
          const { storage, recovered, lines } = await openQuietly(dir);
          assert.deepEqual(
            recovered.entries.map((e) => e.index),
            Array.from({ length: 50 }, (_, i) => i + 1),
          );
          assert.deepEqual(recovered.hardState, { term: 1, vote: 1, commit: 46 });
          // Zeros alone after the records are a runway, not a torn write: nothing to cut.
          const cutBytes = cut > before ? torn.length - before : 0;
          if (cutBytes > 0) {
            assert.ok(lines.some((l) => l.includes(`cut ${cutBytes} bytes`)), lines.join("\n"));
          } else assert.deepEqual(lines, []);
          const size = (await Deno.stat(`${dir}/${FIRST}`)).size;
          assert.equal(size, cutBytes > 0 ? before : torn.length, "the torn tail is truncated");
          await storage.close();
        }
      }
    });
  });

  await t.step("a torn write is dropped whole: entries and hard state of one save go together", async () => {
    await withTempDir(async (dir) => {
      await writeWal(dir);
      const path = `${dir}/${FIRST}`;
      const before = (await recordBytes(path)).length;
      const { storage } = await openQuietly(dir);
      await storage.save(makeEntries(52, 52, 2), { term: 2, vote: 2, commit: 51 });
      await storage.close();
      const full = await recordBytes(path);
      await Deno.writeFile(path, full.subarray(0, full.length - 3)); // only the hard state record is damaged
      const { storage: reopened, recovered } = await openQuietly(dir);
      assert.equal(recovered.entries.at(-1)!.index, 51);
      assert.deepEqual(recovered.hardState, { term: 1, vote: 1, commit: 46 });
      assert.equal((await Deno.stat(path)).size, before);
      await reopened.close();
    });
  });

  await t.step(
    "a last segment torn while it was being created is removed, the previous one goes on",
    async () => {
      await withTempDir(async (dir) => {
        const { storage } = await openQuietly(dir, { segmentBytes: 2048 });
        for (let i = 1; i <= 30; i++) {
          await storage.save(makeEntries(i, i, 1), { term: 1, vote: 1, commit: i - 1 });
        }
        await storage.close();
        const names = await segmentFiles(dir);
        const last = names[names.length - 1];
        const bytes = await Deno.readFile(`${dir}/${last}`);
        const opening = scanSegment(bytes, last, true).records.find((r) => r.endsBatch)!.end;
        // Keep the last segment as it was just after creation, then tear its opening write.
        await Deno.writeFile(`${dir}/${last}`, bytes.subarray(0, opening - 4));
        const { storage: reopened, recovered, lines } = await openQuietly(dir, { segmentBytes: 2048 });
        assert.ok(lines.some((l) => l.includes(`removed a segment`)), lines.join("\n"));
        assert.deepEqual(await segmentFiles(dir), names.slice(0, -1));
        const lastIndex = recovered.entries.at(-1)!.index;
        assert.ok(lastIndex < 30);
        await reopened.save(makeEntries(lastIndex + 1, lastIndex + 40, 2));
        await reopened.close();
        const again = await openQuietly(dir, { segmentBytes: 2048 });
        assert.equal(again.recovered.entries.at(-1)!.index, lastIndex + 40);
        await again.storage.close();
      });
    },
  );
});

Deno.test("WAL corruption stops open() with the file and offset", async (t) => {
  await t.step("a damaged record followed by later writes in the last segment", async () => {
    await withTempDir(async (dir) => {
      await writeWal(dir);
      const path = `${dir}/${FIRST}`;
      const bytes = await Deno.readFile(path);
      const records = scanSegment(bytes, FIRST, true).records.filter((r) => r.type === RecordType.Entries);
      const victim = records[4];
      for (const at of [victim.offset + 30, victim.offset + 2]) { // payload, then the length field
        const damaged = bytes.slice();
        damaged[at] ^= 0x01;
        await Deno.writeFile(path, damaged);
        await expectCorruption(dir, FIRST, victim.offset, /a later write follows/);
        assert.deepEqual(await Deno.readFile(path), damaged, "nothing was cut");
      }
    });
  });

  await t.step("a bit flip anywhere in a segment that is not the last", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir, { segmentBytes: 2048 });
      for (let i = 1; i <= 40; i++) await storage.save(makeEntries(i, i, 1));
      await storage.close();
      const [first] = await segmentFiles(dir);
      const bytes = await Deno.readFile(`${dir}/${first}`);
      const records = scanSegment(bytes, first, false).records;
      const lastRecord = records[records.length - 1];
      for (const victim of [records[3], lastRecord]) {
        const damaged = bytes.slice();
        damaged[victim.end - 1] ^= 0x80;
        await Deno.writeFile(`${dir}/${first}`, damaged);
        await expectCorruption(dir, first, victim.offset, /not the last/);
      }
    });
  });

  await t.step("a missing segment between two others", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir, { segmentBytes: 1024 });
      for (let i = 1; i <= 40; i++) await storage.save(makeEntries(i, i, 1));
      await storage.close();
      const names = await segmentFiles(dir);
      await Deno.remove(`${dir}/${names[1]}`);
      await expectCorruption(dir, names[1], 0, /segment 2 is missing/);
    });
  });
});

Deno.test("WAL runway: records overwrite zeros written ahead of them, and zeros read as a clean end", async (t) => {
  const MiB = 1024 * 1024;
  await t.step("the runway stays ahead of the records as they pass it, across reopens", async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/${FIRST}`;
      let next = 1;
      for (let round = 0; round < 3; round++) {
        const { storage, recovered, lines } = await openQuietly(dir);
        assert.deepEqual(lines, [], "a runway is not a torn write");
        assert.equal(recovered.entries.length, next - 1);
        for (let i = 0; i < 12; i++, next += 10) {
          await storage.save(makeEntries(next, next + 9, 1, 10_000), { term: 1, vote: 1, commit: next });
          const records = (await recordBytes(path)).length;
          const size = (await Deno.stat(path)).size;
          assert.ok(size > records && size <= records + MiB, `records ${records}, file ${size}`);
        }
        await storage.close();
      }
      const { storage, recovered } = await openQuietly(dir);
      assert.deepEqual(recovered.entries, makeEntries(1, next - 1, 1, 10_000));
      await storage.close();
    });
  });

  await t.step("a segment left with zeros at its end is followed by the next one", async () => {
    await withTempDir(async (dir) => {
      const { storage } = await openQuietly(dir, { segmentBytes: 2048 });
      for (let i = 1; i <= 30; i++) await storage.save(makeEntries(i, i, 1), { term: 1, vote: 1, commit: i });
      await storage.close();
      const names = await segmentFiles(dir);
      assert.ok(names.length > 2);
      const first = await Deno.readFile(`${dir}/${names[0]}`);
      const scan = scanSegment(first, names[0], false);
      assert.equal(first.length, 2048, "zeroed up to the segment size, no further");
      assert.ok(scan.runwayBytes > 0 && scan.tornBytes === 0);
      const { storage: reopened, recovered, lines } = await openQuietly(dir, { segmentBytes: 2048 });
      assert.deepEqual(lines, []);
      assert.deepEqual(recovered.entries.map((e) => e.index), Array.from({ length: 30 }, (_, i) => i + 1));
      await reopened.close();
    });
  });
});
