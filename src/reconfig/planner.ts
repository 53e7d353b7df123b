/**
 * The reconfiguration planner: a pure function from (desired size, observed cluster, persisted
 * status) to (new status, next action). Executors persist the new status *before* acting, and
 * every action is idempotent, so a crashed executor re-plans from what it persisted plus what it
 * observes and carries on exactly where it stopped.
 *
 * The safe path for growing and shrinking:
 *
 *   AddLearners -> CatchUp -> EnterJoint -> [TransferLeader] -> CommitNew -> LeaveJoint -> RemoveMembers
 *
 * - new members join as learners and are promoted only after they have kept up with the
 *   leader for several checks in a row (durably: the leader's match index);
 * - C_old,new is entered only if a majority of C_old is active and the new voters are caught
 *   up (a joint-aware health gate), and it is always left explicitly;
 * - a leader that is being removed hands leadership to the most caught-up remaining voter while
 *   still inside the joint configuration;
 * - LeaveJoint waits until every remaining member has applied C_new, and only then are the
 *   removed members stopped and their storage deleted;
 * - a scale-up can be aborted (learners removed) until the joint configuration is entered.
 *
 * A member that comes back with empty storage is replaced on the same paths: removed through
 * joint consensus, then its slot re-added under a new id (replacement.ts).
 *
 * Each phase either produces an action or moves to the next phase and plans again at once, so
 * a status persisted in any phase is resumed correctly whatever the live configuration shows.
 */
import {
  DEFAULT_TUNING,
  type Phase,
  type PlannerDecision,
  type PlannerInput,
  type PlannerTuning,
  type ReconfigStatus,
} from "./types.ts";
import {
  addMissingLearners,
  bootstrap,
  caughtUp,
  createCluster,
  ids,
  isJoint,
  type PhaseContext,
  removeMembers,
  sameSet,
  settle,
  startPending,
  type Step,
  wait,
} from "./phase_steps.ts";
import { planUnsafe } from "./unsafe_plans.ts";
import { idleStep } from "./replacement.ts";

function safeStep(ctx: PhaseContext): Step {
  const { status: s, leader, input } = ctx;
  const removingIds = ids(s.removing);
  switch (s.phase) {
    case "Idle":
      if (s.members.length === 0) return createCluster(ctx);
      return idleStep(ctx, "AddLearners", "EnterJoint");

    case "Bootstrap":
      return bootstrap(ctx);

    case "AddLearners":
    case "CatchUp": {
      if (input.desiredReplicas !== s.members.length + s.adding.length) {
        return {
          next: "AbortLearners",
          message: `desired size changed to ${input.desiredReplicas} before promotion: aborting`,
        };
      }
      const starting = startPending(ctx);
      if (starting) return starting;
      if (!leader) return wait(ctx, "no leader answers yet");
      const adding = addMissingLearners(ctx, leader);
      if (adding) return adding;
      if (s.phase === "AddLearners") {
        return { next: "CatchUp", message: `learners ${ids(s.adding)} added`, patch: { catchUpStreak: 0 } };
      }
      const behind = s.adding.filter((m) => !caughtUp(ctx, leader, m.id));
      const streak = behind.length ? 0 : s.catchUpStreak + 1;
      if (streak >= ctx.tuning.catchUpChecks) {
        return {
          next: "EnterJoint",
          message: `learners ${ids(s.adding)} kept up for ${streak} checks`,
          patch: { catchUpStreak: streak },
        };
      }
      const lag = s.adding.map((m) => `${m.id}: ${leader.match[String(m.id)] ?? 0}/${leader.lastIndex}`).join(
        ", ",
      );
      return {
        next: "CatchUp",
        message: behind.length
          ? `learners catching up (${lag})`
          : `learners caught up, check ${streak}/${ctx.tuning.catchUpChecks}`,
        patch: { catchUpStreak: streak },
      };
    }

    case "EnterJoint": {
      if (!leader) return wait(ctx, "no leader answers yet");
      const target = s.targetVoters;
      if (isJoint(leader)) {
        if (sameSet(leader.voters, target)) {
          return removingIds.includes(leader.id)
            ? {
              next: "TransferLeader",
              message: `joint configuration ${leader.confIndex} in force; the leader is leaving`,
            }
            : { next: "CommitNew", message: `joint configuration ${leader.confIndex} in force` };
        }
        return {
          action: { kind: "leaveJoint" },
          message: `another joint configuration is in force (toward [${leader.voters}]): finishing it first`,
        };
      }
      if (sameSet(leader.voters, target)) {
        return { next: "LeaveJoint", message: `voters already [${target}]` };
      }
      const activeOld = leader.voters.filter((id) => id === leader.id || leader.active[String(id)]).length;
      if (activeOld * 2 <= leader.voters.length) {
        return wait(
          ctx,
          `health gate: only ${activeOld} of ${leader.voters.length} current voters are active`,
        );
      }
      const readyNew = target.filter((id) =>
        id === leader.id || (leader.active[String(id)] && caughtUp(ctx, leader, id))
      );
      if (readyNew.length * 2 <= target.length) {
        return wait(
          ctx,
          `health gate: only ${readyNew.length} of ${target.length} new voters are active and caught up`,
        );
      }
      return {
        action: { kind: "enterJoint", voters: target },
        message: `entering joint configuration [${target}] && [${leader.voters}]`,
      };
    }

    case "TransferLeader": {
      if (!leader) return wait(ctx, "no leader answers yet");
      if (!removingIds.includes(leader.id)) {
        return { next: "CommitNew", message: `leader ${leader.id} stays` };
      }
      const candidates = s.targetVoters.filter((id) => leader.active[String(id)]);
      if (!candidates.length) return wait(ctx, "no remaining voter is active to take over leadership");
      const to =
        candidates.sort((a, b) =>
          (leader.match[String(b)] ?? 0) - (leader.match[String(a)] ?? 0) || a - b
        )[0];
      return {
        action: { kind: "transferLeader", to },
        message: `moving leadership from ${leader.id} to ${to} before ${leader.id} leaves`,
      };
    }

    case "CommitNew": {
      if (!leader) return wait(ctx, "no leader answers yet");
      const target = s.targetVoters;
      if (!isJoint(leader)) {
        return sameSet(leader.voters, target)
          ? { next: "LeaveJoint", message: `C_new [${target}] committed at ${leader.confIndex}` }
          : {
            next: "EnterJoint",
            message: `voters are [${leader.voters}], not [${target}]: entering joint again`,
          };
      }
      if (removingIds.includes(leader.id)) {
        return { next: "TransferLeader", message: `leader ${leader.id} is leaving` };
      }
      return { action: { kind: "leaveJoint" }, message: `committing C_new [${target}]` };
    }

    case "LeaveJoint":
      if (!leader) return wait(ctx, "no leader answers yet");
      return settle(ctx, leader);

    case "RemoveMembers":
      return removeMembers(ctx);

    case "AbortLearners": {
      const added = leader ? s.adding.filter((m) => leader.learners.includes(m.id)) : [];
      if (added.length) {
        return {
          action: { kind: "removeLearners", ids: ids(added) },
          message: `removing learners ${ids(added)}`,
        };
      }
      const present = s.adding.filter((m) => input.observed.nodes[String(m.slot)] !== undefined);
      if (present.length) {
        return {
          action: { kind: "stopMembers", members: present },
          message: `stopping aborted members ${ids(present)}`,
        };
      }
      return {
        next: "Idle",
        message: "aborted scale-up cleaned up",
        patch: { adding: [], targetVoters: [] },
      };
    }

    default:
      return {
        next: "Idle",
        message: `phase ${s.phase} does not belong to safe mode: starting over from Idle`,
      };
  }
}

export function planNextStep(input: PlannerInput, tuning: PlannerTuning = DEFAULT_TUNING): PlannerDecision {
  if (!Number.isSafeInteger(input.desiredReplicas) || input.desiredReplicas < 1) {
    return {
      status: {
        ...input.status,
        message: `desired replicas must be a positive integer, got ${input.desiredReplicas}`,
      },
      action: { kind: "none" },
      trail: [input.status.phase],
    };
  }
  let status: ReconfigStatus = structuredClone(input.status);
  const leader = input.observed.leader;
  if (leader) status.confIndex = Math.max(status.confIndex, leader.confIndex);
  const stepOf = input.mode === "safe" ? safeStep : planUnsafe;
  const trail: Phase[] = [status.phase];
  const messages: string[] = [];
  // Phase moves happen in memory; a few in a row is normal (resuming), a loop is a bug.
  for (let hops = 0; hops < 12; hops++) {
    const step = stepOf({ input, status, leader, tuning });
    messages.push(step.message);
    if ("action" in step) {
      return { status: { ...status, message: step.message }, action: step.action, trail, messages };
    }
    const samePhase = step.next === status.phase;
    status = { ...status, ...step.patch, phase: step.next, message: step.message };
    if (samePhase) return { status, action: { kind: "wait", afterMs: tuning.pollMs }, trail, messages };
    trail.push(step.next);
  }
  return {
    status: { ...status, message: `planner loop in phase ${status.phase}: please report this` },
    action: { kind: "wait", afterMs: tuning.pollMs },
    trail,
    messages,
  };
}
