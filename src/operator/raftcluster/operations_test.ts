import assert from "node:assert/strict";
import { type Action, initialStatus, type Member, type ReconfigStatus } from "../../reconfig/types.ts";
import type { ClusterView } from "./cluster_view.ts";
import { clusterId } from "./names.ts";
import { ActionError, describeOperation, operationsFor } from "./operations.ts";
import { ref, report, url, view } from "./view_fixtures.ts";

const status = (members: Member[]): ReconfigStatus => ({ ...initialStatus(), members });
const plan = (v: ClusterView, action: Action, members: Member[] = []) =>
  operationsFor({ ref, view: v, status: status(members), action });

Deno.test("startMembers: raise replicas to the highest slot + 1, then give each fresh node its id", () => {
  const first = plan(view({}, { replicas: 0 }), {
    kind: "startMembers",
    members: [{ slot: 0, id: 1 }],
    bootstrap: true,
  });
  assert.deepEqual(first.operations, [{ kind: "scale", replicas: 1 }]);
  assert.deepEqual(first.waitingFor, ["pod kv-0 to answer"]);

  const fresh = plan(view({ 0: report(0) }, { replicas: 1 }), {
    kind: "startMembers",
    members: [{ slot: 0, id: 1 }],
    bootstrap: true,
  });
  assert.deepEqual(fresh.operations, [{
    kind: "setIdentity",
    pod: "kv-0",
    url: url(0),
    identity: { id: 1, clusterId: clusterId(ref), bootstrap: true },
  }]);

  const grow = plan(
    view({ 0: report(0, 1, "leader"), 1: report(1), 2: undefined }, { replicas: 3, noIp: [2] }),
    {
      kind: "startMembers",
      members: [{ slot: 1, id: 2 }, { slot: 2, id: 3 }, { slot: 3, id: 4 }],
      bootstrap: false,
    },
  );
  assert.deepEqual(grow.operations.map((o) => o.kind), ["scale", "setIdentity"]);
  assert.deepEqual(grow.operations[0], { kind: "scale", replicas: 4 });
  assert.deepEqual(grow.waitingFor, ["pod kv-2 to answer", "pod kv-3 to answer"]);

  const started = plan(view({ 0: report(0, 1, "leader") }), {
    kind: "startMembers",
    members: [{ slot: 0, id: 1 }],
    bootstrap: true,
  });
  assert.deepEqual(started, { operations: [], waitingFor: [] }, "already running: nothing to do");
});

Deno.test("startMembers refuses a slot whose claim belongs to an earlier node, and says what to delete", () => {
  assert.throws(
    () =>
      plan(view({ 0: report(0, 1, "leader"), 1: report(1, 2) }), {
        kind: "startMembers",
        members: [{ slot: 1, id: 7 }],
        bootstrap: false,
      }),
    (e: Error) =>
      e instanceof ActionError && /already is node 2/.test(e.message) && /data-kv-1/.test(e.message),
  );
});

Deno.test("membership changes go to the leader's pod; learners carry their own advertised addresses", () => {
  const v = view({ 0: report(0, 1), 1: report(1, 2, "leader"), 2: report(2, 3) });
  const members = [{ slot: 0, id: 1 }, { slot: 1, id: 2 }];
  assert.deepEqual(plan(v, { kind: "addLearners", members: [{ slot: 2, id: 3 }] }, members).operations, [{
    kind: "addLearner",
    leaderUrl: url(1),
    learner: {
      id: 3,
      peer: "kv-2.kv-peers.ns.svc.cluster.local:7000",
      client: "http://kv-2:8080",
      incarnation: "inc-3",
    },
  }]);
  assert.deepEqual(plan(v, { kind: "enterJoint", voters: [1, 2, 3] }).operations, [
    { kind: "enterJoint", leaderUrl: url(1), voters: [1, 2, 3] },
  ]);
  assert.deepEqual(plan(v, { kind: "transferLeader", to: 1 }).operations, [
    { kind: "transferLeader", leaderUrl: url(1), to: 1 },
  ]);
  assert.deepEqual(plan(v, { kind: "leaveJoint" }).operations, [{ kind: "leaveJoint", leaderUrl: url(1) }]);
  assert.deepEqual(plan(v, { kind: "removeLearners", ids: [3] }).operations, [
    { kind: "removeLearner", leaderUrl: url(1), id: 3 },
  ]);
  assert.deepEqual(plan(v, { kind: "wait", afterMs: 300 }), { operations: [], waitingFor: [] });
  assert.deepEqual(plan(v, { kind: "none" }), { operations: [], waitingFor: [] });
});

Deno.test("without a leader, membership changes are refused (the step is planned again)", () => {
  const v = view({ 0: report(0, 1), 1: undefined });
  assert.throws(() => plan(v, { kind: "enterJoint", voters: [1, 2] }), /no leader answered/);
  assert.throws(
    () => plan(v, { kind: "addLearners", members: [{ slot: 1, id: 2 }] }),
    /pod kv-1 does not run node 2 yet/,
  );
});

Deno.test("stopMembers: lower replicas below the removed slots and delete their claims", () => {
  const v = view({
    0: report(0, 1, "leader"),
    1: report(1, 2),
    2: report(2, 3),
    3: report(3, 4),
    4: report(4, 5),
  });
  const staying = [{ slot: 0, id: 1 }, { slot: 1, id: 2 }, { slot: 2, id: 3 }];
  const stop = plan(v, { kind: "stopMembers", members: [{ slot: 3, id: 4 }, { slot: 4, id: 5 }] }, staying);
  assert.deepEqual(stop.operations, [
    { kind: "scale", replicas: 3 },
    { kind: "deleteClaim", claim: "data-kv-3" },
    { kind: "deleteClaim", claim: "data-kv-4" },
  ]);
  assert.deepEqual(stop.waitingFor, ["pod kv-3 to stop", "pod kv-4 to stop"]);

  const after = view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: report(2, 3) }, {
    replicas: 3,
    claimsOnly: [3],
  });
  const again = plan(after, { kind: "stopMembers", members: [{ slot: 3, id: 4 }] }, staying);
  assert.deepEqual(again.operations, [{ kind: "deleteClaim", claim: "data-kv-3" }], "only what is left");
});

Deno.test("stopMembers never takes a staying member's pod down: a slot below one is wiped, not scaled away", () => {
  const v = view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: report(2, 3) });
  const staying = [{ slot: 0, id: 1 }, { slot: 2, id: 3 }];
  const stop = plan(v, { kind: "stopMembers", members: [{ slot: 1, id: 2 }] }, staying);
  assert.deepEqual(stop.operations, [{ kind: "deleteClaim", claim: "data-kv-1" }, {
    kind: "deletePod",
    pod: "kv-1",
  }]);
  assert.ok(!stop.operations.some((o) => o.kind === "scale"), "the StatefulSet keeps slot 2");
});

Deno.test("the unsafe baselines: voters-direct to the leader with addresses, adopt-config to each node", () => {
  const v = view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: report(2, 3) });
  const direct = plan(v, { kind: "changeVotersDirectly", voters: [1, 2, 3] }).operations[0];
  assert.equal(direct.kind, "votersDirect");
  if (direct.kind === "votersDirect") {
    assert.equal(direct.leaderUrl, url(0));
    assert.deepEqual(Object.keys(direct.members).sort(), ["1", "2", "3"]);
    assert.equal(direct.members[3].peer, "kv-2.kv-peers.ns.svc.cluster.local:7000");
  }
  assert.deepEqual(
    plan(v, { kind: "adoptConfig", member: { slot: 2, id: 3 }, voters: [1, 2, 3] }).operations,
    [
      { kind: "adoptConfig", pod: "kv-2", url: url(2), voters: [1, 2, 3] },
    ],
  );
});

Deno.test("every operation has a one-line description", () => {
  const v = view({ 0: report(0, 1, "leader"), 1: report(1) }, { replicas: 1 });
  const { operations } = plan(v, { kind: "startMembers", members: [{ slot: 1, id: 2 }], bootstrap: false });
  assert.deepEqual(operations.map(describeOperation), [
    "StatefulSet replicas -> 2",
    "pod kv-1 becomes node 2",
  ]);
});

Deno.test("an aborted scale-up with no leader answering keeps the learners' claims (no ghost members)", () => {
  const members = [{ slot: 0, id: 1 }, { slot: 1, id: 2 }, { slot: 2, id: 3 }];
  const learner = { slot: 3, id: 4 };
  const aborting: ReconfigStatus = { ...status(members), phase: "AbortLearners", adding: [learner] };
  const noLeader = view({ 0: report(0, 1), 1: report(1, 2), 2: report(2, 3), 3: report(3, 4) });
  assert.throws(
    () =>
      operationsFor({
        ref,
        view: noLeader,
        status: aborting,
        action: { kind: "stopMembers", members: [learner] },
      }),
    (e: Error) => e instanceof ActionError && /their claims are kept until a leader says so/.test(e.message),
  );
  const withLeader = view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: report(2, 3), 3: report(3, 4) });
  const ops = operationsFor({
    ref,
    view: withLeader,
    status: aborting,
    action: { kind: "stopMembers", members: [learner] },
  });
  assert.ok(ops.operations.some((o) => o.kind === "deleteClaim" && o.claim === "data-kv-3"));
});

Deno.test("stopMembers of a replaced member below staying ones wipes its storage instead of scaling down", () => {
  const staying = [{ slot: 0, id: 1 }, { slot: 2, id: 3 }];
  const lost = { slot: 1, id: 2 };
  const removing: ReconfigStatus = {
    ...status(staying),
    phase: "RemoveMembers",
    removing: [lost],
    replacing: [{ slot: 1, lostId: 2 }],
  };
  const stillOld = view({ 0: report(0, 1, "leader"), 1: report(1, 2), 2: report(2, 3) }, { replicas: 3 });
  const wipe = operationsFor({
    ref,
    view: stillOld,
    status: removing,
    action: { kind: "stopMembers", members: [lost] },
  });
  assert.deepEqual(wipe.operations, [{ kind: "deleteClaim", claim: "data-kv-1" }, {
    kind: "deletePod",
    pod: "kv-1",
  }]);
  const empty = view({ 0: report(0, 1, "leader"), 1: report(1), 2: report(2, 3) }, { replicas: 3 });
  const nothing = operationsFor({
    ref,
    view: empty,
    status: removing,
    action: { kind: "stopMembers", members: [lost] },
  });
  assert.deepEqual(
    nothing.operations,
    [],
    "an empty pod has nothing left to stop; the StatefulSet is not scaled down",
  );
});
