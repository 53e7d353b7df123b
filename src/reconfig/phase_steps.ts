/**
 * Building blocks shared by the safe plan and the unsafe baselines: the step type, and the
 * phases that are the same in every mode (resizing, settling, removing members).
 */
import type { NodeId } from "../raft/mod.ts";
import type {
  Action,
  LeaderObservation,
  Member,
  Phase,
  PlannerInput,
  PlannerTuning,
  ReconfigStatus,
} from "./types.ts";

export const ids = (members: Member[]) => members.map((m) => m.id);
export const sameSet = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x) => b.includes(x));
export const bySlot = (a: Member, b: Member) => a.slot - b.slot;

/**
 * One planning step inside a phase: an action to take now, or a move to another phase. A move
 * to the same phase records progress (the patch) and then waits.
 */
export type Step = { action: Action; message: string } | {
  next: Phase;
  message: string;
  patch?: Partial<ReconfigStatus>;
};

export interface PhaseContext {
  input: PlannerInput;
  status: ReconfigStatus;
  leader: LeaderObservation | undefined;
  tuning: PlannerTuning;
}

export function wait(ctx: PhaseContext, message: string): Step {
  return { action: { kind: "wait", afterMs: ctx.tuning.pollMs }, message };
}

export function isJoint(leader: LeaderObservation): boolean {
  return leader.votersOutgoing.length > 0;
}

/** Members whose node is not running with the expected identity yet. */
export function notStarted(ctx: PhaseContext, members: Member[]): Member[] {
  return members.filter((m) => {
    const n = ctx.input.observed.nodes[String(m.slot)];
    return !n?.reachable || !n.initialized || n.id !== m.id;
  });
}

export function caughtUp(ctx: PhaseContext, leader: LeaderObservation, id: NodeId): boolean {
  return (leader.match[String(id)] ?? 0) >= leader.lastIndex - ctx.tuning.maxLearnerLag;
}

/** Starts a change of size: new slots get fresh ids, a shrink removes the highest slots. */
export function beginResize(ctx: PhaseContext, grow: Phase, shrink: Phase): Step {
  const s = ctx.status;
  const desired = ctx.input.desiredReplicas;
  const current = s.members.length;
  if (desired > current) {
    const usedSlots = new Set(s.members.map((m) => m.slot));
    const adding: Member[] = [];
    let nextId = s.nextNodeId;
    for (let slot = 0; adding.length < desired - current; slot++) {
      if (!usedSlots.has(slot)) adding.push({ slot, id: nextId++ });
    }
    return {
      next: grow,
      message: `scaling ${current} -> ${desired}: adding ${
        adding.map((m) => `slot ${m.slot} as node ${m.id}`).join(", ")
      }`,
      patch: {
        adding,
        nextNodeId: nextId,
        targetVoters: [...ids(s.members), ...ids(adding)],
        catchUpStreak: 0,
      },
    };
  }
  if (desired < current) {
    const sorted = [...s.members].sort(bySlot);
    const removing = sorted.slice(desired);
    return {
      next: shrink,
      message: `scaling ${current} -> ${desired}: removing ${
        removing.map((m) => `node ${m.id} (slot ${m.slot})`).join(", ")
      }`,
      patch: { removing, targetVoters: ids(sorted.slice(0, desired)) },
    };
  }
  return { action: { kind: "none" }, message: `steady: ${current} voters [${ids(s.members)}]` };
}

/**
 * Done once every reachable member that stays has applied the configuration in force. A member
 * that is down does not block the change (it applies C_new from the log when it is back).
 */
export function settle(ctx: PhaseContext, leader: LeaderObservation): Step {
  const s = ctx.status;
  const removingIds = ids(s.removing);
  const staying = [...s.members, ...s.adding].filter((m) => !removingIds.includes(m.id));
  // A member that came back empty cannot apply anything until it is replaced: not a reason to wait.
  const lagging = staying.filter((m) => {
    const n = ctx.input.observed.nodes[String(m.slot)];
    return n?.reachable && !n.quarantined && ((n.confIndex ?? 0) < leader.confIndex || n.joint);
  });
  if (lagging.length) {
    return wait(
      ctx,
      `waiting for ${
        lagging.map((m) => `node ${m.id}`).join(", ")
      } to apply configuration ${leader.confIndex}`,
    );
  }
  return {
    next: s.removing.length ? "RemoveMembers" : "Idle",
    message: `configuration ${leader.confIndex} applied by every member: voters [${leader.voters}]`,
    patch: { members: staying.sort(bySlot), adding: [] },
  };
}

export function removeMembers(ctx: PhaseContext): Step {
  const present = ctx.status.removing.filter((m) => ctx.input.observed.nodes[String(m.slot)] !== undefined);
  if (present.length) {
    return {
      action: { kind: "stopMembers", members: present },
      message: `stopping removed members ${ids(present)}`,
    };
  }
  return {
    next: "Idle",
    message: "removed members stopped and their storage deleted",
    patch: { removing: [], targetVoters: [] },
  };
}

/** Idle with no members at all: the first node, in slot 0, starts a new cluster. */
export function createCluster(ctx: PhaseContext): Step {
  const first = { slot: 0, id: ctx.status.nextNodeId };
  return {
    next: "Bootstrap",
    message: `creating the cluster: node ${first.id} in slot 0 bootstraps it`,
    patch: { adding: [first], nextNodeId: first.id + 1, targetVoters: [first.id] },
  };
}

/** Bootstrap: start the first node, then wait until it leads its one-member cluster. */
export function bootstrap(ctx: PhaseContext): Step {
  const first = ctx.status.adding[0];
  if (ctx.leader?.voters.includes(first.id)) {
    return {
      next: "Idle",
      message: `node ${first.id} leads the new cluster`,
      patch: { members: [first], adding: [] },
    };
  }
  if (notStarted(ctx, [first]).length) {
    return {
      action: { kind: "startMembers", members: [first], bootstrap: true },
      message: `starting node ${first.id}`,
    };
  }
  return wait(ctx, `node ${first.id} is starting its cluster`);
}

/** The members being added whose node is not running yet, as a step that starts them. */
export function startPending(ctx: PhaseContext): Step | undefined {
  const pending = notStarted(ctx, ctx.status.adding);
  if (!pending.length) return undefined;
  return {
    action: { kind: "startMembers", members: pending, bootstrap: false },
    message: `starting ${pending.map((m) => `node ${m.id} (slot ${m.slot})`).join(", ")}`,
  };
}

/** The members being added that the leader does not know yet, as a step that adds them as learners. */
export function addMissingLearners(ctx: PhaseContext, leader: LeaderObservation): Step | undefined {
  const missing = ctx.status.adding.filter((m) =>
    !leader.learners.includes(m.id) && !leader.voters.includes(m.id)
  );
  if (!missing.length) return undefined;
  return { action: { kind: "addLearners", members: missing }, message: `adding learners ${ids(missing)}` };
}
