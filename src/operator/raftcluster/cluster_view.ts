/**
 * What the operator sees of one RaftCluster before planning: per slot (StatefulSet ordinal) its pod,
 * its claim and what the node said about itself (GET /status at its pod IP). A slot counts as present
 * while its pod or its claim exists: a removed member is gone only once its storage is gone too, so a
 * new member can never be started on a removed member's claim.
 */
import type { NodeStatusDocument } from "../../reconfig/observe.ts";
import type { Observation } from "../../reconfig/types.ts";
import { fetchNodeStatus } from "../../client/mod.ts";
import type { PodFacts } from "./cluster_api.ts";
import { clusterId, type ClusterRef, podUrl, slotOfClaim, slotOfPod } from "./names.ts";

/** A node's /status answer: what the planner reads, plus what the executor needs. */
export interface NodeReport extends NodeStatusDocument {
  clusterId?: string;
  /** Where it says its peers and clients reach it (its advertised, stable addresses). */
  peer?: string;
  client?: string;
  /** Its storage incarnation, handed to the leader when it is added as a learner. */
  incarnation?: string;
}

export interface SlotFacts {
  slot: number;
  pod?: string;
  /** `http://<pod IP>:8080`, when the pod has an IP. */
  url?: string;
  report?: NodeReport;
  hasClaim: boolean;
  /** The pod's Ready condition. */
  ready?: boolean;
  /** The pod is being deleted. */
  terminating?: boolean;
  /** The StatefulSet revision the pod was created from. */
  revision?: string;
}

export interface ClusterView {
  slots: Map<number, SlotFacts>;
  /** The StatefulSet's spec.replicas. */
  replicas: number;
  /** The slot of the node that answered as leader (of the highest term), if any. */
  leaderSlot?: number;
}

/** Joins pods, claims and reports into slots (pure). */
export function buildView(
  ref: ClusterRef,
  input: {
    pods: PodFacts[];
    claims: string[];
    reports: Map<string, NodeReport>;
    replicas: number;
    tls?: boolean;
  },
): ClusterView {
  const slots = new Map<number, SlotFacts>();
  const at = (slot: number) => {
    let facts = slots.get(slot);
    if (!facts) slots.set(slot, facts = { slot, hasClaim: false });
    return facts;
  };
  for (const pod of input.pods) {
    const slot = slotOfPod(ref, pod.name);
    if (slot === undefined) continue;
    const facts = at(slot);
    facts.pod = pod.name;
    facts.ready = pod.ready;
    facts.terminating = pod.terminating;
    if (pod.revision) facts.revision = pod.revision;
    if (pod.ip) facts.url = podUrl(pod.ip, input.tls);
    const report = input.reports.get(pod.name);
    // An address reused by another cluster's pod is not this node.
    if (report?.clusterId === clusterId(ref)) facts.report = report;
  }
  for (const claim of input.claims) {
    const slot = slotOfClaim(ref, claim);
    if (slot !== undefined) at(slot).hasClaim = true;
  }
  let leaderSlot: number | undefined;
  let leaderTerm = -1;
  for (const facts of slots.values()) {
    const r = facts.report;
    if (r?.role === "leader" && (r.term ?? 0) > leaderTerm) {
      leaderTerm = r.term ?? 0;
      leaderSlot = facts.slot;
    }
  }
  return { slots, replicas: input.replicas, ...(leaderSlot === undefined ? {} : { leaderSlot }) };
}

/** The planner's input: per present slot, the node's /status or undefined when it did not answer. */
export function statusesBySlot(view: ClusterView): Record<string, NodeStatusDocument | undefined> {
  const out: Record<string, NodeStatusDocument | undefined> = {};
  for (const [slot, facts] of view.slots) out[String(slot)] = facts.report;
  return out;
}

/** GET /status of one node, or undefined if it does not answer within the timeout. */
export function fetchReport(url: string, timeoutMs = 1_000): Promise<NodeReport | undefined> {
  return fetchNodeStatus<NodeReport>(url, timeoutMs);
}

/** GET /status through `fetch` (the operator's TLS pod client), or undefined. */
export async function fetchReportWith(
  fetch: (url: string, init?: { signal?: AbortSignal }) => Promise<Response>,
  url: string,
  timeoutMs = 2_000,
): Promise<NodeReport | undefined> {
  try {
    const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    return await response.json() as NodeReport;
  } catch {
    return undefined;
  }
}

/**
 * A node that answers as leader with a configuration older than one already produced or seen was
 * deposed (it has not heard yet): planning from its view could undo a newer change, so the step
 * plans as if no leader answered (and waits). Clears `view.leaderSlot` too.
 */
export function withoutDeposedLeader(
  view: ClusterView,
  observed: Observation,
  knownConfIndex: number,
): { observed: Observation; ignored?: string } {
  const leader = observed.leader;
  if (!leader || leader.confIndex >= knownConfIndex) return { observed };
  view.leaderSlot = undefined;
  return {
    observed: { nodes: observed.nodes },
    ignored: `node ${leader.id} answers as leader with configuration ${leader.confIndex}, older than ` +
      `${knownConfIndex}: ignoring a deposed leader`,
  };
}
