/**
 * The threshold logic of a Kubernetes probe, without I/O: a result flips to success after
 * `successThreshold` successes in a row and to failure after `failureThreshold` failures in a row.
 * Readiness starts failed, liveness and startup start "not failed" (they only act on failure).
 */

export type ProbeKind = "readiness" | "liveness" | "startup";

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface ProbeTimingSpec {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/** The API's defaults: no delay, every 10 s, 1 s timeout, 1 success, 3 failures. */
export function probeTiming(spec: ProbeTimingSpec): ProbeTiming {
  return {
    initialDelayMs: (spec.initialDelaySeconds ?? 0) * 1000,
    periodMs: (spec.periodSeconds || 10) * 1000,
    timeoutMs: (spec.timeoutSeconds || 1) * 1000,
    successThreshold: spec.successThreshold || 1,
    failureThreshold: spec.failureThreshold || 3,
  };
}

export class ProbeTracker {
  #successes = 0;
  #failures = 0;
  /** True while the probe counts as passing. */
  passing: boolean;
  /** Set once the probe has passed at least once (what a startup probe waits for). */
  everPassed = false;

  constructor(readonly kind: ProbeKind, readonly timing: ProbeTiming) {
    this.passing = kind !== "readiness";
  }

  /** Feeds one check's result; returns true when `passing` changed. */
  record(ok: boolean): boolean {
    const before = this.passing;
    if (ok) {
      this.#successes++;
      this.#failures = 0;
      if (this.#successes >= this.timing.successThreshold) {
        this.passing = true;
        this.everPassed = true;
      }
    } else {
      this.#failures++;
      this.#successes = 0;
      if (this.#failures >= this.timing.failureThreshold) this.passing = false;
    }
    return before !== this.passing;
  }

  /** A liveness or startup probe that has reached its failure threshold: the container must be killed. */
  get demandsRestart(): boolean {
    return this.kind !== "readiness" && this.#failures >= this.timing.failureThreshold;
  }
}
