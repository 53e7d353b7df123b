import assert from "node:assert/strict";
import { observationFrom } from "../../reconfig/observe.ts";
import { planNextStep } from "../../reconfig/planner.ts";
import { statusesBySlot } from "./cluster_view.ts";
import { hasInitializedMember, rebuildPlannerState } from "./status_recovery.ts";
import type { NodeReport } from "./cluster_view.ts";
import { report, view } from "./view_fixtures.ts";

type Conf = { voters: number[]; votersOutgoing?: number[]; learners?: number[]; index: number };
const leading = (slot: number, id: number, conf: Conf): NodeReport => ({
  ...report(slot, id, "leader", 5),
  conf: { votersOutgoing: [], learners: [], joint: (conf.votersOutgoing ?? []).length > 0, ...conf },
  lastIndex: 40,
  progress: {},
});

function rebuild(nodes: Record<number, NodeReport | undefined>, floor = 0) {
  const v = view(nodes);
  return rebuildPlannerState(v, observationFrom(statusesBySlot(v)), floor);
}

Deno.test("a lost status is rebuilt from the leader's configuration, never bootstrapped again", () => {
  const nodes = { 0: leading(0, 4, { voters: [4, 5, 6], index: 17 }), 1: report(1, 5), 2: report(2, 6) };
  assert.equal(hasInitializedMember(view(nodes)), true);
  const out = rebuild(nodes);
  assert.ok("status" in out);
  assert.equal(out.status.phase, "Idle");
  assert.deepEqual(out.status.members, [{ slot: 0, id: 4 }, { slot: 1, id: 5 }, { slot: 2, id: 6 }]);
  assert.equal(out.status.nextNodeId, 7);
  assert.equal(out.status.confIndex, 17);
  // What the planner then does: nothing (not a bootstrap of slot 0).
  const decision = planNextStep({
    desiredReplicas: 3,
    mode: "safe",
    status: out.status,
    observed: observationFrom(statusesBySlot(view(nodes))),
  });
  assert.equal(decision.action.kind, "none");
});

Deno.test("ids handed out before the loss stay used: the StatefulSet's next-id annotation is a floor", () => {
  const out = rebuild({ 0: leading(0, 1, { voters: [1], index: 3 }) }, 9);
  assert.ok("status" in out);
  assert.equal(out.status.nextNodeId, 9);
});

Deno.test("no leader, or a voter with no pod: wait, rebuild nothing", () => {
  const noLeader = rebuild({ 0: report(0, 1), 1: report(1, 2) });
  assert.ok("waiting" in noLeader && /no leader answers/.test(noLeader.waiting));
  const missing = rebuild({
    0: leading(0, 1, { voters: [1, 2, 3], index: 5 }),
    1: report(1, 2),
    2: undefined,
  });
  assert.ok(
    "waiting" in missing && /node\(s\) 3 of the configuration answer from no pod/.test(missing.waiting),
  );
});

Deno.test("a joint configuration resumes at CommitNew; learners resume catching up; leftovers are removed", () => {
  const joint = rebuild({
    0: leading(0, 1, { voters: [1, 2, 4], votersOutgoing: [1, 2, 3], index: 20 }),
    1: report(1, 2),
    2: report(2, 3),
    3: report(3, 4),
  });
  assert.ok("status" in joint);
  assert.equal(joint.status.phase, "CommitNew");
  assert.deepEqual(joint.status.adding, [{ slot: 3, id: 4 }]);
  assert.deepEqual(joint.status.removing, [{ slot: 2, id: 3 }]);
  assert.deepEqual(joint.status.targetVoters, [1, 2, 4]);

  const learning = rebuild({
    0: leading(0, 1, { voters: [1, 2, 3], learners: [4], index: 12 }),
    1: report(1, 2),
    2: report(2, 3),
    3: report(3, 4),
  });
  assert.ok("status" in learning);
  assert.equal(learning.status.phase, "CatchUp");
  assert.deepEqual(learning.status.adding, [{ slot: 3, id: 4 }]);

  const leftover = rebuild({
    0: leading(0, 1, { voters: [1, 2, 3], index: 12 }),
    1: report(1, 2),
    2: report(2, 3),
    3: report(3, 4),
    4: report(4, 5),
  });
  assert.ok("status" in leftover);
  assert.equal(leftover.status.phase, "RemoveMembers");
  assert.deepEqual(leftover.status.removing, [{ slot: 3, id: 4 }, { slot: 4, id: 5 }]);
  assert.equal(leftover.status.nextNodeId, 6);
});
