/** Checks that a parsed JSON document is a simulator trace (src/sim/trace_json.ts); used by the page and the server. */
import type { SimTraceFile } from "../replay_types.ts";

export function checkSimTrace(value: unknown, source: string): SimTraceFile {
  const v = value as Partial<SimTraceFile> | null;
  if (typeof v !== "object" || v === null || v.format !== "raft-kv-sim-trace") {
    throw new Error(
      `${source} is not a raft-kv simulator trace: write one with ` +
        `deno task sim --scenario bug1 --mode unsafe-early-vote --seed 1 --trace-json FILE`,
    );
  }
  if (v.version !== 1) {
    throw new Error(`${source}: trace version ${v.version} is not supported (this view reads 1)`);
  }
  if (!Array.isArray(v.events) || typeof v.initial !== "object" || v.initial === null) {
    throw new Error(`${source}: the trace has no events list or no initial states`);
  }
  return v as SimTraceFile;
}
