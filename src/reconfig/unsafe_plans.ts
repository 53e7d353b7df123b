/**
 * The two unsafe baselines as alternative plans, each the one deviation its name says:
 * - unsafe-early-vote: new members become voters at once (one simple change straight to the
 *   new voter set, no learner stage, no catch-up gate); shrinking removes voters the same way;
 * - unsafe-no-joint: learners are added and caught up as in safe mode, then every node is told
 *   the new voter set, one at a time, outside the log (as if each polled the desired size),
 *   with no joint configuration. For a while, C_old and C_new nodes coexist.
 * Neither plan transfers leadership before removing a member.
 */
import {
  addMissingLearners,
  bootstrap,
  bySlot,
  caughtUp,
  createCluster,
  ids,
  type PhaseContext,
  removeMembers,
  sameSet,
  startPending,
  type Step,
  wait,
} from "./phase_steps.ts";
import type { Member } from "./types.ts";
import { idleStep } from "./replacement.ts";

export function planUnsafe(ctx: PhaseContext): Step {
  const { status: s, leader, input } = ctx;
  const early = input.mode === "unsafe-early-vote";
  switch (s.phase) {
    case "Idle":
      if (s.members.length === 0) return createCluster(ctx);
      return early
        ? idleStep(ctx, "AddVotersDirectly", "RemoveVotersDirectly")
        : idleStep(ctx, "AddLearners", "AdoptConfigOneByOne");

    case "Bootstrap":
      return bootstrap(ctx);

    case "AddVotersDirectly": {
      const starting = startPending(ctx);
      if (starting) return starting;
      if (!leader) return wait(ctx, "no leader answers yet");
      if (sameSet(leader.voters, s.targetVoters)) {
        return {
          next: "Idle",
          message: `UNSAFE: ${ids(s.adding)} became voters at once`,
          patch: { members: [...s.members, ...s.adding].sort(bySlot), adding: [] },
        };
      }
      return {
        action: { kind: "changeVotersDirectly", voters: s.targetVoters },
        message: `UNSAFE: adding voters ${ids(s.adding)} directly, no learner stage`,
      };
    }

    case "RemoveVotersDirectly": {
      if (!leader) return wait(ctx, "no leader answers yet");
      if (sameSet(leader.voters, s.targetVoters)) {
        const removing = ids(s.removing);
        return {
          next: "RemoveMembers",
          message: `UNSAFE: voters ${removing} removed directly`,
          patch: { members: s.members.filter((m) => !removing.includes(m.id)) },
        };
      }
      return {
        action: { kind: "changeVotersDirectly", voters: s.targetVoters },
        message: `UNSAFE: removing voters ${ids(s.removing)} directly`,
      };
    }

    case "AddLearners":
    case "CatchUp": {
      const starting = startPending(ctx);
      if (starting) return starting;
      if (!leader) return wait(ctx, "no leader answers yet");
      const adding = addMissingLearners(ctx, leader);
      if (adding) return adding;
      if (s.adding.every((m) => caughtUp(ctx, leader, m.id))) {
        return { next: "AdoptConfigOneByOne", message: `learners ${ids(s.adding)} caught up` };
      }
      return { next: "CatchUp", message: `learners ${ids(s.adding)} catching up` };
    }

    case "AdoptConfigOneByOne": {
      // New members first, then the existing ones from the highest slot down: the leader (often
      // slot 0) learns last, which is exactly when C_old and C_new majorities can both act.
      const everyone: Member[] = [...s.adding, ...[...s.members].sort((a, b) => b.slot - a.slot)];
      const next = everyone.find((m) =>
        !sameSet(input.observed.nodes[String(m.slot)]?.voters ?? [], s.targetVoters)
      );
      if (next) {
        return {
          action: { kind: "adoptConfig", member: next, voters: s.targetVoters },
          message: `UNSAFE: node ${next.id} adopts voters [${s.targetVoters}] outside the log`,
        };
      }
      const removing = ids(s.removing);
      return {
        next: s.removing.length ? "RemoveMembers" : "Idle",
        message: `UNSAFE: every node adopted voters [${s.targetVoters}]`,
        patch: {
          members: [...s.members, ...s.adding].filter((m) => !removing.includes(m.id)).sort(bySlot),
          adding: [],
        },
      };
    }

    case "RemoveMembers":
      return removeMembers(ctx);

    default:
      return {
        next: "Idle",
        message: `phase ${s.phase} does not belong to ${input.mode}: starting over from Idle`,
      };
  }
}
