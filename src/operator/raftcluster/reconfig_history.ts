/**
 * Follows one membership change from the planner's decisions (pure): when it started, the step it is
 * in and how often that step's action was issued, the last error, how long each step took, and, once
 * the planner is back to Idle, a record in status.history.
 */
import type { Phase, PlannerDecision, ReconfigStatus } from "../../reconfig/types.ts";
import { HISTORY_LENGTH, type ReconfigProgress, type ReconfigRecord, type StepRecord } from "./types.ts";

export interface TrackInput {
  /** The planner state the decision was made from, and the change in flight then. */
  before: ReconfigStatus;
  inFlight?: ReconfigProgress;
  history: ReconfigRecord[];
  decision: PlannerDecision;
  now: Date;
}

export interface Tracked {
  inFlight?: ReconfigProgress;
  history: ReconfigRecord[];
  /** Set on the decision that finished a change. */
  finished?: ReconfigRecord;
  /** Set on the decision that started one. */
  started?: ReconfigProgress;
}

const seconds = (from: string, to: Date) =>
  Math.max(0, Math.round((to.getTime() - Date.parse(from)) / 100) / 10);

export function trackReconfig({ before, inFlight, history, decision, now }: TrackInput): Tracked {
  const at = now.toISOString();
  const after = decision.status;
  let current = inFlight ? structuredClone(inFlight) : undefined;
  let started: ReconfigProgress | undefined;
  let finished: ReconfigRecord | undefined;
  // The phases this decision passed through, after the one it started in.
  const passed: Phase[] = decision.trail.slice(1);
  if (after.phase !== decision.trail.at(-1)) passed.push(after.phase);

  const closeStep = (steps: StepRecord[]) => {
    const last = steps.at(-1);
    if (last && last.durationSeconds === undefined) last.durationSeconds = seconds(last.startedAt, now);
  };
  const finish = (progress: ReconfigProgress) => {
    closeStep(progress.steps);
    finished = {
      from: progress.from,
      to: progress.to,
      startedAt: progress.startedAt,
      finishedAt: at,
      durationSeconds: seconds(progress.startedAt, now),
      result: progress.steps.some((s) => s.step === "AbortLearners") ? "Aborted" : "Succeeded",
      steps: progress.steps,
    };
  };

  if (!current && before.phase !== "Idle") {
    // A change in flight that nobody tracked (status from an older operator, or wiped): from here on.
    current = {
      from: before.members.length,
      to: before.targetVoters.length,
      step: before.phase,
      startedAt: at,
      attempts: 0,
      steps: [{ step: before.phase, startedAt: at }],
    };
  }
  for (const phase of passed) {
    if (phase === "Idle") {
      if (current) finish(current);
      current = undefined;
      continue;
    }
    if (!current) {
      current = started = {
        from: before.members.length,
        to: after.targetVoters.length,
        step: phase,
        startedAt: at,
        attempts: 0,
        steps: [],
      };
    }
    if (current.step !== phase || current.steps.length === 0) {
      closeStep(current.steps);
      current.steps.push({ step: phase, startedAt: at });
      current.step = phase;
      current.attempts = 0;
      delete current.lastError;
    }
  }
  const acted = decision.action.kind !== "wait" && decision.action.kind !== "none";
  if (current && acted) current.attempts++;
  if (current && after.phase !== "Idle") current.to = after.targetVoters.length || current.to;
  return {
    ...(current ? { inFlight: current } : {}),
    history: finished ? [...history, finished].slice(-HISTORY_LENGTH) : history,
    ...(finished ? { finished } : {}),
    ...(started ? { started } : {}),
  };
}
