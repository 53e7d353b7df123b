/**
 * `deno task bench floor [--seconds S] [--dir PATH]`: the floor of a lone client's write on this
 * machine (experiments/lib/latency_floor.ts): an HTTP round trip, a peer round trip and an
 * fdatasync while three processes sync at once, each between real processes. `steady` measures
 * the same at its start and sets its 1-client writes against it; this runs it alone. Writes
 * bench-results/latency-floor.json.
 */
import { parseFlags, positiveNumber, UsageError } from "../../src/cli/args.ts";
import { describeFloor, type LatencyFloor, measureLatencyFloor } from "../lib/latency_floor.ts";
import { markdownTable, writeResults } from "../lib/results.ts";
import { isDirectory } from "./args.ts";

export async function run(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    seconds: { type: "string", default: "2" },
    dir: { type: "string" },
  });
  const seconds = positiveNumber("seconds", values.seconds!);
  const parentDir = values.dir;
  if (parentDir !== undefined && !(await isDirectory(parentDir))) {
    throw new UsageError(
      `--dir ${parentDir}: no such directory (the fdatasyncs go into a new directory inside it)`,
    );
  }
  const floor = await measureLatencyFloor({ seconds, parentDir, progress: console.log });
  console.log(describeFloor(floor));
  await writeResults("latency-floor", {
    bench: "floor",
    about: "a lone client's write cannot be faster than one HTTP round trip, one peer round trip and " +
      "one fdatasync taken while three members sync at once",
    floor,
  }, { summary: `${describeFloor(floor)}.\n\n${partsTable(floor)}` });
}

function partsTable(f: LatencyFloor): string {
  const row = (
    name: string,
    p: { count: number; p50Us: number; p99Us: number },
  ) => [name, p.count, p.p50Us, p.p99Us];
  return markdownTable(["part", "samples", "p50 µs", "p99 µs"], [
    row("HTTP round trip (load generator's client, bare Deno.serve)", f.httpRoundTrip),
    row("peer round trip (64 B, TCP echo process)", f.peerRoundTrip),
    row("200 B append + fdatasync, alone", f.fdatasyncAlone),
    row("200 B append + fdatasync, three processes at once", f.fdatasyncThreeAtOnce),
  ]);
}
