/** Test fixtures: a cluster `kv` in namespace `ns` whose pods sit at 127.9.0.<slot + 1>. */
import { buildView, type ClusterView, type NodeReport } from "./cluster_view.ts";
import { clusterId, type ClusterRef } from "./names.ts";

export const ref: ClusterRef = { name: "kv", namespace: "ns", uid: "feedbeef-0000" };
const ip = (slot: number) => `127.9.0.${slot + 1}`;
export const url = (slot: number) => `http://${ip(slot)}:8080`;

/** A node's /status: `id` undefined for a fresh node waiting for its identity. */
export function report(slot: number, id?: number, role = "follower", term = 2): NodeReport {
  const where = { peer: `kv-${slot}.kv-peers.ns.svc.cluster.local:7000`, client: `http://kv-${slot}:8080` };
  if (id === undefined) return { initialized: false, clusterId: clusterId(ref), ...where };
  return { initialized: true, clusterId: clusterId(ref), id, role, term, incarnation: `inc-${id}`, ...where };
}

/** Pods at slots with their reports (undefined: a pod that does not answer), plus claims-only slots. */
export function view(
  nodes: Record<number, NodeReport | undefined>,
  options: {
    replicas?: number;
    claimsOnly?: number[];
    noIp?: number[];
    notReady?: number[];
    terminating?: number[];
    /** Per slot, the StatefulSet revision its pod was created from. */
    revisions?: Record<number, string>;
  } = {},
): ClusterView {
  const slots = Object.keys(nodes).map(Number);
  const pods = slots.map((s) => ({
    name: `kv-${s}`,
    ...(options.noIp?.includes(s) ? {} : { ip: ip(s) }),
    terminating: options.terminating?.includes(s) ?? false,
    ready: nodes[s] !== undefined && !options.notReady?.includes(s),
    ...(options.revisions?.[s] ? { revision: options.revisions[s] } : {}),
  }));
  const reports = new Map<string, NodeReport>();
  for (const s of slots) if (nodes[s]) reports.set(`kv-${s}`, nodes[s]!);
  const claims = [...slots, ...(options.claimsOnly ?? [])].map((s) => `data-kv-${s}`);
  return buildView(ref, { pods, claims, reports, replicas: options.replicas ?? slots.length });
}
