/**
 * The StatefulSet side of replacing a member that lost its storage (the model itself is the
 * planner's, src/reconfig/replacement.ts). A StatefulSet keeps every ordinal below its replicas, so
 * the slot of a replaced member that sits below staying members never goes away: once its old id is
 * out of the configuration and its pod runs empty (no identity, fresh claim), the slot is shown to the
 * planner as stopped, and the planner's grow path refills it under a new id.
 */
import type { Observation, ReconfigStatus } from "../../reconfig/types.ts";
import type { ClusterView } from "./cluster_view.ts";
import { isEmptyPod } from "./operations.ts";

export function withoutEmptiedHoles(
  planner: ReconfigStatus,
  view: ClusterView,
  observed: Observation,
): Observation {
  if (planner.phase !== "RemoveMembers") return observed;
  const stayingTop = Math.max(-1, ...planner.members.map((m) => m.slot));
  const hidden = planner.removing.filter((m) => m.slot < stayingTop && isEmptyPod(view.slots.get(m.slot)));
  if (!hidden.length) return observed;
  const nodes = { ...observed.nodes };
  for (const m of hidden) delete nodes[String(m.slot)];
  return { ...observed, nodes };
}
