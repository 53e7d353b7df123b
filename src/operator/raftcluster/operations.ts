/**
 * How a planner action becomes Kubernetes and admin-API operations (pure): the Kubernetes
 * counterpart of the local supervisor's execute(). Pods are slots of a StatefulSet, so starting
 * members raises its replicas and stopping members lowers them (a StatefulSet always removes its
 * highest ordinals, and so does the planner); every admin call goes to a pod at its pod IP, the
 * membership changes to the leader's pod.
 */
import type { LearnerSpec, MemberAddress, NodeIdentity } from "../../client/mod.ts";
import type { Action, ReconfigStatus } from "../../reconfig/types.ts";
import type { ClusterView, SlotFacts } from "./cluster_view.ts";
import { claimName, clusterId, type ClusterRef, podName } from "./names.ts";

export type Operation =
  | { kind: "scale"; replicas: number }
  | { kind: "setIdentity"; pod: string; url: string; identity: NodeIdentity }
  | { kind: "addLearner"; leaderUrl: string; learner: LearnerSpec }
  | { kind: "enterJoint"; leaderUrl: string; voters: number[] }
  | { kind: "transferLeader"; leaderUrl: string; to: number }
  | { kind: "leaveJoint"; leaderUrl: string }
  | { kind: "removeLearner"; leaderUrl: string; id: number }
  | { kind: "deleteClaim"; claim: string }
  | { kind: "deletePod"; pod: string }
  | { kind: "votersDirect"; leaderUrl: string; voters: number[]; members: Record<number, MemberAddress> }
  | { kind: "adoptConfig"; pod: string; url: string; voters: number[] };

export interface OperationPlan {
  operations: Operation[];
  /** What has to happen (outside the operator's hands) before the action can be completed. */
  waitingFor: string[];
}

/** The action cannot be carried out as planned; the message says why and what would fix it. */
export class ActionError extends Error {
  override name = "ActionError";
}

export interface OperationsInput {
  ref: ClusterRef;
  view: ClusterView;
  /** The status the action was planned with (already persisted). */
  status: ReconfigStatus;
  action: Action;
}

export function operationsFor({ ref, view, status, action }: OperationsInput): OperationPlan {
  const operations: Operation[] = [];
  const waitingFor: string[] = [];
  const slot = (n: number): SlotFacts => view.slots.get(n) ?? { slot: n, hasClaim: false };
  const leaderUrl = (): string => {
    const url = view.leaderSlot === undefined ? undefined : slot(view.leaderSlot).url;
    if (!url) throw new ActionError(`${action.kind}: no leader answered; planning again`);
    return url;
  };
  /** The member's pod, which must run it already. */
  const runningNode = (member: { slot: number; id: number }) => {
    const facts = slot(member.slot);
    const report = facts.report;
    if (!facts.url || report?.initialized !== true || report.id !== member.id) {
      throw new ActionError(
        `${action.kind}: pod ${podName(ref, member.slot)} does not run node ${member.id} yet`,
      );
    }
    return { url: facts.url, report };
  };

  switch (action.kind) {
    case "none":
    case "wait":
      break;

    case "startMembers": {
      const top = Math.max(...action.members.map((m) => m.slot)) + 1;
      if (view.replicas < top) operations.push({ kind: "scale", replicas: top });
      for (const member of action.members) {
        const facts = slot(member.slot);
        const pod = podName(ref, member.slot);
        const report = facts.report;
        if (!facts.url || !report) {
          waitingFor.push(`pod ${pod} to answer`);
        } else if (report.initialized !== true) {
          operations.push({
            kind: "setIdentity",
            pod,
            url: facts.url,
            identity: { id: member.id, clusterId: clusterId(ref), bootstrap: action.bootstrap },
          });
        } else if (report.id !== member.id) {
          throw new ActionError(
            `pod ${pod} already is node ${report.id}, but slot ${member.slot} was planned for node ${member.id}: ` +
              `its claim ${
                claimName(ref, member.slot)
              } belongs to an earlier member; delete that claim and ` +
              `the pod to start the slot afresh`,
          );
        }
      }
      break;
    }

    case "addLearners":
      for (const member of action.members) {
        const { report } = runningNode(member);
        if (!report.peer || !report.client) {
          throw new ActionError(
            `addLearners: node ${member.id} does not report its peer and client addresses`,
          );
        }
        operations.push({
          kind: "addLearner",
          leaderUrl: leaderUrl(),
          learner: {
            id: member.id,
            peer: report.peer,
            client: report.client,
            ...(report.incarnation ? { incarnation: report.incarnation } : {}),
          },
        });
      }
      break;

    case "enterJoint":
      operations.push({ kind: "enterJoint", leaderUrl: leaderUrl(), voters: action.voters });
      break;

    case "transferLeader":
      operations.push({ kind: "transferLeader", leaderUrl: leaderUrl(), to: action.to });
      break;

    case "leaveJoint":
      operations.push({ kind: "leaveJoint", leaderUrl: leaderUrl() });
      break;

    case "removeLearners":
      for (const id of action.ids) operations.push({ kind: "removeLearner", leaderUrl: leaderUrl(), id });
      break;

    case "stopMembers": {
      if (status.phase === "AbortLearners" && view.leaderSlot === undefined) {
        // Without a leader nobody can say the learners are out of the configuration: deleting their
        // claims now could leave a member in the configuration with no storage (a ghost).
        throw new ActionError(
          `stopMembers: no leader answers, so nothing shows that learners ${
            action.members.map((m) => m.id).join(", ")
          } left the configuration; their claims are kept until a leader says so`,
        );
      }
      // A member being stopped may sit below staying members (a hole: the slot of a member replaced
      // after it lost its storage). A StatefulSet cannot remove that ordinal, so that member's own
      // storage is wiped instead (its claim and pod go, the pod comes back empty) and the grow path
      // refills the slot under a new id; a staying member's pod is never touched. A hole whose pod
      // already runs empty has nothing left to stop.
      const stayingTop = Math.max(
        -1,
        ...status.members.filter((m) => !action.members.some((x) => x.id === m.id)).map((m) => m.slot),
      );
      const holes = action.members.filter((m) => m.slot < stayingTop);
      for (const member of holes) {
        const facts = slot(member.slot);
        if (isEmptyPod(facts)) continue;
        if (facts.hasClaim) operations.push({ kind: "deleteClaim", claim: claimName(ref, member.slot) });
        if (facts.pod) operations.push({ kind: "deletePod", pod: podName(ref, member.slot) });
        waitingFor.push(`pod ${podName(ref, member.slot)} to come back empty`);
      }
      const tops = action.members.filter((m) => !holes.includes(m));
      if (!tops.length) break;
      const lowest = Math.min(...tops.map((m) => m.slot));
      const stopping = new Set(action.members.map((m) => m.id));
      const blocking = status.members.filter((m) => !stopping.has(m.id) && m.slot >= lowest);
      if (blocking.length) {
        throw new ActionError(
          `cannot stop slot ${lowest} while slot ${blocking[0].slot} (node ${blocking[0].id}) stays: ` +
            `a StatefulSet only removes its highest ordinals`,
        );
      }
      if (view.replicas > lowest) operations.push({ kind: "scale", replicas: lowest });
      for (const member of tops) {
        if (slot(member.slot).hasClaim) {
          operations.push({ kind: "deleteClaim", claim: claimName(ref, member.slot) });
        }
        if (slot(member.slot).pod) waitingFor.push(`pod ${podName(ref, member.slot)} to stop`);
      }
      break;
    }

    case "changeVotersDirectly": {
      const members: Record<number, MemberAddress> = {};
      for (const facts of view.slots.values()) {
        const r = facts.report;
        if (r?.id !== undefined && action.voters.includes(r.id) && r.peer && r.client) {
          members[r.id] = { peer: r.peer, client: r.client };
        }
      }
      operations.push({ kind: "votersDirect", leaderUrl: leaderUrl(), voters: action.voters, members });
      break;
    }

    case "adoptConfig": {
      const { url } = runningNode(action.member);
      operations.push({
        kind: "adoptConfig",
        pod: podName(ref, action.member.slot),
        url,
        voters: action.voters,
      });
      break;
    }
  }
  return { operations, waitingFor };
}

/** A pod that answers with no identity: whatever member its slot had, its storage holds none of it. */
export function isEmptyPod(facts: SlotFacts | undefined): boolean {
  return facts?.report !== undefined && facts.report.initialized !== true && facts.report.id === undefined;
}

/** One line per operation, for logs and Events. */
export function describeOperation(op: Operation): string {
  switch (op.kind) {
    case "scale":
      return `StatefulSet replicas -> ${op.replicas}`;
    case "setIdentity":
      return `pod ${op.pod} becomes node ${op.identity.id}${
        op.identity.bootstrap ? " (bootstraps the cluster)" : ""
      }`;
    case "addLearner":
      return `add node ${op.learner.id} as a learner`;
    case "enterJoint":
      return `enter the joint configuration toward voters [${op.voters}]`;
    case "transferLeader":
      return `transfer leadership to node ${op.to}`;
    case "leaveJoint":
      return "leave the joint configuration";
    case "removeLearner":
      return `remove learner ${op.id}`;
    case "deleteClaim":
      return `delete claim ${op.claim}`;
    case "deletePod":
      return `delete pod ${op.pod} (the StatefulSet recreates it)`;
    case "votersDirect":
      return `UNSAFE: switch voters straight to [${op.voters}]`;
    case "adoptConfig":
      return `UNSAFE: pod ${op.pod} adopts voters [${op.voters}] outside the log`;
  }
}
