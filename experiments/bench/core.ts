/**
 * deno task bench core [--seconds S]
 *
 * The Raft core alone: 3 in-memory RaftNodes in one process, messages handed over directly, no
 * I/O, no encoding. Reports committed entries per second for several proposal batch sizes
 * (100-byte commands), and the deterministic simulator's steps per second. Writes
 * bench-results/core.json and bench-results/core.svg.
 */
import { parseFlags, positiveNumber } from "../../src/cli/args.ts";
import { bootstrapSnapshot, type Message, RaftNode } from "../../src/raft/mod.ts";
import { randomRun } from "../../src/sim/random_run.ts";
import { barChart } from "../lib/charts.ts";
import { writeResults } from "../lib/results.ts";

interface CoreResult {
  batch: number;
  committedPerSec: number;
  messagesPerSec: number;
  seconds: number;
}

function makeCluster(): RaftNode[] {
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const snapshot = bootstrapSnapshot([1, 2, 3]);
  return [1, 2, 3].map((id) =>
    new RaftNode(
      { id, random, electionTick: 1_000_000, heartbeatTick: 1, maxInflight: 4096 },
      { hardState: { term: 1, vote: 0, commit: 1 }, snapshot, entries: [] },
    )
  );
}

/** Drains every node's Ready and delivers the resulting messages until nothing moves. */
function pump(nodes: RaftNode[], queue: Message[]): number {
  let delivered = 0;
  for (;;) {
    let progressed = false;
    for (const n of nodes) {
      while (n.hasReady()) {
        const rd = n.ready();
        for (const m of rd.messages) queue.push(m);
        n.advance(rd);
        progressed = true;
      }
    }
    if (queue.length === 0 && !progressed) return delivered;
    const batch = queue.splice(0, queue.length);
    for (const m of batch) nodes[m.to - 1].step(m);
    delivered += batch.length;
  }
}

function runCore(batch: number, seconds: number): CoreResult {
  const nodes = makeCluster();
  const queue: Message[] = [];
  nodes[0].campaign();
  pump(nodes, queue);
  if (nodes[0].role !== "leader") throw new Error("node 1 did not become leader");
  const payload = new Uint8Array(100).fill(7);
  const commands = Array.from({ length: batch }, () => payload);
  const start = nodes[0].commitIndex;
  let messages = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let rounds = 0;
  while ((rounds & 15) !== 0 || performance.now() < deadline) {
    // Keep a few batches in flight, as a busy leader would.
    for (let i = 0; i < 4; i++) nodes[0].propose(commands);
    messages += pump(nodes, queue);
    rounds++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  return {
    batch,
    committedPerSec: Math.round((nodes[0].commitIndex - start) / elapsed),
    messagesPerSec: Math.round(messages / elapsed),
    seconds: elapsed,
  };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseFlags(args, { seconds: { type: "string", default: "3" } });
  const seconds = positiveNumber("seconds", values.seconds!);

  console.log("core: 3 in-memory nodes, 100-byte commands, 4 batches in flight");
  const results: CoreResult[] = [];
  for (const batch of [1, 8, 64, 256]) {
    const r = runCore(batch, seconds);
    results.push(r);
    console.log(
      `  batch ${String(batch).padStart(3)}: ${
        r.committedPerSec.toLocaleString("en-US").padStart(10)
      } committed entries/s, ` +
        `${r.messagesPerSec.toLocaleString("en-US")} messages/s`,
    );
  }

  console.log("simulator: random safe-mode runs (faults, membership changes, invariant checks)");
  const t0 = performance.now();
  let steps = 0, seeds = 0;
  while (performance.now() - t0 < seconds * 1000) steps += randomRun({ seed: ++seeds, mode: "safe" }).steps;
  const simSeconds = (performance.now() - t0) / 1000;
  const simulator = {
    seeds,
    steps,
    stepsPerSec: Math.round(steps / simSeconds),
    msPerSeed: (simSeconds * 1000) / seeds,
  };
  console.log(
    `  ${simulator.stepsPerSec.toLocaleString("en-US")} steps/s (${seeds} seeds, ${
      simulator.msPerSeed.toFixed(1)
    } ms per seed)`,
  );

  const best = Math.max(...results.map((r) => r.committedPerSec));
  console.log(`best: ${best.toLocaleString("en-US")} committed entries/s (target > 200,000)`);
  await writeResults(
    "core",
    { core: results, simulator },
    await barChart({
      title: "Raft core, 3 in-memory nodes: committed entries per second",
      subtitle: "no I/O: the protocol state machine alone, by proposals per batch",
      yLabel: "committed entries/s",
      bars: results.map((r) => ({ group: `batch ${r.batch}`, system: "raft-kv", value: r.committedPerSec })),
    }),
  );
}
