/**
 * localkube for end-to-end tests:
 *
 *   const why = await localKubeUnavailable();
 *   if (why) { console.warn("SKIPPED e2e: " + why); return; }
 *   const kube = await startLocalKube();
 *   try { ...use kube.kubeconfigPath / kube.server + kube.token... } finally { await kube.stop(); }
 *
 * Every instance of the node agent has its own ports, state dir and pod network, so tests may run
 * several at once. The node is chosen by the `node` option, else by LOCALKUBE_NODE (agent, kubelet or
 * none; default agent): `kubelet` is a real node (one per machine; root; see node/real_node.ts).
 */
import { cachedBinaries, cachedNodeBinaries, goUnavailable } from "./build.ts";
import { NODE_KINDS, type NodeKind, startCluster, stopCluster } from "./cluster.ts";
import { realNodeUnavailable } from "./node/real_node.ts";

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
  /** What runs the pods. */
  nodeKind: NodeKind;
  /** kubelet mode: the images loaded into the node's containerd (raft-kv:latest, ...). */
  images: string[];
  stop(): Promise<void>;
}

/** The node kind LOCALKUBE_NODE asks for (default agent); throws on a value that is none of them. */
export function nodeKindFromEnv(): NodeKind {
  const value = Deno.env.get("LOCALKUBE_NODE") || "agent";
  if (!(NODE_KINDS as readonly string[]).includes(value)) {
    throw new Error(`LOCALKUBE_NODE must be one of ${NODE_KINDS.join(", ")}, not "${value}"`);
  }
  return value as NodeKind;
}

/** Why localkube (with this node kind) cannot run here (say so and skip), or undefined when it can. */
export async function localKubeUnavailable(node: NodeKind = nodeKindFromEnv()): Promise<string | undefined> {
  if (Deno.build.os !== "linux") {
    return `localkube needs Linux (pods live on 127.0.0.0/8 and in /proc), not ${Deno.build.os}`;
  }
  if (node === "kubelet") {
    const why = await realNodeUnavailable();
    if (why) return `LOCALKUBE_NODE=kubelet: ${why}`;
    if (!await cachedNodeBinaries() && await goUnavailable()) return await goUnavailable();
  }
  if (await cachedBinaries()) return undefined;
  return await goUnavailable();
}

/**
 * Builds the control plane (and the kubelet) if needed (the first run on a machine takes long;
 * progress goes to `log`), starts it with the node asked for (`nodeAgent: false` means no node),
 * and resolves once pods can be created and scheduled. In kubelet mode the project's images are
 * built and loaded into the node first (`projectImages: false` skips that).
 */
export async function startLocalKube(
  options: { nodeAgent?: boolean; node?: NodeKind; projectImages?: boolean; log?: (line: string) => void } =
    {},
): Promise<LocalKube> {
  const node = options.node ?? (options.nodeAgent === false ? "none" : nodeKindFromEnv());
  const why = await localKubeUnavailable(node);
  if (why) throw new Error(`localkube cannot run: ${why}`);
  const log = options.log ?? ((line: string) => console.error(`[localkube] ${line}`));
  const stateDir = await Deno.makeTempDir({ prefix: "localkube-" });
  let started;
  try {
    started = await startCluster({ stateDir, node, projectImages: options.projectImages, log });
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
    nodeKind: node,
    images: state.images ?? [],
    async stop() {
      await stopCluster(state, log);
      // Reap them, so the test runner sees no pending child-process operations.
      await Promise.all(spawned.map((p) => p.status));
      await Deno.remove(stateDir, { recursive: true });
    },
  };
}

/** Runs kubectl; resolves to its stdout, or throws with its stderr. */
export async function kubectl(
  binary: string,
  kubeconfig: string,
  args: string[],
  stdin?: string,
): Promise<string> {
  const child = new Deno.Command(binary, {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  if (out.code !== 0) {
    throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}
