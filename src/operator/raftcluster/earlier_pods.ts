/**
 * A RaftCluster deleted and created again under the same name: the new one must start no pod while
 * pods of the earlier one remain (they terminate after their StatefulSet is gone). Its pods share
 * the earlier one's labels and, above all, the name of its token Secret, which is immutable: a
 * node's kubelet stops watching an immutable Secret once read and serves its cached copy to every
 * new pod that names it, for as long as any pod on the node still uses it (kubelet's
 * watch_based_manager). A first pod started then gets the earlier cluster's tokens and refuses this
 * cluster's admin calls for good; once the earlier pods are gone, the kubelet reads it afresh.
 */
import type { PodFacts } from "./cluster_api.ts";
import { type ClusterRef, secretName } from "./names.ts";

/** The pods with the cluster's labels that its StatefulSet (`setUid`, if it exists yet) does not control. */
export function earlierPods(pods: PodFacts[], setUid: string | undefined): string[] {
  return pods.filter((p) => setUid === undefined || p.controllerUid !== setUid).map((p) => p.name).sort();
}

export function waitingForEarlierPods(ref: ClusterRef, pods: string[]): string {
  return `pod${pods.length > 1 ? "s" : ""} ${pods.join(", ")} of an earlier RaftCluster named ${ref.name} ` +
    `${pods.length > 1 ? "are" : "is"} still there: the first member starts once ${
      pods.length > 1 ? "they are" : "it is"
    } gone (the node's kubelet would hand a new pod its cached copy of the earlier Secret ` +
    `${secretName(ref)}, whose tokens this cluster's do not match)`;
}
