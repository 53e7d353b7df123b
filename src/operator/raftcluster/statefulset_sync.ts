/**
 * What the StatefulSet should look like at this step (pure): how many ordinals the planner's members
 * need, whether its pod template is the one built from the current spec (compared by a hash the
 * operator writes beside it: the API server fills in defaults, so the objects never compare equal),
 * and the next node id kept in an annotation. Drift of any of these is patched back at every step.
 */
import type * as k8s from "@kubernetes/client-node";
import { canonicalJson } from "../framework/mod.ts";
import type { ReconfigStatus } from "../../reconfig/types.ts";
import { NEXT_NODE_ID_ANNOTATION } from "./names.ts";

export const TEMPLATE_HASH_ANNOTATION = "storage.sys/template-hash";

/** FNV-1a (32 bits) of the canonical JSON: short, stable, enough to tell two templates apart. */
export function templateHash(template: k8s.V1PodTemplateSpec): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(canonicalJson(template))) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/**
 * The StatefulSet replicas the planner's state implies: every slot of a member, of a member being
 * added, and of a member being removed until the removal stops it. Undefined while members are being
 * stopped (the planner's own stopMembers action sets replicas then).
 */
export function expectedReplicas(planner: ReconfigStatus): number | undefined {
  if (planner.phase === "RemoveMembers" || planner.phase === "AbortLearners") return undefined;
  const slots = [...planner.members, ...planner.adding, ...planner.removing].map((m) => m.slot);
  return slots.length ? Math.max(...slots) + 1 : 0;
}

export interface StatefulSetRepair {
  /** A merge patch, or undefined when the StatefulSet is as it should be. */
  patch?: Record<string, unknown>;
  /** What was wrong, for the log and the Event. */
  drift: string[];
}

export function statefulSetRepair(
  current: k8s.V1StatefulSet,
  desired: k8s.V1StatefulSet,
  planner: ReconfigStatus,
  settled: boolean,
): StatefulSetRepair {
  const drift: string[] = [];
  const spec: Record<string, unknown> = {};
  const annotations: Record<string, string> = {};
  const hash = templateHash(desired.spec!.template);
  if (current.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION] !== hash) {
    drift.push("pod template");
    spec.template = desired.spec!.template;
    spec.updateStrategy = desired.spec!.updateStrategy;
    annotations[TEMPLATE_HASH_ANNOTATION] = hash;
  }
  const expected = expectedReplicas(planner);
  const replicas = current.spec?.replicas ?? 0;
  // Fewer pods than members is always repaired; more only once settled (a step may be starting one).
  if (expected !== undefined && (replicas < expected || (settled && replicas > expected))) {
    drift.push(`replicas ${replicas} (the members need ${expected})`);
    spec.replicas = expected;
  }
  const recordedNextId = Number(current.metadata?.annotations?.[NEXT_NODE_ID_ANNOTATION] ?? 0);
  if (!(recordedNextId >= planner.nextNodeId)) {
    annotations[NEXT_NODE_ID_ANNOTATION] = String(planner.nextNodeId);
  }
  const patch: Record<string, unknown> = {};
  if (Object.keys(spec).length) patch.spec = spec;
  if (Object.keys(annotations).length) patch.metadata = { annotations };
  return { ...(Object.keys(patch).length ? { patch } : {}), drift };
}

/** The next node id the StatefulSet's annotation has kept (0 when it has none). */
export function recordedNextNodeId(set: k8s.V1StatefulSet | undefined): number {
  const value = Number(set?.metadata?.annotations?.[NEXT_NODE_ID_ANNOTATION] ?? 0);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}
