/**
 * Event-loop stall measurement: how long the loop was blocked, so that a stall (a synchronous
 * snapshot encode, a huge JSON parse, GC) is seen in /metrics instead of guessed from latency.
 *
 * A timer asks to run every `intervalMs`; when it runs late, the loop was busy for the lateness.
 * Each lateness above `minStallMs` is one stall observation in a cumulative histogram (seconds,
 * Prometheus-style `le` buckets), and the longest one is kept. This is what Node's
 * monitorEventLoopDelay does, which Deno does not implement; the resolution is the interval.
 */

/** Upper bounds of the histogram buckets, in seconds (+Inf is implicit). */
export const STALL_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface EventLoopStalls {
  /** Cumulative counts per bucket, aligned with STALL_BUCKETS_SECONDS; the last one is +Inf. */
  bucketCounts: number[];
  count: number;
  sumSeconds: number;
  /** Longest blocked time observed since the monitor started. */
  maxSeconds: number;
  /** Longest blocked time observed since the previous takeRecentMax() call. */
  recentMaxSeconds: number;
}

export class EventLoopStallMonitor {
  private readonly counts = new Array<number>(STALL_BUCKETS_SECONDS.length + 1).fill(0);
  private count = 0;
  private sum = 0;
  private max = 0;
  private recentMax = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private expected = 0;
  private readonly listeners = new Set<(seconds: number) => void>();

  constructor(
    private readonly intervalMs = 10,
    /** Lateness below this is scheduling noise on a loaded machine, not a stall. */
    private readonly minStallMs = 5,
  ) {}

  start(): this {
    if (this.timer !== undefined) return this;
    this.expected = performance.now() + this.intervalMs;
    const timer = setInterval(() => this.onTick(), this.intervalMs);
    // Measuring must never keep a process alive.
    Deno.unrefTimer(timer);
    this.timer = timer;
    return this;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records a blocked stretch measured elsewhere (also used by tests). */
  observe(blockedMs: number): void {
    if (blockedMs < this.minStallMs) return;
    const seconds = blockedMs / 1000;
    this.count++;
    this.sum += seconds;
    this.max = Math.max(this.max, seconds);
    this.recentMax = Math.max(this.recentMax, seconds);
    const i = STALL_BUCKETS_SECONDS.findIndex((le) => seconds <= le);
    this.counts[i === -1 ? STALL_BUCKETS_SECONDS.length : i]++;
    for (const listener of this.listeners) listener(seconds);
  }

  /** Calls `listener` with every stall from now on (the /metrics histogram observes through it). */
  onStall(listener: (seconds: number) => void): void {
    this.listeners.add(listener);
  }

  read(): EventLoopStalls {
    let running = 0;
    return {
      bucketCounts: this.counts.map((c) => running += c),
      count: this.count,
      sumSeconds: this.sum,
      maxSeconds: this.max,
      recentMaxSeconds: this.recentMax,
    };
  }

  /** The longest stall since the previous call (for a gauge that shows the recent worst). */
  takeRecentMax(): number {
    const m = this.recentMax;
    this.recentMax = 0;
    return m;
  }

  private onTick(): void {
    const now = performance.now();
    this.observe(now - this.expected);
    this.expected = now + this.intervalMs;
  }
}

let processMonitor: EventLoopStallMonitor | undefined;

/**
 * The process-wide monitor, started on first use: /metrics observes its stalls (metrics.ts).
 */
export function eventLoopStalls(): EventLoopStallMonitor {
  processMonitor ??= new EventLoopStallMonitor().start();
  return processMonitor;
}
