/**
 * localkube for end-to-end tests:
 *
 *   const why = await localKubeUnavailable();
 *   if (why) { console.warn("SKIPPED e2e: " + why); return; }
 *   const kube = await startLocalKube();
 *   try { ...use kube.kubeconfigPath / kube.server + kube.token... } finally { await kube.stop(); }
 *
 * Every instance has its own ports, state dir and pod network, so tests may run several at once.
 */
import { cachedBinaries, goUnavailable } from "./build.ts";
import { startCluster, stopCluster } from "./cluster.ts";

export interface LocalKube {
  /** An admin (system:masters) kubeconfig with a bearer token and the apiserver's CA. */
  kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** The admin bearer token. */
  token: string;
  /** Logs (`logs/`), volumes (`volumes/`) and pods' folders (`pods/`); removed by stop(). */
  stateDir: string;
  /** `127.0.0.1:<port>` of the cluster DNS, when a node agent runs. */
  dnsAddress?: string;
  /** The kubectl built with the control plane. */
  kubectl: string;
  stop(): Promise<void>;
}

/** Why localkube cannot run here (say so and skip), or undefined when it can. */
export async function localKubeUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") {
    return `localkube needs Linux (pods live on 127.0.0.0/8 and in /proc), not ${Deno.build.os}`;
  }
  if (await cachedBinaries()) return undefined;
  return await goUnavailable();
}

/**
 * Builds the control plane if needed (the first run on a machine takes long; progress goes to
 * `log`), starts it with a node agent unless `nodeAgent: false`, and resolves once pods can be
 * created and scheduled.
 */
export async function startLocalKube(
  options: { nodeAgent?: boolean; log?: (line: string) => void } = {},
): Promise<LocalKube> {
  const why = await localKubeUnavailable();
  if (why) throw new Error(`localkube cannot run: ${why}`);
  const log = options.log ?? ((line: string) => console.error(`[localkube] ${line}`));
  const stateDir = await Deno.makeTempDir({ prefix: "localkube-" });
  let started;
  try {
    started = await startCluster({ stateDir, nodeAgent: options.nodeAgent ?? true, log });
  } catch (e) {
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    throw e;
  }
  const { state, spawned } = started;
  return {
    kubeconfigPath: state.kubeconfigPath,
    server: state.server,
    token: state.token,
    stateDir,
    dnsAddress: state.dnsAddress,
    kubectl: state.kubectl,
    async stop() {
      await stopCluster(state, log);
      // Reap them, so the test runner sees no pending child-process operations.
      await Promise.all(spawned.map((p) => p.status));
      await Deno.remove(stateDir, { recursive: true });
    },
  };
}
