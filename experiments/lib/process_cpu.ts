/**
 * CPU time used by processes, from /proc/<pid>/stat (Linux): what a benchmark row cost each member,
 * per operation. Throughput on a shared 2-core machine says how fast the whole machine went; CPU per
 * operation says what each system spends on one write, which drifts less with the machine's speed
 * and tells where the cores went (a leader, its followers).
 */

/** /proc reports utime and stime in clock ticks of USER_HZ, 100 on Linux. */
const MS_PER_TICK = 10;

/** User + system CPU time the process has used so far, in ms; undefined when it cannot be read. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 (utime) and 15 (stime)
    return Number.isFinite(ticks) ? ticks * MS_PER_TICK : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts measuring `pids`; the returned function gives the CPU time each process used since, in ms
 * (undefined for a process that could not be read at both ends).
 */
export function cpuMeter(pids: number[]): () => Array<number | undefined> {
  const before = pids.map(processCpuMs);
  return () =>
    pids.map((pid, i) => {
      const start = before[i], end = processCpuMs(pid);
      return start === undefined || end === undefined ? undefined : end - start;
    });
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
