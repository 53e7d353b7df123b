/**
 * Which warnings reach the operator's log. A step that fails fails again at every tick: its
 * warning is said once (log line and Event), then stays quiet, but a log line repeats every
 * `repeatMs` while the same warning lasts, saying for how long. Said only once, it scrolled out
 * of the log tail a failed e2e test keeps, while the failing action's own line kept repeating.
 */
export type WarningVerdict =
  | { say: "first" }
  | { say: "again"; forSeconds: number }
  | { say: "nothing" };

export class WarningGate {
  #message: string | undefined;
  #since = 0;
  #logged = 0;

  constructor(readonly repeatMs = 30_000) {}

  /** The warning `message` comes up at `now` (ms). */
  check(message: string, now = Date.now()): WarningVerdict {
    if (message !== this.#message) {
      this.#message = message;
      this.#since = this.#logged = now;
      return { say: "first" };
    }
    if (now - this.#logged < this.repeatMs) return { say: "nothing" };
    this.#logged = now;
    return { say: "again", forSeconds: Math.round((now - this.#since) / 1000) };
  }

  /** Something else happened (an action succeeded, another report): the next warning is new. */
  reset(): void {
    this.#message = undefined;
  }

  /** The message said last, if it still stands. */
  get current(): string | undefined {
    return this.#message;
  }
}
