import assert from "node:assert/strict";
import {
  type Action,
  initialStatus,
  type LeaderObservation,
  type Member,
  type Observation,
  type Phase,
  type PlannerDecision,
} from "../../reconfig/types.ts";
import type { ClusterView } from "./cluster_view.ts";
import type { Pacing } from "./pacing.ts";
import { trackReconfig } from "./reconfig_history.ts";
import { invalidSpecStatus, statusPatch, summarizeStatus } from "./status_summary.ts";
import type { RaftClusterStatus } from "./types.ts";
import { ref, report, view } from "./view_fixtures.ts";

const m = (slot: number): Member => ({ slot, id: slot + 1 });
const now = new Date("2026-01-02T03:04:05.678Z");

function leaderOf(voters: number[], extra: Partial<LeaderObservation> = {}): Observation {
  return {
    nodes: {},
    leader: {
      id: 1,
      voters,
      votersOutgoing: [],
      learners: [],
      confIndex: 9,
      lastIndex: 20,
      match: {},
      active: {},
      ...extra,
    },
  };
}

function decision(
  phase: Phase,
  action: Action,
  members: Member[],
  more: Partial<PlannerDecision["status"]> = {},
): PlannerDecision {
  return {
    status: { ...initialStatus(), phase, members, confIndex: 9, message: `in ${phase}`, ...more },
    action,
    trail: [phase],
  };
}

function summarize(
  d: PlannerDecision,
  observed: Observation,
  v: ClusterView,
  previous: RaftClusterStatus = {},
  specReplicas = 3,
  pacing: Pacing = { desired: specReplicas },
) {
  const tracked = trackReconfig({
    before: previous.planner ?? d.status,
    history: previous.history ?? [],
    decision: d,
    now,
    ...(previous.reconfig ? { inFlight: previous.reconfig } : {}),
  });
  return summarizeStatus({
    ref,
    generation: 4,
    specReplicas,
    previous,
    decision: d,
    pacing,
    tracked,
    observed,
    view: v,
    now,
  });
}

const healthy3 = () => view({ 0: report(0, 1, "leader", 7), 1: report(1, 2), 2: report(2, 3) });
const condition = (s: RaftClusterStatus, type: string) => s.conditions!.find((c) => c.type === type)!;

Deno.test("a settled cluster is Running and Ready, with voters, term, configIndex, selector and ready pods", () => {
  const out = summarize(
    decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]),
    leaderOf([3, 1, 2]),
    healthy3(),
  );
  assert.equal(out.settled, true);
  const s = out.status;
  assert.equal(s.phase, "Running");
  assert.equal(s.step, "Idle");
  assert.equal(s.replicas, 3);
  assert.equal(s.readyReplicas, 3);
  assert.deepEqual(s.voters, [1, 2, 3]);
  assert.deepEqual(s.learners, []);
  assert.equal(s.term, 7);
  assert.equal(s.leader, "kv-0");
  assert.equal(s.configIndex, 9);
  assert.equal(s.labelSelector, "app.kubernetes.io/name=raft-kv,app.kubernetes.io/instance=kv");
  assert.equal(s.formedAt, now.toISOString(), "the cluster formed now");
  for (
    const [type, value] of [["Ready", "True"], ["Progressing", "False"], ["Degraded", "False"], [
      "SpecValid",
      "True",
    ]]
  ) {
    assert.equal(condition(s, type).status, value, type);
    assert.equal(condition(s, type).observedGeneration, 4, `${type} says which generation it describes`);
  }
});

Deno.test("before the cluster first formed it is Pending; afterwards a change in flight is Reconfiguring", () => {
  const creating = summarize(
    decision("AddLearners", { kind: "startMembers", members: [m(1)], bootstrap: false }, [m(0)], {
      adding: [m(1)],
      targetVoters: [1, 2],
    }),
    leaderOf([1]),
    view({ 0: report(0, 1, "leader") }),
  );
  assert.equal(creating.status.phase, "Pending");
  const formed = summarize(
    decision("CatchUp", { kind: "wait", afterMs: 300 }, [m(0), m(1), m(2)], {
      adding: [m(3)],
      targetVoters: [1, 2, 3, 4],
    }),
    leaderOf([1, 2, 3], { learners: [4] }),
    healthy3(),
    { formedAt: "2026-01-01T00:00:00.000Z" },
    4,
  );
  assert.equal(formed.status.phase, "Reconfiguring");
  assert.equal(formed.status.step, "CatchUp");
  assert.deepEqual(formed.status.learners, [4]);
  assert.equal(condition(formed.status, "Progressing").reason, "CatchUp");
});

Deno.test("no leader after forming: Degraded NoLeader, and the patch clears leader, term and voters", () => {
  const before =
    summarize(decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]), leaderOf([1, 2, 3]), healthy3()).status;
  const after = summarize(
    decision("Idle", { kind: "wait", afterMs: 300 }, [m(0), m(1), m(2)]),
    { nodes: {} },
    view({ 0: undefined, 1: report(1, 2), 2: report(2, 3) }),
    before,
  ).status;
  assert.equal(after.phase, "Degraded");
  assert.equal(condition(after, "Degraded").reason, "NoLeader");
  assert.ok(after.members!.every((x) => x.role === "unknown"));
  const patch = statusPatch(before, after)!;
  assert.equal(patch.leader, null);
  assert.equal(patch.term, null);
  assert.equal(patch.voters, null);
  assert.equal(after.configIndex, 9, "configIndex never goes back");
});

Deno.test("a member that does not answer makes a settled cluster Degraded, naming its pod", () => {
  const out = summarize(
    decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]),
    leaderOf([1, 2, 3]),
    view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: undefined }),
    { formedAt: "2026-01-01T00:00:00.000Z" },
  );
  assert.equal(out.status.phase, "Degraded");
  assert.match(condition(out.status, "Degraded").message, /kv-2/);
  assert.equal(out.status.readyReplicas, 2);
});

Deno.test("a change held back by the rate limit says when it may start", () => {
  const heldUntil = new Date("2026-01-02T03:05:00.000Z");
  const out = summarize(
    decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]),
    leaderOf([1, 2, 3]),
    healthy3(),
    { formedAt: "2026-01-01T00:00:00.000Z" },
    5,
    { desired: 3, heldUntil, message: "reconfig.rateLimit 1/min: ..." },
  );
  assert.equal(out.settled, false);
  assert.equal(out.status.nextReconfigAt, heldUntil.toISOString());
  assert.equal(condition(out.status, "Progressing").reason, "RateLimited");
});

Deno.test("an invalid spec sets phase Failed and SpecValid False, keeping the rest of the status", () => {
  const before =
    summarize(decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]), leaderOf([1, 2, 3]), healthy3()).status;
  const failed = invalidSpecStatus(before, "spec.snapshotInterval must be a duration", 5, now);
  assert.equal(failed.phase, "Failed");
  assert.equal(condition(failed, "SpecValid").status, "False");
  assert.equal(condition(failed, "SpecValid").reason, "InvalidSpec");
  assert.equal(condition(failed, "SpecValid").observedGeneration, 5);
  assert.equal(condition(failed, "Ready").status, "False");
  assert.deepEqual(failed.voters, before.voters);
});

Deno.test("statusPatch ignores key order, writes nothing when nothing changed, and deletes nested keys with null", () => {
  const out = summarize(
    decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]),
    leaderOf([1, 2, 3]),
    healthy3(),
  );
  const reordered = Object.fromEntries(Object.entries(out.status).reverse()) as RaftClusterStatus;
  assert.equal(statusPatch(out.status, { ...out.status }), undefined);
  assert.equal(statusPatch(reordered, out.status), undefined);
  const withError: RaftClusterStatus = {
    ...out.status,
    reconfig: { from: 3, to: 4, step: "CatchUp", startedAt: "x", attempts: 2, lastError: "boom", steps: [] },
  };
  const cleared: RaftClusterStatus = {
    ...out.status,
    reconfig: { from: 3, to: 4, step: "EnterJoint", startedAt: "x", attempts: 0, steps: [] },
  };
  assert.deepEqual(statusPatch(withError, cleared), {
    reconfig: { step: "EnterJoint", attempts: 0, lastError: null },
  });
  assert.deepEqual(statusPatch(cleared, out.status), { reconfig: null });
});
