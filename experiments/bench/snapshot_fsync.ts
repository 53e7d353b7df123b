/**
 * `deno task bench snapshot-fsync [--mb N] [--rounds R] [--dir PATH]`: how much writing a large
 * snapshot file delays WAL writes on the same disk. One writer saves to a RaftStorage WAL one
 * 500-byte entry and a hard state at a time (each durable, fdatasync, as a member's Ready), while
 * a SnapshotFileWriter writes an N MB image (default 100: 200,000 keys of 500 B) in 1 MiB pieces
 * and finishes it (CRC, fsync, rename, directory fsync). Alternating rounds compare the writer's
 * flush every SNAPSHOT_SYNC_EVERY_BYTES with a flush only at the end (what it did before).
 * Reported per round: the WAL saves that overlapped the snapshot (p50, p99, max) and how long the
 * snapshot took. On one machine the three members of a cluster share the disk, so a save that
 * waits here is a follower ack or a leader commit that waits there (the p99.9 of writes at 200k
 * keys). Writes bench-results/snapshot-fsync.json.
 */
import { parseFlags, positiveNumber } from "../../src/cli/args.ts";
import { RaftStorage } from "../../src/storage/raft_storage.ts";
import { SNAPSHOT_SYNC_EVERY_BYTES, SnapshotFileWriter } from "../../src/storage/snapshot_file.ts";
import { percentile } from "../lib/load.ts";
import { writeResults } from "../lib/results.ts";

const PIECE_BYTES = 1024 * 1024;
const ENTRY_BYTES = 500;

interface Round {
  flush: string;
  snapshotMs: number;
  walSaves: number;
  walP50Ms: number;
  walP99Ms: number;
  walMaxMs: number;
  flushes: number;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    mb: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    dir: { type: "string" },
  });
  const bytes = Math.round(positiveNumber("mb", values.mb!) * 1024 * 1024);
  const rounds = Math.round(positiveNumber("rounds", values.rounds!));
  const root = await Deno.makeTempDir({
    prefix: "bench-snapshot-fsync-",
    ...(values.dir ? { dir: values.dir } : {}),
  });
  const results: Round[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const syncEvery of [SNAPSHOT_SYNC_EVERY_BYTES, Infinity]) {
        const result = await measure(`${root}/r${round}-${syncEvery}`, bytes, syncEvery);
        results.push(result);
        console.log(
          `${result.flush.padEnd(16)} snapshot ${result.snapshotMs.toFixed(0).padStart(4)} ms; ` +
            `${result.walSaves} WAL saves meanwhile: p50 ${result.walP50Ms.toFixed(2)} ms, ` +
            `p99 ${result.walP99Ms.toFixed(2)} ms, max ${result.walMaxMs.toFixed(2)} ms`,
        );
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  await writeResults("snapshot-fsync", { snapshotBytes: bytes, pieceBytes: PIECE_BYTES, results });
}

async function measure(dir: string, bytes: number, syncEvery: number): Promise<Round> {
  await Deno.mkdir(`${dir}/wal`, { recursive: true });
  await Deno.mkdir(`${dir}/snap`);
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
  const meta = {
    index: 1,
    term: 1,
    conf: { voters: [1], votersOutgoing: [], learners: [], learnersNext: [] },
  };
  const writer = await SnapshotFileWriter.create(`${dir}/snap`, meta, syncEvery);
  const piece = new Uint8Array(PIECE_BYTES);
  for (let written = 0; written < bytes; written += PIECE_BYTES) {
    piece.fill(written / PIECE_BYTES);
    await writer.write(piece.subarray(0, Math.min(PIECE_BYTES, bytes - written)));
  }
  await writer.finish();
  const ended = performance.now();
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await walWriter;
  await storage.close();
  // A save overlapped the snapshot if it was under way at any moment between start and end.
  const during = Float64Array.from(
    saves.filter((s) => s.start <= ended && s.start + s.ms >= started).map((s) => s.ms),
  ).sort();
  return {
    flush: syncEvery === Infinity ? "at the end" : `every ${syncEvery / 1024 / 1024} MiB`,
    snapshotMs: ended - started,
    walSaves: during.length,
    walP50Ms: percentile(during, 0.5),
    walP99Ms: percentile(during, 0.99),
    walMaxMs: during.at(-1) ?? 0,
    flushes: writer.syncs,
  };
}
