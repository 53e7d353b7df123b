/** How long and how often a client keeps trying, and how it spaces its attempts. */

export interface RetryPolicy {
  /** Attempts per operation, counting the first. */
  maxAttempts: number;
  /** Time budget for one operation, all attempts and waits included. */
  operationTimeoutMs: number;
  /** Time budget for one HTTP request, body included. */
  requestTimeoutMs: number;
  /** Pause before retrying a node that answered 500/502/504: doubles each time up to the max. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A `Retry-After` longer than this is shortened to it, so a bad header cannot stall a client. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 20,
  operationTimeoutMs: 15_000,
  requestTimeoutMs: 5_000,
  backoffInitialMs: 50,
  backoffMaxMs: 1_000,
  maxRetryAfterMs: 5_000,
};

/** Fills in defaults and refuses values that would make a client spin or never return. */
export function resolveRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  for (const [name, value] of Object.entries(policy)) {
    const minimum = name === "maxAttempts" ? 1 : 0;
    if (!Number.isFinite(value) || value < minimum) {
      throw new RangeError(`retry policy: ${name} must be a finite number >= ${minimum}, got ${value}`);
    }
  }
  return policy;
}

/** Delay before retry number `retry` (0-based): capped exponential, jittered into [half, full]. */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const full = Math.min(policy.backoffMaxMs, policy.backoffInitialMs * 2 ** Math.min(retry, 30));
  return full / 2 + random() * (full / 2);
}

/** A `Retry-After` header in seconds (the server never sends the date form); 1 s when absent or unreadable. */
export function retryAfterMs(header: string | null, policy: RetryPolicy): number {
  const seconds = header === null ? NaN : Number(header.trim());
  const ms = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000;
  return Math.min(ms, policy.maxRetryAfterMs);
}
