import { localKubeUnavailable, startLocalKube } from "../../../localkube/testing.ts";

/** A real cluster for the end-to-end tests. */
export interface E2eCluster {
  kubeconfigPath: string;
  /** Where it came from, for the test output. */
  origin: string;
  close(): Promise<void>;
}

/**
 * The cluster named by RAFTKV_E2E_KUBECONFIG if set, else a fresh localkube control plane (no node
 * agent: the framework needs no pods). Returns the reason instead when neither is possible.
 */
export async function openE2eCluster(): Promise<E2eCluster | string> {
  const existing = Deno.env.get("RAFTKV_E2E_KUBECONFIG");
  if (existing) {
    return { kubeconfigPath: existing, origin: `RAFTKV_E2E_KUBECONFIG=${existing}`, close: async () => {} };
  }
  const why = await localKubeUnavailable();
  if (why) return why;
  const started = performance.now();
  const kube = await startLocalKube({ nodeAgent: false });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  return {
    kubeconfigPath: kube.kubeconfigPath,
    origin: `localkube at ${kube.server} (up in ${seconds} s)`,
    close: () => kube.stop(),
  };
}
