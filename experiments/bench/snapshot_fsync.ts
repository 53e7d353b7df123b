/**
 * `deno task bench snapshot-fsync [--mb N] [--rounds R] [--dir PATH]`: how much the disk work of a
 * large snapshot delays WAL writes on the same disk. One writer saves to a RaftStorage WAL one
 * 500-byte entry and a hard state at a time (each durable, fdatasync, as a member's Ready) while
 *   write   a SnapshotFileWriter writes an N MB image (default 100: 200,000 keys of 500 B) in
 *           1 MiB pieces and finishes it (CRC, fsync, rename, directory fsync): flushed every
 *           SNAPSHOT_SYNC_EVERY_BYTES, or only at the end (what it did before);
 *   remove  an N MB file (an old snapshot, durable) is removed: by removeGradually (cut by
 *           REMOVE_CHUNK_BYTES at a time), or at once (Deno.remove, what it did before), then the
 *           directory is fsynced.
 * Rounds alternate the two ways. Reported per round: the WAL saves that overlapped the operation
 * (p50, p99, max) and how long it took. On one machine the three members of a cluster share the
 * disk, so a save that waits here is a follower ack or a leader commit that waits there (the
 * p99.9 of writes at 200k keys). Writes bench-results/snapshot-fsync.json.
 */
import { parseFlags, positiveNumber } from "../../src/cli/args.ts";
import { syncDir } from "../../src/storage/atomic_write.ts";
import { REMOVE_CHUNK_BYTES, removeGradually } from "../../src/storage/gradual_remove.ts";
import { RaftStorage } from "../../src/storage/raft_storage.ts";
import { SNAPSHOT_SYNC_EVERY_BYTES, SnapshotFileWriter } from "../../src/storage/snapshot_file.ts";
import { percentile } from "../lib/load.ts";
import { writeResults } from "../lib/results.ts";

const PIECE_BYTES = 1024 * 1024;
const ENTRY_BYTES = 500;
const MiB = 1024 * 1024;

interface Round {
  operation: "write" | "remove";
  how: string;
  ms: number;
  walSaves: number;
  walP50Ms: number;
  walP99Ms: number;
  walMaxMs: number;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    mb: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    dir: { type: "string" },
  });
  const bytes = Math.round(positiveNumber("mb", values.mb!) * MiB);
  const rounds = Math.round(positiveNumber("rounds", values.rounds!));
  const root = await Deno.makeTempDir({
    prefix: "bench-snapshot-fsync-",
    ...(values.dir ? { dir: values.dir } : {}),
  });
  const results: Round[] = [];
  const report = (r: Round) => {
    results.push(r);
    console.log(
      `${r.operation.padEnd(6)} ${r.how.padEnd(22)} ${
        r.ms.toFixed(0).padStart(4)
      } ms; ${r.walSaves} WAL saves ` +
        `meanwhile: p50 ${r.walP50Ms.toFixed(2)} ms, p99 ${r.walP99Ms.toFixed(2)} ms, max ${
          r.walMaxMs.toFixed(2)
        } ms`,
    );
  };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const syncEvery of [SNAPSHOT_SYNC_EVERY_BYTES, Infinity]) {
        const how = syncEvery === Infinity ? "flushed at the end" : `flushed every ${syncEvery / MiB} MiB`;
        report(
          await duringWalSaves(
            `${root}/w${round}-${syncEvery}`,
            "write",
            how,
            (dir) => writeSnapshot(dir, bytes, syncEvery),
          ),
        );
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const gradually of [true, false]) {
        const how = gradually ? `cut by ${REMOVE_CHUNK_BYTES / MiB} MiB` : "removed at once";
        report(
          await duringWalSaves(`${root}/d${round}-${gradually}`, "remove", how, async (dir) => {
            await writeDurably(`${dir}/old.snap`, bytes);
            return async () => {
              if (gradually) await removeGradually(dir, "old.snap");
              else await Deno.remove(`${dir}/old.snap`);
              await syncDir(dir);
            };
          }),
        );
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  await writeResults("snapshot-fsync", { bytes, pieceBytes: PIECE_BYTES, results });
}

/** A snapshot file of `bytes` bytes, written by SnapshotFileWriter in 1 MiB pieces. */
function writeSnapshot(dir: string, bytes: number, syncEvery: number): Promise<() => Promise<void>> {
  return Promise.resolve(async () => {
    const conf = { voters: [1], votersOutgoing: [], learners: [], learnersNext: [] };
    const writer = await SnapshotFileWriter.create(dir, { index: 1, term: 1, conf }, syncEvery);
    const piece = new Uint8Array(PIECE_BYTES);
    for (let written = 0; written < bytes; written += PIECE_BYTES) {
      piece.fill(written / PIECE_BYTES);
      await writer.write(piece.subarray(0, Math.min(PIECE_BYTES, bytes - written)));
    }
    await writer.finish();
  });
}

/** A file of `bytes` bytes on disk (flushed as it is written, so that writing it disturbs nothing after). */
async function writeDurably(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, { create: true, write: true, truncate: true });
  const piece = new Uint8Array(4 * MiB).fill(9);
  for (let written = 0; written < bytes; written += piece.length) {
    const n = Math.min(piece.length, bytes - written);
    for (let at = 0; at < n;) at += await file.write(piece.subarray(at, n));
    await file.syncData();
  }
  await file.sync();
}

/**
 * Runs the operation that `prepare` returns while one writer saves to a WAL in `dir/wal`, and
 * reports the saves that overlapped it.
 */
async function duringWalSaves(
  dir: string,
  operation: Round["operation"],
  how: string,
  prepare: (dir: string) => Promise<() => Promise<void>>,
): Promise<Round> {
  await Deno.mkdir(`${dir}/wal`, { recursive: true });
  const run = await prepare(dir);
  const { storage } = await RaftStorage.open(`${dir}/wal`, { log: () => {}, coalesce: false });
  const saves: Array<{ start: number; ms: number }> = [];
  let stop = false;
  const data = new Uint8Array(ENTRY_BYTES).fill(1);
  const walWriter = (async () => {
    for (let index = 1; !stop; index++) {
      const start = performance.now();
      await storage.save([{ term: 1, index, type: "normal", data }], { term: 1, vote: 1, commit: index });
      saves.push({ start, ms: performance.now() - start });
    }
  })();
  await new Promise((r) => setTimeout(r, 300)); // the WAL writer's steady state first
  const started = performance.now();
  await run();
  const ended = performance.now();
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await walWriter;
  await storage.close();
  // A save overlapped the operation if it was under way at any moment between start and end.
  const during = Float64Array.from(
    saves.filter((s) => s.start <= ended && s.start + s.ms >= started).map((s) => s.ms),
  ).sort();
  return {
    operation,
    how,
    ms: ended - started,
    walSaves: during.length,
    walP50Ms: percentile(during, 0.5),
    walP99Ms: percentile(during, 0.99),
    walMaxMs: during.at(-1) ?? 0,
  };
}
