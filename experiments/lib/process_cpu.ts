/**
 * CPU time used by processes, from /proc/<pid>/stat (Linux): what a benchmark row cost each member,
 * per operation. Throughput on a shared 2-core machine says how fast the whole machine went; CPU per
 * operation says what each system spends on one write, which drifts less with the machine's speed
 * and tells where the cores went (a leader, its followers).
 *
 * Deno reads /proc/<pid>/... only under --allow-all (NotCapable otherwise), which the bench and test
 * tasks do not grant; `cat` reads them, under --allow-run.
 */
import type { MeasuredWindow } from "./load.ts";

/** /proc reports utime and stime in clock ticks of USER_HZ, 100 on Linux. */
const MS_PER_TICK = 10;

/**
 * User + system CPU time each process has used so far (all its threads), in ms; undefined for a
 * process that does not exist (or where /proc cannot be read).
 */
export async function processCpuMs(pids: number[]): Promise<Array<number | undefined>> {
  const valid = pids.filter((pid) => Number.isSafeInteger(pid) && pid > 0);
  if (valid.length === 0) return pids.map(() => undefined);
  let text = "";
  try {
    // cat goes on past a missing file (exit 1) and prints the others.
    const out = await new Deno.Command("cat", {
      args: valid.map((pid) => `/proc/${pid}/stat`),
      stdout: "piped",
      stderr: "null",
    }).output();
    text = new TextDecoder().decode(out.stdout);
  } catch {
    return pids.map(() => undefined);
  }
  const byPid = new Map<number, number>();
  for (const line of text.split("\n")) {
    // "pid (command name) state ...": the name may hold spaces, so fields count from its last ")".
    const close = line.lastIndexOf(")");
    if (close < 0) continue;
    const fields = line.slice(close + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 (utime) and 15 (stime)
    if (Number.isFinite(ticks)) byPid.set(Number.parseInt(line, 10), ticks * MS_PER_TICK);
  }
  return pids.map((pid) => byPid.get(pid));
}

/**
 * Starts measuring `pids`; the returned function gives the CPU time each process used since, in ms
 * (undefined for a process that could not be read at both ends).
 */
export function cpuMeter(pids: number[]): () => Promise<Array<number | undefined>> {
  const before = processCpuMs(pids);
  return async () => {
    const [start, end] = await Promise.all([before, processCpuMs(pids)]);
    return pids.map((_, i) =>
      start[i] === undefined || end[i] === undefined ? undefined : end[i]! - start[i]!
    );
  };
}

/**
 * Each process's CPU per operation over a closed loop's counted stretch (load.ts MeasuredWindow):
 * measured from when counting starts to when it ends, not to when the last straggling request returns.
 */
export function cpuWindow(pids: number[]): MeasuredWindow & {
  perOperation(ops: number): Promise<Array<number | undefined>>;
} {
  let meter: (() => Promise<Array<number | undefined>>) | undefined;
  let used: Promise<Array<number | undefined>> | undefined;
  return {
    started: () => meter = cpuMeter(pids),
    ended: () => used = meter?.(),
    perOperation: async (ops) => perOperationUs(await used ?? pids.map(() => undefined), ops),
  };
}

/** `cpuMs` spread over `operations`, in µs per operation (undefined without a number or an operation). */
export function perOperationUs(
  cpuMs: Array<number | undefined>,
  operations: number,
): Array<number | undefined> {
  return cpuMs.map((ms) =>
    ms === undefined || operations <= 0 ? undefined : +(ms * 1000 / operations).toFixed(1)
  );
}
