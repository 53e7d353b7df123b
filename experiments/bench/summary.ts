/**
 * deno task bench summary: prints the README's performance tables from the result files in
 * bench-results/ (the numbers of the last real runs, never typed in by hand). Paste its output
 * into the README after a new run.
 */
import { markdownTable, resultsDir } from "../lib/results.ts";
import { KIND_LABEL, steadyClosedTable, type SteadySummaryRow } from "./steady_table.ts";
import { median, type OpKind } from "../lib/load.ts";
import { floorParts, type LatencyFloor } from "../lib/latency_floor.ts";
import { type FloorGapRow, floorGapTable } from "./write_floor_gap.ts";

async function read(name: string) {
  try {
    return JSON.parse(await Deno.readTextFile(`${resultsDir()}${name}.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

const load = (m: { loadAverage?: number[] }) => m.loadAverage?.[0]?.toFixed(1) ?? "?";
const day = (m: { date: string }) => m.date.slice(0, 16).replace("T", " ") + " UTC";
/** The range of the 1-minute load average recorded with each row. */
function rowLoads(rows: Array<{ loadAverage1m?: number }>): string {
  const loads = rows.map((r) => r.loadAverage1m).filter((l): l is number => l !== undefined);
  return loads.length ? `${Math.min(...loads).toFixed(0)}-${Math.max(...loads).toFixed(0)}` : "?";
}
const kindLabel = (k: string) => KIND_LABEL[k as OpKind] ?? k;

export function run(_args: string[]): Promise<void> {
  return summary();
}

async function summary(): Promise<void> {
  const out: string[] = [];
  const steady = await read("throughput-vs-qps");
  if (steady) {
    const s = steady.setup;
    out.push(
      `**Steady load** (\`deno task bench steady --compare etcd\`, ${day(steady.machine)}, load average ${
        rowLoads(steady.closedLoop)
      } on ${steady.machine.cpus} CPUs while the rows ran): 3 members on loopback each, fsync on, ${s.valueBytes}-byte values, ` +
        `${s.rounds} rounds of ${s.secondsPerRow} s per row, raft-kv and etcd ${
          typeof s.etcd === "object" ? s.etcd.version : ""
        } alternating. One number per round; ratio = median raft-kv / median etcd of this run.`,
      "",
      steadyClosedTable(steady.summary as SteadySummaryRow[]),
      "",
      `Open loop (fixed offered rates, latency from each request's due time): served in full up to ${
        steady.knees.map((k: { system: string; kind: string; kneeOpsPerSec?: number }) =>
          `${k.kneeOpsPerSec ?? "-"}/s (${k.system} ${kindLabel(k.kind)})`
        ).join(", ")
      }; percentiles per rate in \`bench-results/latency-percentiles.md\`.`,
      "",
    );
  }
  const latency = await read("latency-percentiles");
  const floor = typeof latency?.latencyFloor === "object" ? latency.latencyFloor as LatencyFloor : undefined;
  const lone: FloorGapRow[][] = (latency?.closedLoop ?? []).flatMap((r: { floorGap?: FloorGapRow[] }) =>
    r.floorGap ? [r.floorGap] : []
  );
  if (floor && lone.length) {
    out.push(
      `**A lone client's write against the floor** (same run): the floor is ${
        floorParts(floor)
      }. Each part ` +
        `of raft-kv's 1-client write is the median over the rounds of its p50 (the parts are p50s, so they add ` +
        `up only roughly).`,
      "",
      floorGapTable(lone[0].map((row, i) => {
        const measuredMs = +median(lone.map((rows) => rows[i].measuredMs)).toFixed(3);
        return { ...row, measuredMs, aboveFloorMs: +(measuredMs - row.floorMs).toFixed(3) };
      })),
      "",
    );
  }
  const failover = await read("failover-times");
  if (failover) {
    out.push(
      `**Failover** (\`deno task bench failover --compare etcd\`, ${day(failover.machine)}, load average ${
        load(failover.machine)
      }): the leader SIGKILLed ${failover.setup.kills} times per system, election timeout 500-1000 ms in both.`,
      "",
      markdownTable(
        ["system", "new leader p50 / p99 / max ms", "first acknowledged write p50 / p99 / max ms"],
        failover.summary.map((
          s: Record<string, { p50: number; p99: number; max: number }> & { system: string },
        ) => [
          s.system,
          `${s.newLeaderMs.p50} / ${s.newLeaderMs.p99} / ${s.newLeaderMs.max}`,
          `${s.firstWriteMs.p50} / ${s.firstWriteMs.p99} / ${s.firstWriteMs.max}`,
        ]),
      ),
      "",
      markdownTable(
        ["raft-kv, one follower lost under 4 writers", "whole again after", "writes/s before / during"],
        failover.wholeAgain.map((w: Record<string, never>) => [
          w.fault,
          w.wholeAfterMs !== undefined
            ? `${w.wholeAfterMs} ms`
            : `not within ${(w.timeoutMs as number) / 1000} s: ${w.notWholeBecause}`,
          `${w.writesPerSecBefore} / ${w.writesPerSecDuring}`,
        ]),
      ),
      "",
    );
  }
  const reconfig = await read("reconfig-durations");
  if (reconfig) {
    out.push(
      `**Reconfiguration** (\`deno task bench reconfig\`, ${day(reconfig.machine)}, load average ${
        load(reconfig.machine)
      }, ${reconfig.setup.writers} writers):`,
      "",
      markdownTable(
        ["change", "total ms", "steps (ms)", "writes/s before / during", "p99 ms before / during"],
        reconfig.changes.map((c: Record<string, never>) => [
          c.change,
          c.totalMs,
          (c.phases as Array<{ phase: string; durationMs: number }>).map((p) => `${p.phase} ${p.durationMs}`)
            .join(
              ", ",
            ),
          `${(c.before as { writesPerSec: number }).writesPerSec} / ${
            (c.during as { writesPerSec: number }).writesPerSec
          }`,
          `${(c.before as { p99Ms: number }).p99Ms} / ${(c.during as { p99Ms: number }).p99Ms}`,
        ]),
      ),
      "",
    );
  }
  const snapshot = await read("snapshot-metrics");
  if (snapshot) {
    out.push(
      `**Snapshots** (\`deno task bench snapshot\`, ${day(snapshot.machine)}, load average ${
        load(snapshot.machine)
      }):`,
      "",
      markdownTable(
        ["keys", "snapshot", "restart to serving", "new learner caught up (by snapshot)", "leader RSS"],
        snapshot.sizes.map((r: Record<string, never>) => [
          (r.keys as number).toLocaleString("en-US") +
          (r.loadStopped
            ? ` (of ${(r.targetKeys as number).toLocaleString("en-US")}: ${r.loadStopped})`
            : ""),
          `${((r.snapshotBytes as number) / 1e6).toFixed(1)} MB in ${r.snapshotMs} ms`,
          `${r.restartToServingMs} ms`,
          `${r.learnerCatchUpMs} ms (${r.learnerGotSnapshot ? "yes" : "no"})`,
          r.leaderRssMB ? `${r.leaderRssMB} MB` : "-",
        ]),
      ),
      "",
    );
  }
  if (!out.length) {
    console.error(`no results in ${resultsDir()}: run deno task bench all first`);
    Deno.exit(1);
  }
  console.log(out.join("\n"));
}
