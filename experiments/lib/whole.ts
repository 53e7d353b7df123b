/**
 * Is a local raft-kv cluster whole, as a user would check it: the leader's configuration has the
 * desired number of voters and no joint part, and every voter answers /status and is not
 * quarantined (a node back with an empty disk is quarantined until it is replaced).
 */
import type { ExperimentCluster } from "./cluster_harness.ts";

export async function wholeCluster(c: ExperimentCluster): Promise<{ whole: boolean; why: string }> {
  const leader = await c.leader().catch(() => undefined);
  if (leader === undefined) return { whole: false, why: "no leader" };
  const s = await c.status(leader);
  const conf = s?.conf as { voters: number[]; votersOutgoing: number[] } | undefined;
  if (!conf) return { whole: false, why: "the leader's status has no configuration" };
  if (conf.votersOutgoing.length) return { whole: false, why: "a joint configuration is in progress" };
  const desired = c.sup.state.desiredReplicas;
  if (conf.voters.length !== desired) {
    return { whole: false, why: `${conf.voters.length} voters [${conf.voters}], ${desired} desired` };
  }
  for (const id of conf.voters) {
    const known = c.nodes.some((n) => n.id === id);
    const v = known ? await c.status(id) : undefined;
    if (!v) return { whole: false, why: `voter ${id} does not answer` };
    if (v.quarantined) {
      return { whole: false, why: `voter ${id} is quarantined (came back with empty storage)` };
    }
  }
  return { whole: true, why: "" };
}
