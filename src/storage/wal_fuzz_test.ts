import assert from "node:assert/strict";
import { StorageCorruptionError } from "./raft_storage.ts";
import { decodeRecordAt, type WalRecord } from "./record_codec.ts";
import { scanSegment } from "./segment_scan.ts";
import { makeEntries, openQuietly, seededRandom, segmentFiles, withTempDir } from "./test_support.ts";

const SEED = 20240611;

/** The reader either refuses (StorageCorruptionError) or returns whole, checksummed records from byte 0 on. */
function scanOrRefuse(bytes: Uint8Array, isLast: boolean): WalRecord[] | "refused" {
  try {
    const scan = scanSegment(bytes, "fuzz.log", isLast);
    assert.equal(scan.validBytes + scan.tornBytes + scan.runwayBytes, bytes.length);
    assert.ok(scan.tornBytes === 0 || scan.runwayBytes === 0);
    let at = 0;
    for (const record of scan.records) {
      assert.equal(record.offset, at);
      assert.ok(decodeRecordAt(bytes, at).ok);
      at = record.end;
    }
    assert.equal(at, scan.validBytes);
    if (!isLast) assert.equal(scan.tornBytes, 0);
    return scan.records;
  } catch (error) {
    if (error instanceof StorageCorruptionError) return "refused";
    throw error;
  }
}

function mutate(original: Uint8Array, random: () => number): Uint8Array {
  const at = Math.floor(random() * original.length);
  const span = 1 + Math.floor(random() * 64);
  const bytes = original.slice();
  switch (Math.floor(random() * 6)) {
    case 0: // a few bit flips
      for (let i = 0; i < 1 + random() * 3; i++) {
        bytes[Math.floor(random() * bytes.length)] ^= 1 << (random() * 8);
      }
      return bytes;
    case 1: // truncation
      return bytes.subarray(0, at);
    case 2: // a zeroed range (lost sectors)
      return bytes.fill(0, at, at + span);
    case 3: // random garbage over a range
      for (let i = at; i < Math.min(bytes.length, at + span); i++) bytes[i] = random() * 256;
      return bytes;
    case 4: { // bytes inserted
      const out = new Uint8Array(bytes.length + span);
      out.set(bytes.subarray(0, at));
      for (let i = 0; i < span; i++) out[at + i] = random() * 256;
      out.set(bytes.subarray(at), at + span);
      return out;
    }
    default: { // bytes removed
      const end = Math.min(bytes.length, at + span);
      const out = new Uint8Array(bytes.length - (end - at));
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(end), at);
      return out;
    }
  }
}

Deno.test("WAL reader fuzz: random bytes never crash or hang it", () => {
  const random = seededRandom(SEED);
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(Math.floor(random() * 3000));
    for (let j = 0; j < bytes.length; j++) bytes[j] = random() * 256;
    const result = scanOrRefuse(bytes, random() < 0.5);
    if (result !== "refused") {
      assert.equal(result.length, 0, `seed ${SEED} case ${i}: random bytes decoded as records`);
    }
  }
});

Deno.test("WAL reader fuzz: mutated real segments give an error or a valid prefix", async (t) => {
  await withTempDir(async (dir) => {
    const { storage } = await openQuietly(dir, { segmentBytes: 16 * 1024 });
    for (let i = 1; i <= 120; i += 3) {
      await storage.save(makeEntries(i, i + 2, 1, 40), { term: 1, vote: 1, commit: i });
    }
    await storage.close();
    const [segment] = await segmentFiles(dir);
    const original = await Deno.readFile(`${dir}/${segment}`);
    const originalRecords = scanOrRefuse(original, true);
    assert.ok(originalRecords !== "refused" && originalRecords.length > 50);
    const random = seededRandom(SEED + 1);

    await t.step("the segment reader, 4000 mutations", () => {
      const outcomes = { refused: 0, prefix: 0 };
      for (let i = 0; i < 4000; i++) {
        const mutated = mutate(original, random);
        const result = scanOrRefuse(mutated, random() < 0.7);
        outcomes[result === "refused" ? "refused" : "prefix"]++;
        if (result === "refused") continue;
        assert.ok(result.length <= originalRecords.length, `seed ${SEED + 1} case ${i}`);
        result.forEach((r, k) => {
          assert.equal(r.offset, originalRecords[k].offset, `seed ${SEED + 1} case ${i}: record ${k} moved`);
          assert.deepEqual(
            r.payload,
            originalRecords[k].payload,
            `seed ${SEED + 1} case ${i}: record ${k} changed`,
          );
        });
      }
      assert.ok(outcomes.refused > 100 && outcomes.prefix > 100, JSON.stringify(outcomes));
    });

    await t.step("RaftStorage.open on the mutated last segment, 150 mutations", async () => {
      const all = makeEntries(1, 120, 1, 40);
      const outcomes = { refused: 0, recovered: 0 };
      for (let i = 0; i < 150; i++) {
        await Deno.writeFile(`${dir}/${segment}`, mutate(original, random));
        try {
          const { storage: reopened, recovered } = await openQuietly(dir, { segmentBytes: 16 * 1024 });
          assert.deepEqual(
            recovered.entries,
            all.slice(0, recovered.entries.length),
            `seed ${SEED + 1} open ${i}`,
          );
          await reopened.close();
          outcomes.recovered++;
        } catch (error) {
          if (!(error instanceof StorageCorruptionError)) throw error;
          outcomes.refused++;
        }
      }
      assert.ok(outcomes.refused > 10 && outcomes.recovered > 10, JSON.stringify(outcomes));
    });
  });
});
