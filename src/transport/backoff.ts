/** Reconnect delays: exponential, capped, with jitter so that peers do not retry in lockstep. */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * Capped at 500 ms (it was 2 s): after a peer comes back, the next dial waits on average 3/4 of the cap,
 * and that wait is added to every restarted member's catch-up (etcd's peers retry about every 100 ms).
 * A refused dial costs microseconds, and only the first failure of an outage is logged.
 */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 500 };

/** The delay before retry number `attempt` (0-based): uniform in [half, full] of the capped exponential. */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const full = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return full / 2 + random() * (full / 2);
}
