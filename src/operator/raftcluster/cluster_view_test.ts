import assert from "node:assert/strict";
import { observationFrom } from "../../reconfig/observe.ts";
import { buildView, statusesBySlot, withoutDeposedLeader } from "./cluster_view.ts";
import { ref, report, url, view } from "./view_fixtures.ts";

Deno.test("view: a slot is present while its pod or its claim exists; the leader of the highest term wins", () => {
  const v = view({ 0: report(0, 1, "leader", 3), 1: report(1, 2, "leader", 2), 2: undefined }, {
    claimsOnly: [4],
  });
  assert.equal(v.leaderSlot, 0);
  assert.deepEqual(Object.keys(statusesBySlot(v)).sort(), ["0", "1", "2", "4"]);
  assert.equal(statusesBySlot(v)["2"], undefined, "a pod that does not answer");
  assert.equal(v.slots.get(4)!.pod, undefined);
  assert.equal(v.slots.get(4)!.hasClaim, true);
  assert.equal(v.slots.get(0)!.url, url(0));
});

Deno.test("view: pods and claims of other objects are not slots; another cluster's report is not used", () => {
  const v = buildView(ref, {
    pods: [
      { name: "kv-0", ip: "127.9.0.1", terminating: false, ready: true },
      { name: "kvx-1", ip: "127.9.0.2", terminating: false, ready: true },
      { name: "kv-peers", ip: "127.9.0.3", terminating: false, ready: true },
      { name: "kv-2", ip: "127.9.0.4", terminating: false, ready: true },
    ],
    claims: ["data-kv-0", "data-other-1", "logs-kv-2"],
    reports: new Map([
      ["kv-0", report(0, 1, "leader")],
      ["kvx-1", report(1, 2, "leader", 9)],
      ["kv-2", { ...report(2, 3, "leader", 9), clusterId: "elsewhere" }],
    ]),
    replicas: 1,
  });
  assert.deepEqual([...v.slots.keys()], [0, 2]);
  assert.equal(v.slots.get(2)!.report, undefined, "a pod answering for another cluster");
  assert.equal(v.leaderSlot, 0);
  assert.equal(v.replicas, 1);
});

Deno.test("a leader reporting an older configuration than the one persisted is ignored (deposed)", () => {
  const conf = (index: number) => ({
    voters: [1, 2, 3],
    votersOutgoing: [],
    learners: [],
    joint: false,
    index,
  });
  const v = view({ 0: { ...report(0, 1, "leader", 4), conf: conf(7) }, 1: report(1, 2), 2: report(2, 3) });
  const observed = observationFrom(statusesBySlot(v));
  const fresh = withoutDeposedLeader(v, observed, 7);
  assert.equal(fresh.observed.leader?.id, 1);
  assert.equal(fresh.ignored, undefined);
  const stale = withoutDeposedLeader(v, observed, 9);
  assert.equal(stale.observed.leader, undefined);
  assert.equal(v.leaderSlot, undefined);
  assert.match(stale.ignored!, /configuration 7, older than 9: ignoring a deposed leader/);
});
