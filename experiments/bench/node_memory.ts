/**
 * `deno run -A --v8-flags=--expose-gc experiments/bench/node_memory.ts [--keys 200000]
 *  [--value-bytes 500] [--writes 60000] [--trim]` (also `deno task bench node-memory`, without exact GC):
 * where one real raft-kv node's memory goes as its state grows (issue 17). One bootstrapped
 * RaftKvNode in this process (file store, fsync on, no HTTP, no peers): loads `--keys` keys through
 * Raft in batches of 500 (POST /kv-batch's command), then makes `--writes` single-key writes with
 * 64 concurrent writers, and after each phase reports, after a full GC: RSS, V8 heap used and
 * total, external (ArrayBuffer) memory, the Raft log's entries with their data bytes and the bytes
 * of the buffers those entries keep alive (they differ when an entry is a view into a larger
 * buffer), the snapshot image bytes the Raft core holds, the arena's slabs, live bytes and index,
 * and with --trim the RSS after malloc_trim (memory freed but kept by glibc). Writes bench-results/node-memory.json.
 */
import { parseArgs } from "node:util";
import { RaftKvNode } from "../../src/kv/raft_kv_node.ts";
import type { Entry } from "../../src/raft/mod.ts";
import { writeResults } from "../lib/results.ts";

const MB = 1024 * 1024;

interface Phase {
  phase: string;
  rssMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
  logEntries: number;
  logDataMB: number;
  logBuffersMB: number;
  imageHeldBytes: number;
  /** The value arena: bytes of its slabs and of the live records in them. */
  arenaMB: number;
  arenaLiveMB: number;
  /** The arena's hash table and per-slot arrays. */
  arenaIndexMB: number;
  rssAfterTrimMB?: number;
  writesPerSecond?: number;
}

function settle(): Deno.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return Deno.memoryUsage();
}

/**
 * RSS after glibc's malloc_trim(0) (Linux, glibc): how much of the RSS is memory the process freed
 * but malloc kept (not live data). A measurement only: the server does not call it.
 */
function rssAfterTrim(): number {
  const libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
  try {
    libc.symbols.malloc_trim(0n);
  } finally {
    libc.close();
  }
  return Deno.memoryUsage().rss;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      keys: { type: "string", default: "200000" },
      "value-bytes": { type: "string", default: "500" },
      writes: { type: "string", default: "60000" },
      trim: { type: "boolean", default: false },
    },
  });
  const keys = Number(values.keys),
    valueBytes = Number(values["value-bytes"]),
    writes = Number(values.writes);
  if (![keys, valueBytes, writes].every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new Error("--keys, --value-bytes and --writes must be positive integers");
  }
  if (!(globalThis as { gc?: unknown }).gc) {
    console.error("note: run with --v8-flags=--expose-gc for memory after a full GC");
  }
  const dataDir = await Deno.makeTempDir({ prefix: "raftkv-node-memory-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const node = await RaftKvNode.start({
    nodeId: 1,
    clusterId: "node-memory",
    peerToken: "node-memory",
    dataDir,
    bootstrap: true,
    self: { peer: `127.0.0.1:${port}`, client: "http://127.0.0.1:1" },
    listenPeer: { hostname: "127.0.0.1", port },
    safetyMode: "safe",
  });
  const phases: Phase[] = [];
  const record = (phase: string, writesPerSecond?: number) => {
    const m = settle();
    const entries: Entry[] = node.logEntries();
    const buffers = new Set<ArrayBufferLike>();
    let data = 0;
    for (const e of entries) {
      if (!e.data) continue;
      data += e.data.length;
      buffers.add(e.data.buffer);
    }
    let held = 0;
    for (const b of buffers) held += b.byteLength;
    const arena = node.arenaStats();
    const p: Phase = {
      phase,
      rssMB: m.rss / MB,
      heapUsedMB: m.heapUsed / MB,
      heapTotalMB: m.heapTotal / MB,
      externalMB: m.external / MB,
      logEntries: entries.length,
      logDataMB: data / MB,
      logBuffersMB: held / MB,
      imageHeldBytes: node.snapshotImageBytesHeld,
      arenaMB: arena.allocatedBytes / MB,
      arenaLiveMB: arena.liveBytes / MB,
      arenaIndexMB: arena.indexBytes / MB,
      ...(values.trim ? { rssAfterTrimMB: rssAfterTrim() / MB } : {}),
      ...(writesPerSecond ? { writesPerSecond } : {}),
    };
    phases.push(p);
    console.log(
      `${phase.padEnd(14)} RSS ${p.rssMB.toFixed(0)} MB, heap ${p.heapUsedMB.toFixed(0)}/${
        p.heapTotalMB.toFixed(0)
      } MB, external ${p.externalMB.toFixed(0)} MB; log ${p.logEntries} entries, ${
        p.logDataMB.toFixed(1)
      } MB of data in ${p.logBuffersMB.toFixed(1)} MB of buffers; image held ${p.imageHeldBytes} B; arena ${
        p.arenaMB.toFixed(0)
      } MB (${p.arenaLiveMB.toFixed(0)} live) + index ${p.arenaIndexMB.toFixed(0)} MB` +
        (p.rssAfterTrimMB ? `; RSS after malloc_trim ${p.rssAfterTrimMB.toFixed(0)} MB` : "") +
        (writesPerSecond ? `; ${writesPerSecond.toFixed(0)} writes/s` : ""),
    );
  };
  try {
    while (!node.isLeader) await new Promise((r) => setTimeout(r, 20));
    record("started");
    const value = (i: number) => `${i}:`.padEnd(valueBytes, "v");
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < keys) {
        const from = next;
        next = Math.min(keys, next + 500);
        const batch = { op: "putMany" as const, keys: [] as string[], values: [] as string[] };
        for (let i = from; i < next; i++) {
          batch.keys.push(`key-${i}`);
          batch.values.push(value(i));
        }
        await node.write(batch);
      }
    }));
    record("loaded");
    let n = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (n < writes) {
        await node.write({ op: "put", key: `key-${Math.floor(Math.random() * keys)}`, value: value(n++) });
      }
    }));
    record(`after ${writes} writes`, writes / ((performance.now() - t0) / 1000));
  } finally {
    await node.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
  await writeResults("node-memory", { keys, valueBytes, writes, loadAverage: Deno.loadavg(), phases });
}

if (import.meta.main) await run(Deno.args);
