/**
 * A lone client's write, part by part, against the floor measured in the same run
 * (experiments/lib/latency_floor.ts): how much of each part the machine imposes and how much is
 * ours. The parts are p50s taken from the client and from the members' stage histograms
 * (src/kv/write_stages.ts), so they add up only roughly:
 *
 *   HTTP            client p50 - write_total p50 (the request and response hops, both HTTP stacks)
 *   peer hops       first_follower_ack - follower_append_to_ack (leader -> follower -> leader)
 *   follower fsync  follower_append_to_ack (receive, step, WAL write + fdatasync, send the ack)
 *   leader work     write_total - first_follower_ack (parse, propose, commit, apply, answer)
 */
import type { LatencyFloor } from "../lib/latency_floor.ts";
import { markdownTable } from "../lib/results.ts";
import type { StageSummary } from "./stage_breakdown.ts";

export interface FloorGapRow {
  part: string;
  floorMs: number;
  measuredMs: number;
  aboveFloorMs: number;
}

const round3 = (ms: number) => +ms.toFixed(3);

/** Undefined when a stage the parts need is missing from the row. */
export function writeFloorGap(
  floor: LatencyFloor,
  clientP50Ms: number,
  stages: Record<string, StageSummary> | undefined,
): FloorGapRow[] | undefined {
  const total = stages?.write_total?.p50Ms;
  const firstAck = stages?.first_follower_ack?.p50Ms;
  const follower = stages?.follower_append_to_ack?.p50Ms;
  if (total === undefined || firstAck === undefined || follower === undefined) return undefined;
  const parts: Array<[string, number, number]> = [
    ["HTTP request and response", floor.httpRoundTrip.p50Us / 1000, clientP50Ms - total],
    ["leader -> follower -> leader", floor.peerRoundTrip.p50Us / 1000, firstAck - follower],
    ["follower: append to acknowledgement", floor.fdatasyncThreeAtOnce.p50Us / 1000, follower],
    ["leader: parse, propose, commit, apply, answer", 0, total - firstAck],
    ["the write, at the client", floor.writeFloorP50Ms, clientP50Ms],
  ];
  return parts.map(([part, floorMs, measuredMs]) => ({
    part,
    floorMs: round3(floorMs),
    measuredMs: round3(measuredMs),
    aboveFloorMs: round3(measuredMs - floorMs),
  }));
}

export function floorGapTable(rows: FloorGapRow[]): string {
  return markdownTable(
    ["part (p50)", "floor ms", "raft-kv ms", "above the floor ms"],
    rows.map((r) => [r.part, r.floorMs.toFixed(3), r.measuredMs.toFixed(3), r.aboveFloorMs.toFixed(3)]),
  );
}

/** Console lines under a 1-client write row. */
export function formatFloorGap(rows: FloorGapRow[]): string[] {
  return rows.map((r) =>
    `         ${r.part.padEnd(46)} ${r.measuredMs.toFixed(3).padStart(7)} ms, floor ${
      r.floorMs.toFixed(3).padStart(6)
    }, above ${r.aboveFloorMs.toFixed(3).padStart(6)}`
  );
}
