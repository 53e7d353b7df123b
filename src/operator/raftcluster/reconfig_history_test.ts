import assert from "node:assert/strict";
import {
  type Action,
  initialStatus,
  type Phase,
  type PlannerDecision,
  type ReconfigStatus,
} from "../../reconfig/types.ts";
import { type Tracked, trackReconfig } from "./reconfig_history.ts";
import { HISTORY_LENGTH, type ReconfigRecord } from "./types.ts";

const idle3: ReconfigStatus = {
  ...initialStatus(),
  members: [{ slot: 0, id: 1 }, { slot: 1, id: 2 }, { slot: 2, id: 3 }],
  nextNodeId: 4,
};
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 2, 12, 0, seconds));

function decide(
  before: ReconfigStatus,
  trail: Phase[],
  phase: Phase,
  action: Action,
  more: Partial<ReconfigStatus> = {},
) {
  const status: ReconfigStatus = { ...before, ...more, phase };
  const decision: PlannerDecision = { status, action, trail };
  return { decision, status };
}

Deno.test("a change is followed from start to finish: steps, durations, attempts, and one history record", () => {
  let planner = idle3;
  let tracked: Tracked = { history: [] };
  const step = (
    seconds: number,
    trail: Phase[],
    phase: Phase,
    action: Action,
    more: Partial<ReconfigStatus> = {},
  ) => {
    const { decision, status } = decide(planner, trail, phase, action, more);
    tracked = trackReconfig({
      before: planner,
      history: tracked.history,
      decision,
      now: at(seconds),
      ...(tracked.inFlight ? { inFlight: tracked.inFlight } : {}),
    });
    planner = status;
    return tracked;
  };
  const adding = { adding: [{ slot: 3, id: 4 }], targetVoters: [1, 2, 3, 4] };
  const started = step(0, ["Idle"], "AddLearners", {
    kind: "startMembers",
    members: [{ slot: 3, id: 4 }],
    bootstrap: false,
  }, adding);
  assert.equal(started.started?.from, 3);
  assert.equal(started.started?.to, 4);
  assert.equal(started.inFlight?.step, "AddLearners");
  assert.equal(started.inFlight?.attempts, 1);
  step(1, ["AddLearners"], "AddLearners", {
    kind: "startMembers",
    members: [{ slot: 3, id: 4 }],
    bootstrap: false,
  });
  assert.equal(tracked.inFlight?.attempts, 2, "the same step's action again");
  step(2, ["AddLearners"], "AddLearners", { kind: "wait", afterMs: 300 });
  assert.equal(tracked.inFlight?.attempts, 2, "waiting is no attempt");
  step(4, ["AddLearners", "CatchUp"], "CatchUp", { kind: "wait", afterMs: 300 });
  assert.equal(tracked.inFlight?.step, "CatchUp");
  assert.equal(tracked.inFlight?.attempts, 0);
  step(7, ["CatchUp", "EnterJoint"], "EnterJoint", { kind: "enterJoint", voters: [1, 2, 3, 4] });
  step(8, ["EnterJoint", "CommitNew"], "CommitNew", { kind: "leaveJoint" });
  const done = step(9, ["CommitNew", "LeaveJoint", "Idle"], "Idle", { kind: "none" }, {
    members: [...idle3.members, { slot: 3, id: 4 }],
    adding: [],
    targetVoters: [],
  });
  assert.equal(done.inFlight, undefined);
  const record = done.finished!;
  assert.equal(record.result, "Succeeded");
  assert.equal(record.durationSeconds, 9);
  assert.deepEqual(
    record.steps.map((s) => [s.step, s.durationSeconds]),
    [["AddLearners", 4], ["CatchUp", 3], ["EnterJoint", 1], ["CommitNew", 1], ["LeaveJoint", 0]],
  );
  assert.deepEqual(done.history, [record]);
});

Deno.test("history keeps the newest records only", () => {
  const old: ReconfigRecord[] = Array.from({ length: HISTORY_LENGTH }, (_, i) => ({
    from: i,
    to: i + 1,
    startedAt: at(i).toISOString(),
    finishedAt: at(i).toISOString(),
    durationSeconds: 0,
    result: "Succeeded",
    steps: [],
  }));
  const before: ReconfigStatus = { ...idle3, phase: "LeaveJoint", targetVoters: [1, 2, 3] };
  const { decision } = decide(before, ["LeaveJoint", "Idle"], "Idle", { kind: "none" });
  const out = trackReconfig({ before, history: old, decision, now: at(50) });
  assert.equal(out.history.length, HISTORY_LENGTH);
  assert.equal(out.history[0].from, 1);
  assert.equal(out.history.at(-1), out.finished);
});

Deno.test("an aborted scale-up is recorded as Aborted", () => {
  const before: ReconfigStatus = {
    ...idle3,
    phase: "CatchUp",
    adding: [{ slot: 3, id: 4 }],
    targetVoters: [1, 2, 3, 4],
  };
  const abort = decide(before, ["CatchUp", "AbortLearners"], "AbortLearners", {
    kind: "removeLearners",
    ids: [4],
  });
  const first = trackReconfig({ before, history: [], decision: abort.decision, now: at(1) });
  const end = decide(abort.status, ["AbortLearners", "Idle"], "Idle", { kind: "none" }, {
    adding: [],
    targetVoters: [],
  });
  const out = trackReconfig({
    before: abort.status,
    history: [],
    decision: end.decision,
    now: at(3),
    inFlight: first.inFlight!,
  });
  assert.equal(out.finished?.result, "Aborted");
});
