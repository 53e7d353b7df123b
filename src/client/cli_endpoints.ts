/**
 * Where the CLI finds the cluster, in order: --endpoints, $RAFTKV_ENDPOINTS, then the state file
 * that `deno task local up` writes (<repo>/.data/local/cluster.json; $RAFTKV_CLUSTER_FILE
 * overrides the path).
 */
import type { EndpointSpec } from "./endpoint_book.ts";

export const DEFAULT_CLUSTER_FILE = new URL("../../.data/local/cluster.json", import.meta.url).pathname;

export interface EndpointSources {
  flag?: string;
  env?: string;
  clusterFile: string;
}

export type FoundEndpoints =
  | { kind: "found"; endpoints: EndpointSpec[]; source: string; access?: ClusterAccess }
  /** Nothing to talk to; `problem` says what was looked at and how to fix it. */
  | { kind: "none"; problem: string };

export const START_A_CLUSTER =
  "start a local cluster with `deno task local up`, or point the client at running " +
  "nodes with --endpoints http://host:port,... or RAFTKV_ENDPOINTS";

/** How to reach a cluster that runs with TLS and client tokens. */
export interface ClusterAccess {
  /** PEM file of the cluster CA to trust. */
  caFile?: string;
  token?: string;
}

/**
 * $RAFTKV_CA_FILE and $RAFTKV_TOKEN, else what a local cluster started with --tls keeps in its
 * state file (its CA and its read-write token).
 */
export function accessOf(found: FoundEndpoints, env: (name: string) => string | undefined): ClusterAccess {
  const fromState = found.kind === "found" ? found.access : undefined;
  return {
    caFile: env("RAFTKV_CA_FILE") || fromState?.caFile,
    token: env("RAFTKV_TOKEN") || fromState?.token,
  };
}

export async function findEndpoints(sources: EndpointSources): Promise<FoundEndpoints> {
  if (sources.flag !== undefined) return fromList(sources.flag, "--endpoints");
  if (sources.env !== undefined && sources.env.trim() !== "") {
    return fromList(sources.env, "RAFTKV_ENDPOINTS");
  }
  let text: string;
  try {
    text = await Deno.readTextFile(sources.clusterFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return {
        kind: "none",
        problem: `no raft-kv endpoints known (no ${sources.clusterFile}); ${START_A_CLUSTER}`,
      };
    }
    return { kind: "none", problem: `cannot read ${sources.clusterFile}: ${(error as Error).message}` };
  }
  return fromClusterFile(text, sources.clusterFile);
}

function fromList(list: string, source: string): FoundEndpoints {
  const endpoints = list.split(",").map((url) => url.trim()).filter((url) => url !== "");
  if (endpoints.length === 0) return { kind: "none", problem: `${source} lists no URL; ${START_A_CLUSTER}` };
  return { kind: "found", endpoints, source };
}

/** The state file's nodes with their ids, so that --node N needs no round trip. */
function fromClusterFile(text: string, path: string): FoundEndpoints {
  let nodes: unknown;
  try {
    nodes = (JSON.parse(text) as { nodes?: unknown })?.nodes;
  } catch {
    return { kind: "none", problem: `${path} is not valid JSON; run \`deno task local up\` again` };
  }
  const endpoints: EndpointSpec[] = [];
  for (const node of Array.isArray(nodes) ? nodes : []) {
    const { id, clientUrl } = (node ?? {}) as { id?: unknown; clientUrl?: unknown };
    if (typeof clientUrl !== "string") continue;
    endpoints.push(typeof id === "number" ? { id, url: clientUrl } : clientUrl);
  }
  if (endpoints.length === 0) {
    return { kind: "none", problem: `${path} lists no node with a clientUrl; ${START_A_CLUSTER}` };
  }
  return { kind: "found", endpoints, source: path, access: securityOf(text) };
}

function securityOf(text: string): ClusterAccess | undefined {
  const security = (JSON.parse(text) as { security?: { caFile?: unknown; tokens?: { readWrite?: unknown } } })
    .security;
  if (!security || typeof security.caFile !== "string") return undefined;
  const token = security.tokens?.readWrite;
  return { caFile: security.caFile, token: typeof token === "string" ? token : undefined };
}
