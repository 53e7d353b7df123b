import assert from "node:assert/strict";
import { observationFrom } from "../../reconfig/observe.ts";
import { planNextStep } from "../../reconfig/planner.ts";
import { initialStatus, type ReconfigStatus } from "../../reconfig/types.ts";
import { type NodeReport, statusesBySlot } from "./cluster_view.ts";
import { withoutEmptiedHoles } from "./replacement_view.ts";
import { report, view } from "./view_fixtures.ts";

const conf = { voters: [1, 3], votersOutgoing: [], learners: [], joint: false, index: 30 };
const leader: NodeReport = {
  ...report(0, 1, "leader", 4),
  conf,
  lastIndex: 90,
  progress: { "1": { match: 90, recentActive: true }, "3": { match: 90, recentActive: true } },
};
const removing: ReconfigStatus = {
  ...initialStatus(),
  phase: "RemoveMembers",
  members: [{ slot: 0, id: 1 }, { slot: 2, id: 3 }],
  removing: [{ slot: 1, id: 2 }],
  targetVoters: [1, 3],
  nextNodeId: 4,
  confIndex: 30,
  replacing: [{ slot: 1, lostId: 2 }],
};

Deno.test("a replaced member's slot below staying members counts as stopped once its pod runs empty; the slot is refilled under a new id", () => {
  const v = view({ 0: leader, 1: report(1), 2: { ...report(2, 3), conf } }, { replicas: 3 });
  const observed = withoutEmptiedHoles(removing, v, observationFrom(statusesBySlot(v)));
  assert.equal(observed.nodes["1"], undefined);
  const done = planNextStep({ desiredReplicas: 2, mode: "safe", status: removing, observed });
  assert.equal(done.status.phase, "Idle");
  assert.deepEqual(done.status.removing, []);
  const grow = planNextStep({
    desiredReplicas: 3,
    mode: "safe",
    status: done.status,
    observed: observationFrom(statusesBySlot(v)),
  });
  assert.deepEqual(grow.status.adding, [{ slot: 1, id: 4 }], "slot 1 again, under a new id");
  assert.equal(grow.action.kind, "startMembers");
});

Deno.test("a replaced slot whose pod still holds the old member is not hidden", () => {
  const v = view({ 0: leader, 1: report(1, 2), 2: report(2, 3) }, { replicas: 3 });
  const observed = withoutEmptiedHoles(removing, v, observationFrom(statusesBySlot(v)));
  assert.ok(observed.nodes["1"]);
  const untouched = withoutEmptiedHoles(
    { ...removing, phase: "Idle" },
    v,
    observationFrom(statusesBySlot(v)),
  );
  assert.ok(untouched.nodes["1"]);
});
