/** Reconnect delays: exponential, capped, with jitter so that peers do not retry in lockstep. */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 2_000 };

/** The delay before retry number `attempt` (0-based): uniform in [half, full] of the capped exponential. */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const full = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return full / 2 + random() * (full / 2);
}
