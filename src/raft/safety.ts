/**
 * The two unsafe baselines, each one small deviation behind one guard. Everything mode-dependent
 * in the core asks one of these functions, so `safe` can never pick up an unsafe behaviour by
 * accident: every guard is false for "safe".
 *
 * - unsafe-early-vote: a new member becomes a voter at once (no learner stage). Candidates count
 *   its vote immediately, while the leader keeps committing with the old majority until the new
 *   member has caught up. Election quorums and commit quorums stop intersecting.
 * - unsafe-no-joint: a multi-member change goes straight from C_old to C_new, and nodes may adopt
 *   C_new out of band, one by one (as if each polled the desired replica count), with no joint phase.
 */
import type { SafetyMode } from "./types.ts";
import { SAFETY_MODES } from "./types.ts";

export function parseSafetyMode(value: string): SafetyMode {
  if ((SAFETY_MODES as readonly string[]).includes(value)) return value as SafetyMode;
  throw new Error(`unknown safety mode "${value}": expected one of ${SAFETY_MODES.join(", ")}`);
}

/** A simple (non-joint) change may alter more than one voter. */
export function allowsDirectMultiVoterChange(mode: SafetyMode): boolean {
  return mode === "unsafe-early-vote" || mode === "unsafe-no-joint";
}

/**
 * A node may become a voter without having been a learner first. In `safe` mode a new member
 * always goes through the learner stage (it catches up without counting), so adding a voter that
 * is not a learner is refused.
 */
export function allowsVoterWithoutLearnerStage(mode: SafetyMode): boolean {
  return mode === "unsafe-early-vote" || mode === "unsafe-no-joint";
}

/** Voters added by a simple change do not count toward commits until they catch up. */
export function countsNewVotersLate(mode: SafetyMode): boolean {
  return mode === "unsafe-early-vote";
}

/**
 * A member that joins with empty storage may vote at once (no learner stage), so the shell's
 * lost-storage quarantine, which waits for the learner stage, must not hold it back.
 */
export function skipsLearnerStage(mode: SafetyMode): boolean {
  return mode === "unsafe-early-vote";
}

/** A node may replace its configuration from outside the log (`adoptConfigUnsafe`). */
export function allowsOutOfLogConfig(mode: SafetyMode): boolean {
  return mode === "unsafe-no-joint";
}
