import assert from "node:assert/strict";
import { observationFrom } from "../../reconfig/observe.ts";
import { DEFAULT_TUNING, type Member } from "../../reconfig/types.ts";
import { type NodeReport, statusesBySlot } from "./cluster_view.ts";
import { planUpgrade } from "./rolling_upgrade.ts";
import { ref, report, view } from "./view_fixtures.ts";

const members: Member[] = [{ slot: 0, id: 1 }, { slot: 1, id: 2 }, { slot: 2, id: 3 }];
const conf = { voters: [1, 2, 3], votersOutgoing: [], learners: [], joint: false, index: 9 };
const follower = (slot: number): NodeReport => ({ ...report(slot, slot + 1), conf });
function leader(slot: number, options: { inactive?: number[]; behind?: number[] } = {}): NodeReport {
  const progress: Record<string, { match: number; recentActive: boolean }> = {};
  for (const m of members) {
    progress[String(m.id)] = {
      match: options.behind?.includes(m.id) ? 10 : 500,
      recentActive: !options.inactive?.includes(m.id),
    };
  }
  return { ...report(slot, slot + 1, "leader", 3), conf, lastIndex: 500, progress };
}

function plan(
  nodes: Record<number, NodeReport | undefined>,
  revisions: Record<number, string>,
  options: { notReady?: number[]; terminating?: number[] } = {},
) {
  const v = view(nodes, { revisions, ...options });
  return planUpgrade({
    ref,
    view: v,
    observed: observationFrom(statusesBySlot(v)),
    members,
    updateRevision: "new",
    tuning: DEFAULT_TUNING,
  });
}

const healthy = () => ({ 0: leader(0), 1: follower(1), 2: follower(2) });

Deno.test("followers are restarted first, highest slot first, one at a time", () => {
  const step = plan(healthy(), { 0: "old", 1: "old", 2: "old" });
  assert.equal(step.kind, "deletePod");
  assert.equal(step.kind === "deletePod" && step.pod, "kv-2");
  const next = plan(healthy(), { 0: "old", 1: "old", 2: "new" });
  assert.equal(next.kind === "deletePod" && next.pod, "kv-1");
});

Deno.test("the leader goes last, after leadership moved to an updated voter", () => {
  const step = plan(healthy(), { 0: "old", 1: "new", 2: "new" });
  assert.equal(step.kind, "transferLeader");
  assert.equal(step.kind === "transferLeader" && step.to, 2);
  const moved = plan({ 0: follower(0), 1: leader(1), 2: follower(2) }, { 0: "old", 1: "new", 2: "new" });
  assert.equal(moved.kind === "deletePod" && moved.pod, "kv-0");
});

Deno.test("the next pod waits until the previous member is back, ready, active and caught up", () => {
  const revisions = { 0: "old", 1: "old", 2: "new" };
  assert.match(
    planWait(plan({ 0: leader(0), 1: follower(1), 2: undefined }, revisions)),
    /node 3 is not answering/,
  );
  assert.match(planWait(plan(healthy(), revisions, { notReady: [2] })), /kv-2 is not ready/);
  assert.match(planWait(plan(healthy(), revisions, { terminating: [2] })), /kv-2 is stopping/);
  assert.match(
    planWait(plan({ 0: leader(0, { inactive: [3] }), 1: follower(1), 2: follower(2) }, revisions)),
    /not active/,
  );
  assert.match(
    planWait(plan({ 0: leader(0, { behind: [3] }), 1: follower(1), 2: follower(2) }, revisions)),
    /catching up \(10\/500\)/,
  );
  assert.match(
    planWait(plan({ 0: follower(0), 1: follower(1), 2: follower(2) }, revisions)),
    /no leader answers/,
  );
});

Deno.test("nothing to roll when every member runs the current revision", () => {
  assert.equal(plan(healthy(), { 0: "new", 1: "new", 2: "new" }).kind, "done");
});

function planWait(step: ReturnType<typeof plan>): string {
  assert.equal(step.kind, "wait");
  return step.kind === "wait" ? step.message : "";
}
