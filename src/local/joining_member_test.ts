/**
 * A new member is quarantined (fresh storage) until it applies the entry that added it as a
 * learner. When that entry reaches it late (a loaded machine; here the leader's appends to it are
 * delayed), the planner can finish the change before it is applied: the member must then be kept
 * as joining, not taken for one whose storage came back empty and replaced under a new id. That
 * mistake removed node 3 of the bug2 experiment's cluster in CI ("node 3 is not running").
 */
import assert from "node:assert/strict";
import { isWhole, nodeStatus, until, withSupervisedCluster } from "./test_support.ts";
import type { SafetyMode } from "../raft/mod.ts";

for (const [mode, delayMs] of [["unsafe-no-joint", 1000], ["safe", 3000]] as const) {
  Deno.test({
    name: `${mode}: a learner whose appends arrive ${delayMs} ms late is kept, not replaced as lost`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await withSupervisedCluster(
        { replicas: 1, safetyMode: mode as SafetyMode, faultInjection: true },
        async (sup) => {
          const leader = sup.state.nodes[0];
          const r = await fetch(`${leader.clientUrl}/admin/faults`, {
            method: "POST",
            headers: { authorization: `Bearer ${sup.state.adminToken}`, "content-type": "application/json" },
            body: JSON.stringify({ action: "delay", peer: 3, ms: delayMs }),
          });
          const answer = await r.text();
          assert.equal(r.status, 200, answer);
          sup.setDesired(3);
          await until("3 settled members", () => sup.settled() && sup.state.nodes.length === 3, 60_000);
          const what = `${sup.state.reconfig.message}; nodes ${
            sup.state.nodes.map((n) => `${n.id}@${n.slot}`)
          }`;
          assert.deepEqual(sup.state.nodes.map((n) => n.id), [1, 2, 3], what);
          assert.equal(sup.state.reconfig.nextNodeId, 4, `no id was spent on a replacement: ${what}`);
          assert.deepEqual(sup.state.reconfig.replacing ?? [], [], what);
          // Once the delayed entry arrives, node 3 lifts its quarantine and the cluster is whole.
          await until("node 3 to apply its addition", async () => {
            const s = await nodeStatus(sup.state.nodes[2].clientUrl);
            return s?.id === 3 && s.quarantined === false;
          }, 20_000);
          await until("the cluster to be whole", () => isWhole(sup, 3), 20_000);

          // A start under an id that runs in another slot is refused and changes nothing.
          const before = JSON.stringify(sup.state.nodes);
          await assert.rejects(
            sup.runAction({ kind: "startMembers", members: [{ slot: 3, id: 2 }], bootstrap: false }),
            /cannot start node 2 in slot 3: node 2 already runs in slot 1/,
          );
          assert.equal(JSON.stringify(sup.state.nodes), before);
        },
      );
    },
  });
}
