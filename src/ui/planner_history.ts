/**
 * The planner's history with timings, read from the local supervisor's log (<state dir>/
 * supervisor.log), which records every decision as "AddLearners -> CatchUp: message" (a step
 * change, with the phases it passed through) or "[CatchUp] message" (the same step, news), and
 * process events ("node 2 ... exited", "started node 4 ..."). Read-only: the supervisor owns it.
 */
export interface PlannerStep {
  phase: string;
  /** ISO time the step began. */
  startedAt: string;
  /** Milliseconds until the next step began; absent for the current one. */
  durationMs?: number;
  /** What the planner said during the step, oldest first (the last few). */
  messages: string[];
}

export interface SupervisorEvent {
  at: string;
  text: string;
}

export interface PlannerHistory {
  steps: PlannerStep[];
  /** Process events: nodes started, stopped, crashed and restarted. */
  events: SupervisorEvent[];
}

/** A text log line: the time, the level (absent in logs of older versions), the message. */
const LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (?:(?:debug|info|warn|error) +)?(.*)$/;
const TRANSITION = /^([A-Za-z]+(?: -> [A-Za-z]+)+): (.*)$/;
const SAME_STEP = /^\[([A-Za-z]+)\] (.*)$/;
const MESSAGES_KEPT = 5;
/** Only the end of a long log is read. */
export const LOG_BYTES_READ = 256 * 1024;

export function parseSupervisorLog(text: string, maxSteps = 100, maxEvents = 100): PlannerHistory {
  const steps: PlannerStep[] = [];
  const events: SupervisorEvent[] = [];
  const begin = (phase: string, at: string, message?: string) => {
    const last = steps.at(-1);
    if (last) last.durationMs = Date.parse(at) - Date.parse(last.startedAt);
    steps.push({ phase, startedAt: at, messages: message ? [message] : [] });
  };
  for (const raw of text.split("\n")) {
    const parsed = parseLine(raw);
    if (!parsed) continue;
    const { at, rest } = parsed;
    const transition = TRANSITION.exec(rest);
    const same = SAME_STEP.exec(rest);
    if (transition) {
      const phases = transition[1].split(" -> ");
      // The first phase is the one being left; those between were passed through at once.
      if (!steps.length) begin(phases[0], at);
      for (const phase of phases.slice(1, -1)) begin(phase, at);
      begin(phases.at(-1)!, at, transition[2]);
    } else if (same) {
      const current = steps.at(-1);
      if (!current || current.phase !== same[1]) begin(same[1], at, same[2]);
      else current.messages = [...current.messages, same[2]].slice(-MESSAGES_KEPT);
    } else events.push({ at, text: rest });
  }
  return { steps: steps.slice(-maxSteps), events: events.slice(-maxEvents) };
}

/** The time and message of a supervisor log line, in the text or the JSON format (`--log-format json`). */
function parseLine(raw: string): { at: string; rest: string } | undefined {
  if (raw.startsWith("{")) {
    try {
      const o = JSON.parse(raw) as { time?: unknown; message?: unknown };
      if (typeof o.time === "string" && typeof o.message === "string") return { at: o.time, rest: o.message };
    } catch {
      // not a JSON line: fall through to the text format
    }
  }
  const line = LINE.exec(raw);
  return line ? { at: line[1], rest: line[2] } : undefined;
}

/** Reads and parses the supervisor log of `stateDir` (an empty history when there is none yet). */
export async function readPlannerHistory(stateDir: string): Promise<PlannerHistory> {
  let text: string;
  try {
    using file = await Deno.open(`${stateDir}/supervisor.log`);
    const size = (await file.stat()).size;
    const start = Math.max(0, size - LOG_BYTES_READ);
    await file.seek(start, Deno.SeekMode.Start);
    const buffer = new Uint8Array(size - start);
    let read = 0;
    while (read < buffer.length) {
      const n = await file.read(buffer.subarray(read));
      if (n === null) break;
      read += n;
    }
    text = new TextDecoder().decode(buffer.subarray(0, read));
    if (start > 0) text = text.slice(text.indexOf("\n") + 1); // the first line may be cut
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { steps: [], events: [] };
    throw e;
  }
  return parseSupervisorLog(text);
}
