/**
 * `deno task bench wal [--seconds N] [--writers 1,8,64] [--dir PATH]`: RaftStorage.save() throughput
 * and latency with 1, 8 and 64 concurrent writers (by default), each save one ~100-byte entry plus a hard state (as in a Ready),
 * durable (fdatasync) before it resolves. Writes bench-results/wal.json.
 */
import { parseFlags, positiveIntegers, positiveNumber, UsageError } from "../../src/cli/args.ts";
import type { Entry } from "../../src/raft/types.ts";
import { RaftStorage } from "../../src/storage/raft_storage.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import { isDirectory } from "./args.ts";

const DEFAULT_WRITER_COUNTS = [1, 8, 64];
const ENTRY_DATA_BYTES = 100;

interface LevelResult {
  writers: number;
  saves: number;
  seconds: number;
  appendsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  syncs: number;
  entriesPerSync: number;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    seconds: { type: "string", default: "3" },
    dir: { type: "string" },
    writers: { type: "string" },
  });
  const seconds = positiveNumber("seconds", values.seconds!);
  const parent = values.dir;
  if (parent !== undefined && !(await isDirectory(parent))) {
    throw new UsageError(`--dir ${parent}: no such directory (the WAL goes into a new directory inside it)`);
  }
  const writerCounts = values.writers === undefined
    ? DEFAULT_WRITER_COUNTS
    : positiveIntegers("writers", values.writers);
  const results: LevelResult[] = [];
  for (const writers of writerCounts) {
    const dir = await Deno.makeTempDir({ prefix: "bench-wal-", ...(parent ? { dir: parent } : {}) });
    try {
      const result = await measure(dir, writers, seconds);
      results.push(result);
      console.log(
        `writers=${String(writers).padStart(2)}  ${Math.round(result.appendsPerSecond)} appends/s  ` +
          `p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ` +
          `${result.entriesPerSync.toFixed(1)} entries per fdatasync`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  await writeResults(
    "wal",
    {
      bench: "wal",
      about:
        "RaftStorage.save(one entry + hard state), resolved after fdatasync; group commit across writers",
      entryDataBytes: ENTRY_DATA_BYTES,
      secondsPerLevel: seconds,
      results,
    },
    {
      summary: markdownTable(
        ["writers", "appends/s", "p50 ms", "p99 ms", "entries per fdatasync"],
        results.map((r) => [
          r.writers,
          Math.round(r.appendsPerSecond),
          r.p50Ms.toFixed(2),
          r.p99Ms.toFixed(2),
          r.entriesPerSync.toFixed(1),
        ]),
      ),
    },
  );
}

async function measure(dir: string, writers: number, seconds: number): Promise<LevelResult> {
  const { storage } = await RaftStorage.open(dir);
  const data = new Uint8Array(ENTRY_DATA_BYTES).fill(120);
  const latencies: number[] = [];
  let nextIndex = 1;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  async function writer(): Promise<void> {
    while (performance.now() < deadline) {
      const index = nextIndex++; // taken synchronously, so the saves reach the WAL in index order
      const entry: Entry = { term: 1, index, type: "normal", data };
      const t0 = performance.now();
      await storage.save([entry], { term: 1, vote: 1, commit: index - 1 });
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: writers }, writer));
  const elapsed = (performance.now() - started) / 1000;
  const { syncs } = storage.stats();
  await storage.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    writers,
    saves: latencies.length,
    seconds: elapsed,
    appendsPerSecond: latencies.length / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: latencies[latencies.length - 1],
    syncs,
    entriesPerSync: latencies.length / syncs,
  };
}
