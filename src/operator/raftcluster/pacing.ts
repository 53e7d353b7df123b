/**
 * How fast the cluster may move toward spec.replicas (pure): `reconfig.maxParallel` members added or
 * removed per membership change (3 -> 5 with 1 goes 3 -> 4 -> 5, each through the whole workflow),
 * and `reconfig.rateLimit` membership changes started per period once the cluster has formed (its
 * first growth to the size it was created with is not held back). The planner is handed the size of
 * the next change as its desired size; while a change is in flight it is handed that change's own
 * target, so a spec change made meanwhile is queued, never interleaved (nor does it abort the change).
 * The re-add that completes the replacement of a member that lost its storage is not rate limited.
 */
import type { ReconfigStatus } from "../../reconfig/types.ts";
import type { ResolvedSpec } from "./spec.ts";
import type { ReconfigRecord } from "./types.ts";

export interface PacingInput {
  spec: Pick<ResolvedSpec, "replicas" | "reconfig">;
  planner: ReconfigStatus;
  /** Finished membership changes, oldest first. */
  history: ReconfigRecord[];
  /** When the cluster first reached its size; absent while it is being created. */
  formedAt?: string;
  now: Date;
}

export interface Pacing {
  /** The desired size to hand the planner now. */
  desired: number;
  /** The rate limit holds the next change back until then. */
  heldUntil?: Date;
  /** Why the desired size differs from spec.replicas, if it does. */
  message?: string;
}

export function pace({ spec, planner, history, formedAt, now }: PacingInput): Pacing {
  const current = planner.members.length;
  if (planner.phase !== "Idle") {
    const target = planner.targetVoters.length || spec.replicas;
    return target === spec.replicas ? { desired: target } : {
      desired: target,
      message: `spec.replicas ${spec.replicas} is queued until the change to ${target} voters finishes`,
    };
  }
  if (current === 0 || spec.replicas === current) return { desired: spec.replicas };
  const limit = spec.reconfig.rateLimit;
  // Re-adding a member that lost its storage restores the size the user asked for: not held back.
  const replacing = (planner.replacing?.length ?? 0) > 0;
  if (limit && formedAt && !replacing) {
    const windowStart = now.getTime() - limit.periodMs;
    const formed = Date.parse(formedAt);
    const starts = history.map((r) => Date.parse(r.startedAt)).filter((t) => t > windowStart && t >= formed);
    if (starts.length >= limit.count) {
      const heldUntil = new Date(Math.min(...starts) + limit.periodMs);
      return {
        desired: current,
        heldUntil,
        message:
          `reconfig.rateLimit ${limit.text}: the change to ${spec.replicas} voters may start at ${heldUntil.toISOString()}`,
      };
    }
  }
  const stepSize = Math.min(spec.reconfig.maxParallel, Math.abs(spec.replicas - current));
  const desired = spec.replicas > current ? current + stepSize : current - stepSize;
  return desired === spec.replicas ? { desired } : {
    desired,
    message:
      `reconfig.maxParallel ${spec.reconfig.maxParallel}: ${current} -> ${desired} first, then on to ${spec.replicas}`,
  };
}
