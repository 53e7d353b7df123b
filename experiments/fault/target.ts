/**
 * What `deno task fault` acts on: a cluster's nodes, how to reach each node's fault endpoint
 * (POST /admin/faults, admin token), and how to stop, pause or wipe a node. Two kinds: the local
 * cluster of `deno task local` and a RaftCluster in Kubernetes (kube_target.ts).
 */
import type { FaultAction, FaultState } from "../../src/client/wire_types.ts";

export interface FaultNode {
  id: number;
  /** Where its client and admin API answer. */
  url: string;
  /** How a user names it: "node 2" or "pod kv-1 (node 2)". */
  label: string;
}

export interface NodeView {
  node: FaultNode;
  status?: Record<string, unknown>;
  faults?: FaultState;
  process?: string;
}

export class FaultRefused extends Error {}

export interface FaultTarget {
  /** "the local cluster in .data/local" or "RaftCluster default/demo". */
  readonly description: string;
  /** Does the cluster run with fault injection on? (Refuses every fault command otherwise.) */
  faultInjection(): Promise<boolean>;
  /** How to turn it on, for the refusal message. */
  readonly enableHint: string;
  nodes(): Promise<FaultNode[]>;
  /** One node's fault endpoint. */
  inject(node: FaultNode, action: FaultAction): Promise<FaultState>;
  faults(node: FaultNode): Promise<FaultState>;
  /** SIGKILL (or its nearest equivalent); resolves to what happened and how it comes back. */
  kill(node: FaultNode): Promise<string>;
  pause(node: FaultNode): Promise<string>;
  resume(node: FaultNode): Promise<string>;
  wipe(node: FaultNode): Promise<string>;
  /** What `status` shows of a node besides its /status (pid and process state, pod phase). */
  process(node: FaultNode): Promise<string>;
  /** The command prefix to print in undo hints ("deno task fault" plus --kube flags). */
  readonly command: string;
}

/** POST/GET /admin/faults with the admin token; a 403 faults_disabled becomes a FaultRefused. */
export async function faultCall(
  url: string,
  token: string,
  label: string,
  action?: FaultAction,
): Promise<FaultState> {
  let r: Response;
  try {
    r = await fetch(`${url}/admin/faults`, {
      method: action ? "POST" : "GET",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: action ? JSON.stringify(action) : undefined,
      signal: AbortSignal.timeout(3000),
    });
  } catch (e) {
    throw new Error(`${label} at ${url} does not answer (${(e as Error).message})`);
  }
  const body = await r.json().catch(() => ({})) as FaultState & { error?: string; message?: string };
  if (r.status === 403 && JSON.stringify(body).includes("faults_disabled")) {
    throw new FaultRefused(`${label} runs without fault injection`);
  }
  if (!r.ok) throw new Error(`${label}: ${r.status} ${body.message ?? body.error ?? JSON.stringify(body)}`);
  return body;
}
