/** When to restart a container that exited, and how long to wait first. */

export type RestartPolicy = "Always" | "OnFailure" | "Never";

export function shouldRestart(policy: RestartPolicy | undefined, exitCode: number): boolean {
  if (policy === "Never") return false;
  if (policy === "OnFailure") return exitCode !== 0;
  return true;
}

/**
 * Exponential back-off like the kubelet's CrashLoopBackOff (which goes 10 s, 20 s, ... up to 5 min);
 * shorter here (1 s doubling up to 30 s) so tests that crash a container stay fast.
 */
export function restartDelayMs(previousRestarts: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** Math.min(previousRestarts, 10));
}

/** A container that ran this long before exiting gets its back-off reset to the start. */
export const BACKOFF_RESET_AFTER_MS = 60_000;
const BACKOFF_START_MS = 1_000;
const BACKOFF_CAP_MS = 30_000;
