import assert from "node:assert/strict";
import type * as k8s from "@kubernetes/client-node";
import { initialStatus, type ReconfigStatus } from "../../reconfig/types.ts";
import { ref } from "./view_fixtures.ts";
import { statefulSet } from "./resources.ts";
import { resolveSpec } from "./spec.ts";
import { expectedReplicas, recordedNextNodeId, statefulSetRepair } from "./statefulset_sync.ts";

const settled3: ReconfigStatus = {
  ...initialStatus(),
  members: [{ slot: 0, id: 1 }, { slot: 1, id: 2 }, { slot: 2, id: 3 }],
  nextNodeId: 4,
};
const desired = statefulSet(ref, resolveSpec({ replicas: 3 }));
const live = (replicas: number, nextId = "4") => {
  const set = structuredClone(desired);
  set.spec!.replicas = replicas;
  set.metadata!.annotations = { ...set.metadata!.annotations, "storage.sys/next-node-id": nextId };
  return set;
};

Deno.test("a StatefulSet scaled down by hand is put back to the members' slots; nothing else changes", () => {
  const repair = statefulSetRepair(live(1), desired, settled3, true);
  assert.deepEqual(repair.patch, { spec: { replicas: 3 } });
  assert.deepEqual(repair.drift, ["replicas 1 (the members need 3)"]);
  assert.equal(statefulSetRepair(live(3), desired, settled3, true).patch, undefined);
});

Deno.test("extra pods are only removed once settled; none are added or removed while members are stopping", () => {
  assert.equal(statefulSetRepair(live(5), desired, settled3, false).patch, undefined);
  assert.deepEqual(statefulSetRepair(live(5), desired, settled3, true).patch, { spec: { replicas: 3 } });
  assert.equal(expectedReplicas({ ...settled3, phase: "RemoveMembers" }), undefined);
  assert.equal(expectedReplicas({ ...settled3, phase: "CatchUp", adding: [{ slot: 4, id: 5 }] }), 5);
});

Deno.test("a changed template is written with its hash and the OnDelete strategy (pods restart only when rolled)", () => {
  const newer = statefulSet(ref, resolveSpec({ replicas: 3, image: "raft-kv:v2" }));
  const repair = statefulSetRepair(live(3), newer, settled3, true);
  const patch = repair.patch as {
    spec: Record<string, unknown>;
    metadata: { annotations: Record<string, string> };
  };
  assert.equal((patch.spec.template as k8s.V1PodTemplateSpec).spec!.containers[0].image, "raft-kv:v2");
  assert.deepEqual(patch.spec.updateStrategy, { type: "OnDelete" });
  assert.equal(
    patch.metadata.annotations["storage.sys/template-hash"],
    newer.metadata!.annotations!["storage.sys/template-hash"],
  );
});

Deno.test("the next node id is kept on the StatefulSet and only grows there", () => {
  assert.deepEqual(statefulSetRepair(live(3, "2"), desired, settled3, true).patch, {
    metadata: { annotations: { "storage.sys/next-node-id": "4" } },
  });
  assert.equal(statefulSetRepair(live(3, "9"), desired, settled3, true).patch, undefined);
  assert.equal(recordedNextNodeId(live(3, "9")), 9);
  assert.equal(recordedNextNodeId(undefined), 0);
});
