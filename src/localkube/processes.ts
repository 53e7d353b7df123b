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

/**
 * The process's state letter from `ps` (R, S, D, Z, ...), or "" when there is no such process.
 * `ps` rather than /proc: Deno lets only --allow-all programs read /proc.
 */
async function processState(pid: number): Promise<string> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** True while `pid` exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  const state = await processState(pid);
  return state !== "" && !state.startsWith("Z") && !state.startsWith("X");
}

/** Every live process's PID and command line (for finding strays). */
export async function processTable(): Promise<Array<{ pid: number; args: string }>> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,stat=,args="], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").flatMap((line) => {
    const match = line.trim().match(/^(\d+)\s+(\S+)\s+(.*)$/);
    return match && !match[2].startsWith("Z") ? [{ pid: Number(match[1]), args: match[3] }] : [];
  });
}

/** The process's command line, or "" if it is gone. */
export async function commandLine(pid: number): Promise<string> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "args=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return new TextDecoder().decode(out.stdout).trim();
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
  if (!await isAlive(pid)) return;
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (await isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (await isAlive(pid)) signalGroup(pid, "SIGKILL");
  const killDeadline = Date.now() + 10_000;
  while (await isAlive(pid) && Date.now() < killDeadline) await sleep(20);
  if (await isAlive(pid)) {
    throw new Error(`process ${pid} (${await commandLine(pid)}) survived SIGKILL for 10 s`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
