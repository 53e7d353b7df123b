/**
 * `deno task bench snapshot-stall [--keys N] [--value-bytes B]`: how long taking a snapshot of a large
 * KV state blocks the event loop. Builds a KvStateMachine of N keys (default 200,000) of B-byte
 * values (default 500), then measures, each with the longest event-loop block seen meanwhile
 * (a 1 ms timer) and the process CPU time it cost:
 *   encode        the stop-the-world path: KvStateMachine.encode(), one synchronous call (what
 *                 the driver did before issue 17)
 *   save          RaftStorage.saveSnapshot of that image (file encode, CRC, write, fsync)
 *   decode        KvStateMachine.decode of the image in one call (restart)
 *   sliced decode what a follower installing a leader snapshot does now (decodeInSlices)
 *   sliced        encodeInSlices + saveSnapshot (a node whose store keeps images in memory)
 *   streamed      what a node with a file store does: encodeToWriter straight into the file
 * Prints a table and the load average (CPU time is the number to trust on a loaded machine),
 * writes bench-results/snapshot-stall.json.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { KvStateMachine } from "../../src/kv/state_machine.ts";
import { decodeInSlices, encodeInSlices, encodeToWriter } from "../../src/kv/snapshot_slices.ts";
import { RaftStorage } from "../../src/storage/raft_storage.ts";
import { EventLoopStallMonitor } from "../../src/server/event_loop_stalls.ts";
import { writeResults } from "../lib/results.ts";
import type { Snapshot } from "../../src/raft/mod.ts";

interface Stage {
  stage: string;
  wallMs: number;
  cpuMs: number;
  longestBlockMs: number;
  bytes?: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function measure(
  stage: string,
  fn: () => Promise<number | undefined> | number | undefined,
): Promise<Stage> {
  const monitor = new EventLoopStallMonitor(1, 0).start();
  // Let the monitor's first tick land before the work starts.
  await new Promise((r) => setTimeout(r, 5));
  monitor.takeRecentMax();
  const c0 = cpuMs(), t0 = performance.now();
  const bytes = await fn();
  const wallMs = performance.now() - t0, cpu = cpuMs() - c0;
  await new Promise((r) => setTimeout(r, 5));
  monitor.stop();
  return { stage, wallMs, cpuMs: cpu, longestBlockMs: monitor.read().maxSeconds * 1000, bytes };
}

export async function run(args: string[]): Promise<void> {
  const { values: flags } = parseArgs({
    args,
    options: { keys: { type: "string" }, "value-bytes": { type: "string" } },
  });
  const keys = Number(flags.keys ?? 200_000), valueBytes = Number(flags["value-bytes"] ?? 500);
  if (!Number.isSafeInteger(keys) || keys < 1 || !Number.isSafeInteger(valueBytes) || valueBytes < 1) {
    console.error("--keys and --value-bytes must be positive integers");
    Deno.exit(2);
  }
  const load = Deno.loadavg();
  const sm = new KvStateMachine();
  const filler = "x".repeat(valueBytes);
  for (let i = 0; i < keys; i++) {
    const k = `key-${String(i).padStart(8, "0")}`;
    // Distinct strings (a shared one would hide the real copying cost).
    sm.data.set(k, (k + filler).slice(0, valueBytes));
  }
  console.log(
    `state: ${keys} keys x ${valueBytes} B; load average ${load.map((l) => l.toFixed(1)).join(" ")}`,
  );
  const dir = await Deno.makeTempDir({ prefix: "snapshot-stall-" });
  const stages: Stage[] = [];
  try {
    const { storage } = await RaftStorage.open(dir, { log: () => {}, coalesce: false });
    const conf = { voters: [1], votersOutgoing: [], learners: [], learnersNext: [] };
    // What a 1 ms timer sees with no work at all: the scheduling noise of this (loaded) machine.
    stages.push(
      await measure("idle 3 s (noise floor)", () => new Promise((r) => setTimeout(() => r(undefined), 3000))),
    );
    let image: Uint8Array = new Uint8Array();
    stages.push(await measure("encode (sync, old path)", () => (image = sm.encode()).length));
    stages.push(
      await measure("save (RaftStorage.saveSnapshot)", async () => {
        await storage.saveSnapshot({ meta: { index: 10, term: 1, conf }, data: image });
        return image.length;
      }),
    );
    stages.push(await measure("decode (sync)", () => KvStateMachine.decode(image).data.size));
    stages.push(
      await measure(
        "sliced decode (new install path)",
        () =>
          new Promise<number>((resolve, reject) =>
            decodeInSlices(
              image,
              (fn) => setTimeout(fn, 0),
              (error, back) => error ? reject(error) : resolve(back!.data.size),
            )
          ),
      ),
    );
    stages.push(
      await measure("sliced encode + save (new path)", async () => {
        const snap = await new Promise<Snapshot>((resolve, reject) =>
          encodeInSlices(
            sm,
            (fn) => setTimeout(fn, 0),
            (error, data) =>
              error ? reject(error) : resolve({ meta: { index: 20, term: 1, conf }, data: data! }),
          )
        );
        await storage.saveSnapshot(snap);
        return snap.data.length;
      }),
    );
    stages.push(
      await measure("streamed encode to file (node path)", async () => {
        // What a node with a file store does (node_driver.ts maybeSnapshot): encodeToWriter into
        // RaftStorage.beginSnapshotFile, one piece written before the next is encoded.
        let bytes = 0;
        await new Promise<void>((resolve, reject) =>
          encodeToWriter(sm, (opened) => {
            storage.beginSnapshotFile({ index: 30, term: 1, conf }).then((file) =>
              opened(undefined, {
                write: (piece, done) => file.write(piece).then(() => done(), (e) => done(e as Error)),
                finish: (done) => file.finish().then((n) => done(undefined, n), (e) => done(e as Error)),
                abort: () => void file.abort(),
              }), (e) => opened(e as Error));
          }, (error, writer) =>
            error ? reject(error) : writer!.finish((e, n) => {
              bytes = n ?? 0;
              return e ? reject(e) : resolve();
            }))
        );
        return bytes;
      }),
    );
    await storage.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log("stage                               wall ms    CPU ms  longest block ms      bytes");
  for (const s of stages) {
    console.log(
      `${s.stage.padEnd(34)} ${s.wallMs.toFixed(0).padStart(8)} ${s.cpuMs.toFixed(0).padStart(9)} ${
        s.longestBlockMs.toFixed(0).padStart(17)
      } ${String(s.bytes ?? "").padStart(10)}`,
    );
  }
  await writeResults("snapshot-stall", { keys, valueBytes, loadAverage: load, stages });
}

if (import.meta.main) await run(Deno.args);
