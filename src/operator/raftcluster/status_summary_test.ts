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
import { statusPatch, summarizeStatus, type SummaryInput } from "./status_summary.ts";
import { HISTORY_LENGTH, type RaftClusterStatus } from "./types.ts";
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
  trail: Phase[] = [phase],
): PlannerDecision {
  return {
    status: { ...initialStatus(), phase, members, confIndex: 9, message: `in ${phase}`, ...more },
    action,
    trail,
  };
}

function summarize(
  d: PlannerDecision,
  observed: Observation,
  v: ClusterView,
  previous: RaftClusterStatus = {},
  desiredReplicas = 3,
  at = now,
) {
  const input: SummaryInput = {
    ref,
    generation: 4,
    desiredReplicas,
    previous,
    decision: d,
    observed,
    view: v,
    now: at,
  };
  return summarizeStatus(input);
}

const healthy3 = () => view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: report(2, 3) });
const condition = (s: RaftClusterStatus, type: string) => s.conditions!.find((c) => c.type === type)!;

Deno.test("a settled cluster is Ready, not Progressing, not Degraded, and costs no history entry", () => {
  const out = summarize(
    decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]),
    leaderOf([1, 2, 3]),
    healthy3(),
  );
  assert.equal(out.settled, true);
  assert.equal(out.recorded, undefined);
  const s = out.status;
  assert.deepEqual(
    [condition(s, "Ready"), condition(s, "Progressing"), condition(s, "Degraded")].map((
      c,
    ) => [c.status, c.reason]),
    [["True", "Settled"], ["False", "Settled"], ["False", "Healthy"]],
  );
  assert.equal(condition(s, "Ready").observedGeneration, 4);
  assert.equal(condition(s, "Ready").message, "3 voters, leader kv-0");
  assert.equal(s.leader, "kv-0");
  assert.equal(s.voters, 3);
  assert.equal(s.observedGeneration, 4);
  assert.deepEqual(s.members!.map((x) => [x.pod, x.id, x.role, x.reachable]), [
    ["kv-0", 1, "voter", true],
    ["kv-1", 2, "voter", true],
    ["kv-2", 3, "voter", true],
  ]);
});

Deno.test("inside a joint configuration the members' roles follow the leader's configuration", () => {
  const d = decision("CommitNew", { kind: "leaveJoint" }, [m(0), m(1), m(2)], {
    removing: [m(2)],
    adding: [m(3)],
  }, ["EnterJoint", "CommitNew"]);
  const observed = leaderOf([1, 2, 4], { votersOutgoing: [1, 2, 3], learners: [5] });
  const v = view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: report(2, 3), 3: report(3, 4) });
  const out = summarize(d, observed, v);
  assert.equal(out.settled, false);
  assert.deepEqual(out.status.members!.map((x) => [x.id, x.role]), [[1, "voter"], [2, "voter"], [
    3,
    "leaving",
  ], [
    4,
    "voter",
  ]]);
  assert.deepEqual([condition(out.status, "Ready").status, condition(out.status, "Ready").reason], [
    "False",
    "Reconfiguring",
  ]);
  assert.deepEqual(
    [condition(out.status, "Progressing").status, condition(out.status, "Progressing").reason],
    [
      "True",
      "CommitNew",
    ],
  );
  assert.deepEqual(out.recorded, {
    time: now.toISOString(),
    phases: ["EnterJoint", "CommitNew"],
    action: "leaveJoint",
    confIndex: 9,
    message: "in CommitNew",
  });
});

Deno.test("no leader: Degraded NoLeader, roles unknown, and the patch clears leader and voters", () => {
  const before = summarize(
    decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]),
    leaderOf([1, 2, 3]),
    healthy3(),
  );
  const d = decision("Idle", { kind: "wait", afterMs: 300 }, [m(0), m(1), m(2)]);
  const out = summarize(
    d,
    { nodes: {} },
    view({ 0: report(0, 1), 1: report(1, 2), 2: undefined }),
    before.status,
  );
  assert.deepEqual([condition(out.status, "Degraded").status, condition(out.status, "Degraded").reason], [
    "True",
    "NoLeader",
  ]);
  assert.deepEqual([condition(out.status, "Ready").status, condition(out.status, "Ready").reason], [
    "False",
    "NoLeader",
  ]);
  assert.ok(out.status.members!.every((x) => x.role === "unknown"));
  const patch = statusPatch(before.status, out.status)!;
  assert.equal(patch.leader, null);
  assert.equal(patch.voters, null);
});

Deno.test("a member that does not answer makes the cluster Degraded, naming its pod", () => {
  const v = view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: undefined });
  const out = summarize(decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]), leaderOf([1, 2, 3]), v);
  const degraded = condition(out.status, "Degraded");
  assert.deepEqual([degraded.status, degraded.reason, degraded.message], [
    "True",
    "MembersUnreachable",
    "not answering as members: kv-2",
  ]);
  assert.equal(condition(out.status, "Ready").status, "True", "a majority serves: still Ready");
});

Deno.test("a fresh cluster is not Ready yet, with reason Creating", () => {
  const d = decision("Bootstrap", { kind: "startMembers", members: [m(0)], bootstrap: true }, [], {}, [
    "Idle",
    "Bootstrap",
  ]);
  const out = summarize(d, { nodes: {} }, view({}, { replicas: 0 }));
  assert.deepEqual([condition(out.status, "Ready").status, condition(out.status, "Ready").reason], [
    "False",
    "Creating",
  ]);
  assert.equal(condition(out.status, "Degraded").status, "False");
  assert.deepEqual(out.recorded?.phases, ["Idle", "Bootstrap"]);
});

Deno.test("history: a step retried while waiting is recorded once; the list keeps the newest entries", () => {
  const step = decision("AddLearners", { kind: "startMembers", members: [m(3)], bootstrap: false }, [
    m(0),
    m(1),
    m(2),
  ]);
  const first = summarize(step, leaderOf([1, 2, 3]), healthy3(), {}, 4);
  assert.ok(first.recorded);
  const again = summarize(step, leaderOf([1, 2, 3]), healthy3(), first.status, 4);
  assert.equal(again.recorded, undefined);
  assert.equal(statusPatch(first.status, again.status), undefined, "nothing new: no write");

  let status: RaftClusterStatus = {};
  for (let i = 0; i < HISTORY_LENGTH + 5; i++) {
    const d = decision("CatchUp", { kind: "addLearners", members: [m(3)] }, [m(0)], { message: `step ${i}` });
    status = summarize(d, leaderOf([1]), healthy3(), status, 2).status;
  }
  assert.equal(status.history!.length, HISTORY_LENGTH);
  assert.equal(status.history!.at(-1)!.message, `step ${HISTORY_LENGTH + 4}`);
  assert.equal(status.history![0].message, "step 5");
});

Deno.test("statusPatch ignores key order (the API server sorts keys) and keeps transition times", () => {
  const d = decision("Idle", { kind: "none" }, [m(0), m(1), m(2)]);
  const first = summarize(d, leaderOf([1, 2, 3]), healthy3());
  const fromServer = JSON.parse(
    JSON.stringify(
      first.status,
      (_k, v) =>
        v && typeof v === "object" && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort().reverse())
          : v,
    ),
  );
  const later = summarize(
    d,
    leaderOf([1, 2, 3]),
    healthy3(),
    fromServer,
    3,
    new Date(now.getTime() + 60_000),
  );
  assert.equal(statusPatch(fromServer, later.status), undefined);
  const grown = summarize(
    d,
    leaderOf([1, 2, 3]),
    healthy3(),
    fromServer,
    5,
    new Date(now.getTime() + 60_000),
  );
  const patch = statusPatch(fromServer, grown.status)!;
  assert.deepEqual(Object.keys(patch), ["conditions"], "desired 5: no longer settled");
  const ready = (patch.conditions as RaftClusterStatus["conditions"])!.find((c) => c.type === "Ready")!;
  assert.equal(ready.status, "False");
  assert.equal(ready.lastTransitionTime, "2026-01-02T03:05:05Z");
});
