/** What the page replays: experiment runs (from experiment_runs.ts) and simulator traces (src/sim/trace_json.ts). */
export type { SimNodeState, SimTraceEntry, SimTraceEvent, SimTraceFile } from "../sim/trace_json.ts";

export interface ExperimentSummary {
  /** File name without .json: bug1-unsafe-early-vote. */
  name: string;
  bug: string;
  mode: string;
  verdict: string;
  verdictLine: string;
  date?: string;
  operations?: number;
  sideLeaderElected: boolean;
}

export interface ExperimentOperation {
  id: number;
  client: string;
  op: string;
  key: string;
  status: string;
  output?: string;
  /** Milliseconds from the start of the run. */
  call: number;
  ret?: number;
}

export interface ExperimentRun {
  summary: ExperimentSummary;
  reportAvailable: boolean;
  /** The fault timeline: what the experiment did, and when (ms from the start). */
  notes: Array<{ time: number; text: string }>;
  operations: ExperimentOperation[];
  /** Operations beyond what is sent. */
  omitted: number;
  /** The operation at which the checker found the history not linearizable. */
  badOperation?: number;
  /** Why the timeline is empty. */
  missing?: string;
}
