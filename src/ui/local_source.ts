/** The live feed's source for a local cluster: members from the state file, planner from the supervisor. */
import type { ClusterSource } from "./live_feed.ts";
import type { ClusterSnapshot, PlannerView } from "./view_types.ts";
import type { ReconfigStatus } from "../reconfig/types.ts";
import type { LocalClusterLink } from "./local_cluster.ts";
import { readPlannerHistory } from "./planner_history.ts";

export class LocalClusterSource implements ClusterSource {
  readonly kind = "local";

  constructor(private readonly link: LocalClusterLink) {}

  async describe(): Promise<Omit<ClusterSnapshot, "at" | "source" | "leader" | "leaders">> {
    const fileState = await this.link.state();
    const live = await this.link.supervisor();
    // The supervisor's in-memory state is the freshest; the file is what it last wrote.
    const state = live?.state ?? fileState;
    const planner = plannerView(state.reconfig, {
      desiredReplicas: state.desiredReplicas,
      settled: live?.settled ?? false,
      supervisorUp: live !== undefined,
    });
    return {
      clusterId: state.clusterId,
      safetyMode: state.safetyMode,
      faultInjection: state.faultInjection,
      members: state.nodes.map((n) => ({
        id: n.id,
        slot: n.slot,
        clientUrl: n.clientUrl,
        process: n.state,
        pid: n.pid,
        restarts: n.restarts,
      })),
      planner,
      history: await readPlannerHistory(this.link.stateDir),
      error: live ? undefined : "the local supervisor does not answer (stopped or crashed?)",
    };
  }
}

/** What the page shows of the planner's persisted status (the supervisor's, or the operator's). */
export function plannerView(
  r: ReconfigStatus,
  o: { desiredReplicas: number; settled: boolean; supervisorUp: boolean },
): PlannerView {
  return {
    phase: r.phase,
    message: r.message,
    adding: r.adding,
    removing: r.removing,
    targetVoters: r.targetVoters,
    catchUpStreak: r.catchUpStreak,
    confIndex: r.confIndex,
    ...o,
  };
}
