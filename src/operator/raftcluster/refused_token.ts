/**
 * A new pod that refuses this cluster's admin token cannot be given its identity, and would refuse
 * it at every step for as long as it runs: it started with other tokens than the cluster's Secret
 * holds (a node's kubelet hands new pods its cached copy of an immutable Secret of the same name
 * while any pod on the node still uses it: see earlier_pods.ts, which keeps a recreated cluster
 * from starting pods then; this is the way out when it happens anyway). Such a pod has no
 * identity, hence no data: it is deleted, and started again it reads the Secret anew.
 */
import { KvError } from "../../client/mod.ts";
import type { Operation } from "./operations.ts";
import { type ClusterRef, secretName } from "./names.ts";

export function refusedTokenRecovery(
  ref: ClusterRef,
  operation: Operation,
  error: unknown,
): { deletePod: string; message: string } | undefined {
  if (operation.kind !== "setIdentity" || !(error instanceof KvError) || error.status !== 401) {
    return undefined;
  }
  return {
    deletePod: operation.pod,
    message: `pod ${operation.pod} refuses this cluster's admin token: it started with other tokens than ` +
      `Secret ${secretName(ref)} holds (a node's kubelet may have handed it its cached copy of an earlier ` +
      `Secret of that name); it has no identity yet, so it is deleted to start again with the current ones`,
  };
}
