import assert from "node:assert/strict";
import type { LatencyFloor } from "../lib/latency_floor.ts";
import type { StageSummary } from "./stage_breakdown.ts";
import { floorGapTable, writeFloorGap } from "./write_floor_gap.ts";

const part = (p50Us: number) => ({ count: 100, p50Us, p99Us: p50Us * 2 });
const floor: LatencyFloor = {
  httpRoundTrip: part(180),
  peerRoundTrip: part(130),
  fdatasyncAlone: part(150),
  fdatasyncThreeAtOnce: part(270),
  writeFloorP50Ms: 0.58,
  secondsPerPart: 2,
};
const stage = (p50Ms: number): StageSummary => ({
  count: 10,
  meanMs: p50Ms,
  p50Ms,
  p99Ms: p50Ms,
  p999Ms: p50Ms,
});

Deno.test("a lone write part by part: HTTP, peer hops, the follower, the leader's own work, the whole", () => {
  const rows = writeFloorGap(floor, 1.1, {
    write_total: stage(0.9),
    first_follower_ack: stage(0.75),
    follower_append_to_ack: stage(0.45),
  })!;
  assert.deepEqual(rows.map((r) => [r.floorMs, r.measuredMs, r.aboveFloorMs]), [
    [0.18, 0.2, 0.02], // client 1.1 - write_total 0.9
    [0.13, 0.3, 0.17], // first ack 0.75 - follower 0.45
    [0.27, 0.45, 0.18],
    [0, 0.15, 0.15], // write_total 0.9 - first ack 0.75
    [0.58, 1.1, 0.52],
  ]);
  assert.match(floorGapTable(rows), /\| the write, at the client \| 0\.580 \| 1\.100 \| 0\.520 \|/);
});

Deno.test("without the follower's stage (no follower answered) there is no breakdown", () => {
  assert.equal(
    writeFloorGap(floor, 1.1, { write_total: stage(0.9), first_follower_ack: stage(0.75) }),
    undefined,
  );
  assert.equal(writeFloorGap(floor, 1.1, undefined), undefined);
});
