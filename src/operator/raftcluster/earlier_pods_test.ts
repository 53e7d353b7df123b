import assert from "node:assert/strict";
import { earlierPods, waitingForEarlierPods } from "./earlier_pods.ts";
import type { PodFacts } from "./cluster_api.ts";

const pod = (name: string, controllerUid?: string): PodFacts => ({
  name,
  terminating: true,
  ready: false,
  ...(controllerUid ? { controllerUid } : {}),
});

Deno.test("pods its StatefulSet does not control are earlier pods; with no StatefulSet yet, all are", () => {
  const pods = [pod("demo-2", "old-set"), pod("demo-0", "new-set"), pod("demo-1"), pod("demo-3", "old-set")];
  assert.deepEqual(earlierPods(pods, "new-set"), ["demo-1", "demo-2", "demo-3"]);
  assert.deepEqual(earlierPods(pods, undefined), ["demo-0", "demo-1", "demo-2", "demo-3"]);
  assert.deepEqual(earlierPods([pod("demo-0", "new-set")], "new-set"), []);
  assert.deepEqual(earlierPods([], undefined), []);
});

Deno.test("the wait says which pods, why, and names the Secret", () => {
  const ref = { namespace: "ns", name: "demo", uid: "u" };
  assert.equal(
    waitingForEarlierPods(ref, ["demo-2"]),
    "pod demo-2 of an earlier RaftCluster named demo is still there: the first member starts once it is gone " +
      "(the node's kubelet would hand a new pod its cached copy of the earlier Secret demo-tokens, whose tokens " +
      "this cluster's do not match)",
  );
  assert.match(
    waitingForEarlierPods(ref, ["demo-1", "demo-3"]),
    /^pods demo-1, demo-3 of .* are still there: .* once they are gone/,
  );
});
