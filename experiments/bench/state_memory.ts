/**
 * `deno task bench state-memory [--sizes 10000,100000,1000000] [--value-bytes 500]`: where a
 * member's memory goes per byte of live data, in one process, without a cluster. For each size it
 * builds the state the way a node does (each value decoded from a msgpack command, as applying an
 * entry does), then adds what a node holds beside the map, and reports RSS and V8 heap after a
 * full GC at each step:
 *   map            the KvStateMachine's data (keys and values in the value arena's slabs, outside the
 *                  V8 heap, so they show as external memory: src/kv/value_arena.ts)
 *   + log          one log entry per key held as encoded command bytes (the Raft log between
 *                  snapshots holds every recent value a second time)
 *   + image        a snapshot image, kept as the Raft core keeps its latest snapshot (to send)
 * Live data is counted as key bytes + value bytes. Writes bench-results/state-memory.json.
 * Run with --v8-flags=--expose-gc for exact heap numbers (deno task bench passes it).
 */
import { parseArgs } from "node:util";
import { KvStateMachine } from "../../src/kv/state_machine.ts";
import { kvPackr } from "../../src/kv/codec.ts";
import { writeResults } from "../lib/results.ts";

interface Step {
  step: string;
  rssMB: number;
  heapMB: number;
  externalMB: number;
  rssPerLiveByte: number;
}

const MB = 1024 * 1024;

function settle(): Deno.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return Deno.memoryUsage();
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { sizes: { type: "string" }, "value-bytes": { type: "string" } },
  });
  const sizes = (values.sizes ?? "10000,100000,1000000").split(",").map(Number);
  const valueBytes = Number(values["value-bytes"] ?? 500);
  if (
    sizes.some((n) => !Number.isSafeInteger(n) || n < 1) || !Number.isSafeInteger(valueBytes) ||
    valueBytes < 1
  ) {
    console.error("--sizes must be positive integers separated by commas, --value-bytes a positive integer");
    Deno.exit(2);
  }
  if (!(globalThis as { gc?: unknown }).gc) {
    console.error("note: run with --v8-flags=--expose-gc for exact heap numbers");
  }
  const results: Array<{ keys: number; liveBytes: number; steps: Step[] }> = [];
  for (const keys of sizes) {
    const base = settle();
    const steps: Step[] = [];
    let liveBytes = 0;
    const record = (step: string) => {
      const m = settle();
      const rss = m.rss - base.rss;
      steps.push({
        step,
        rssMB: rss / MB,
        heapMB: (m.heapUsed - base.heapUsed) / MB,
        externalMB: (m.external - base.external) / MB,
        rssPerLiveByte: rss / liveBytes,
      });
    };
    let sm: KvStateMachine | undefined = new KvStateMachine();
    let log: Uint8Array[] | undefined = [];
    const filler = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(Math.ceil(valueBytes / 36) + 1);
    for (let i = 0; i < keys; i++) {
      const key = `key-${String(i).padStart(8, "0")}`;
      const command = kvPackr.pack({ op: "put", key, value: filler.slice(i % 36, i % 36 + valueBytes) });
      log.push(new Uint8Array(command));
      const decoded = kvPackr.unpack(command) as { key: string; value: string };
      sm.data.set(decoded.key, decoded.value);
      liveBytes += key.length + valueBytes;
    }
    // (An earlier version kept a second reference to the log here, so "map" counted it too.)
    record("map + log");
    let image: Uint8Array | undefined = sm.encode();
    record("map + log + image");
    const imageBytes = image.length;
    log = undefined;
    record("map + image");
    image = undefined;
    record("map");
    sm = undefined;
    results.push({ keys, liveBytes, steps });
    console.log(
      `${keys} keys x ${valueBytes} B (${(liveBytes / MB).toFixed(1)} MB live, image ${
        (imageBytes / MB).toFixed(1)
      } MB):`,
    );
    for (const s of steps) {
      console.log(
        `  ${s.step.padEnd(20)} RSS +${s.rssMB.toFixed(0).padStart(5)} MB  heap +${
          s.heapMB.toFixed(0).padStart(5)
        } MB  ` +
          `external +${s.externalMB.toFixed(0).padStart(5)} MB  RSS per live byte ${
            s.rssPerLiveByte.toFixed(2)
          }`,
      );
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  await writeResults("state-memory", { valueBytes, loadAverage: Deno.loadavg(), results });
}

if (import.meta.main) await run(Deno.args);
