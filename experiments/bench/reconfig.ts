/**
 * deno task bench reconfig [--quick] [--writers N]
 *
 * A 3-node raft-kv cluster under a steady write load (N closed-loop writers to the leader) is
 * scaled 3 -> 5 -> 3 through the planner (learners, catch-up, joint consensus), with leadership
 * first moved to a member that the scale-down removes, so the way down includes the leader
 * leaving. Every planner phase the supervisor passes through is timed (polled every 10 ms), and
 * the writes' throughput and p99 during each phase are set against the seconds before the change.
 * Writes bench-results/reconfig-durations.{json,md,svg}.
 */
import { parseArgs } from "node:util";
import { ExperimentCluster } from "../lib/cluster_harness.ts";
import { barChart } from "../lib/charts.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import { BackgroundWriter, type LoadTarget } from "../lib/load.ts";
import { wholeCluster } from "../lib/whole.ts";
import { AdminClient } from "../../src/client/mod.ts";
import { benchUsage, parsePositive } from "./args.ts";

const USAGE = "deno task bench reconfig [--quick] [--writers N]";

interface PhaseRow {
  change: string;
  phase: string;
  durationMs: number;
  writesPerSec: number;
  p99Ms: number;
  writes: number;
}

interface ChangeRow {
  change: string;
  totalMs: number;
  before: { writesPerSec: number; p99Ms: number };
  during: { writesPerSec: number; p99Ms: number };
  phases: PhaseRow[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scale(
  c: ExperimentCluster,
  writer: BackgroundWriter,
  to: number,
  change: string,
  baselineMs: number,
): Promise<ChangeRow> {
  const t0 = performance.now();
  const before = writer.window(t0 - baselineMs, t0);
  const spans: Array<{ phase: string; from: number; to: number }> = [];
  c.sup.setDesired(to);
  const deadline = t0 + 120_000;
  let phase = "";
  while (true) {
    const now = performance.now();
    const p = c.sup.state.reconfig.phase;
    if (p !== phase) {
      if (spans.length) spans[spans.length - 1].to = now;
      if (p !== "Idle") {
        spans.push({ phase: p, from: now, to: now });
        console.log(
          `  ${((now - t0) / 1000).toFixed(2).padStart(6)} s  ${p}: ${c.sup.state.reconfig.message}`,
        );
      }
      phase = p;
    }
    if (p === "Idle" && spans.length && c.sup.settled() && (await wholeCluster(c)).whole) break;
    if (now > deadline) throw new Error(`${change} did not finish in 120 s (phase ${p})`);
    await sleep(10);
  }
  const t1 = performance.now();
  console.log(`  ${((t1 - t0) / 1000).toFixed(2).padStart(6)} s  done: ${change}`);
  const during = writer.window(t0, t1);
  return {
    change,
    totalMs: Math.round(t1 - t0),
    before: { writesPerSec: before.opsPerSec, p99Ms: before.p99Ms },
    during: { writesPerSec: during.opsPerSec, p99Ms: during.p99Ms },
    phases: spans.map((s) => {
      const w = writer.window(s.from, s.to);
      return {
        change,
        phase: s.phase,
        durationMs: Math.round(s.to - s.from),
        writesPerSec: w.opsPerSec,
        p99Ms: w.p99Ms,
        writes: w.ops,
      };
    }),
  };
}

export async function run(args: string[]): Promise<void> {
  const { values } = benchUsage(USAGE, () =>
    parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        writers: { type: "string" },
        help: { type: "boolean", default: false },
      },
    }));
  const quick = values.quick!;
  const writers = parsePositive("--writers", values.writers ?? "8");
  const baselineMs = quick ? 1500 : 4000;
  console.log(
    `reconfig: 3-node raft-kv cluster, ${writers} writers, 3 -> 5 -> 3 (the leader leaves on the way down)`,
  );
  const c = await ExperimentCluster.start({ replicas: 3, mode: "safe", faultInjection: false });
  let target: LoadTarget = { system: "raft-kv", leaderUrl: await c.leaderUrl(), readUrls: c.endpoints() };
  const refresh = setInterval(() => {
    c.leaderUrl().then((leaderUrl) => target = { ...target, leaderUrl }, () => {});
  }, 100);
  const writer = new BackgroundWriter(() => target, writers);
  const changes: ChangeRow[] = [];
  try {
    writer.start();
    await sleep(baselineMs);
    changes.push(await scale(c, writer, 5, "3 -> 5", baselineMs));
    await sleep(baselineMs);
    // Leadership onto the highest slot, which a shrink removes: the planner must move it off first.
    const leaving = [...c.nodes].sort((a, b) => b.slot - a.slot)[0];
    await using admin = new AdminClient({ endpoints: c.endpoints(), token: c.sup.state.adminToken });
    await admin.transferLeader(leaving.id);
    await c.waitFor(`node ${leaving.id} to lead`, async () => (await c.leader()) === leaving.id, 10_000);
    target = { ...target, leaderUrl: leaving.clientUrl };
    console.log(
      `  leadership moved to node ${leaving.id} (slot ${leaving.slot}), which the scale-down removes`,
    );
    await sleep(baselineMs);
    changes.push(await scale(c, writer, 3, "5 -> 3, leader leaving", baselineMs));
  } finally {
    clearInterval(refresh);
    await writer.stop();
    await c.stop();
  }

  const setup = { writers, valueBytes: 100, baselineMs, pollMs: 10, fsync: true, quick };
  const phases = changes.flatMap((ch) => ch.phases);
  const table = markdownTable(
    ["change", "phase", "duration ms", "writes/s", "p99 ms"],
    changes.flatMap((ch) => [
      [ch.change, "(before)", "-", ch.before.writesPerSec, ch.before.p99Ms],
      ...ch.phases.map((p) => [ch.change, p.phase, p.durationMs, p.writesPerSec, p.p99Ms]),
      [ch.change, "**whole change**", ch.totalMs, ch.during.writesPerSec, ch.during.p99Ms],
    ]),
  );
  await writeResults("reconfig-durations", { setup, changes }, {
    charts: {
      "": await barChart({
        title: "Reconfiguration under writes: how long each planner step took",
        subtitle:
          `3 -> 5 -> 3 on a local cluster, ${writers} writers; phases as the supervisor recorded them`,
        yLabel: "milliseconds",
        logY: true,
        bars: phases.map((p) => ({
          group: `${p.change}: ${p.phase}`.replace("leader leaving", "ldr"),
          system: "raft-kv",
          value: p.durationMs,
        })),
        width: 900,
      }),
      throughput: await barChart({
        title: "Writes per second before and during each reconfiguration step",
        subtitle: `${writers} closed-loop writers to the leader; "before" is the ${
          baselineMs / 1000
        } s before the change`,
        yLabel: "acknowledged writes per second",
        bars: changes.flatMap((ch) => [
          { group: `${ch.change}: before`, system: "raft-kv", value: ch.before.writesPerSec },
          ...ch.phases.map((p) => ({
            group: `${ch.change}: ${p.phase}`,
            system: "raft-kv",
            value: p.writesPerSec,
          })),
        ]).map((b) => ({ ...b, group: b.group.replace("leader leaving", "ldr") })),
        width: 900,
      }),
    },
    summary: `## Steps of 3 -> 5 -> 3 under ${writers} writers\n\n${table}\n\n` +
      "Phases shorter than the 10 ms poll may not show. Settings: " + JSON.stringify(setup),
  });
}
