/**
 * Child processes of localkube: each runs in its own process group (so a signal reaches anything it
 * forked), appends stdout and stderr to a log file, and is stopped by PID: SIGTERM, a grace period,
 * then SIGKILL.
 */

export interface SpawnedProcess {
  pid: number;
  status: Promise<Deno.CommandStatus>;
  /** Lets the parent exit while this process keeps running (the CLI's `up`). */
  unref(): void;
}

export interface SpawnOptions {
  args: string[];
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Clear the inherited environment first (containers get only what the pod declares). */
  clearEnv?: boolean;
}

/** Starts `program` with output appended to `logFile`; `sh` only sets up the redirection, then `exec`s it. */
export function spawnLogged(program: string, options: SpawnOptions): SpawnedProcess {
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$0" "$@" >>"$LOCALKUBE_LOG_FILE" 2>&1', program, ...options.args],
    env: { ...options.env, LOCALKUBE_LOG_FILE: options.logFile },
    clearEnv: options.clearEnv,
    cwd: options.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  return { pid: child.pid, status: child.status, unref: () => child.unref() };
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The process's command line (NUL-separated arguments joined by spaces), or "" if it is gone. */
export function commandLine(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

export function signalGroup(pid: number, signal: Deno.Signal): void {
  for (const target of [-pid, pid]) {
    try {
      Deno.kill(target, signal);
      return;
    } catch {
      // the group may be gone while the process is not (or both are): try the next form
    }
  }
}

/** SIGTERM to the process group, up to `graceMs` to exit, then SIGKILL; resolves once it is gone. */
export async function stopProcess(pid: number, graceMs: number): Promise<void> {
  if (!isAlive(pid)) return;
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) signalGroup(pid, "SIGKILL");
  const killDeadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < killDeadline) await sleep(20);
  if (isAlive(pid)) throw new Error(`process ${pid} (${commandLine(pid)}) survived SIGKILL for 10 s`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
