/**
 * The per-stage latency breakdown of a benchmark row: every node's /metrics is read before and
 * after the row, and each stage's percentiles come from the difference of its histogram
 * (raftkv_request_stage_seconds{stage}, summed over the nodes; src/kv/write_stages.ts names the
 * stages). A percentile inside a bucket is interpolated linearly, as Prometheus'
 * histogram_quantile() does.
 */
import { OTHER_STAGES, WRITE_STAGES } from "../../src/kv/write_stages.ts";

const METRIC = "raftkv_request_stage_seconds";

/** Per stage: cumulative counts by upper bound (seconds), plus the sum and count. */
export type StageHistograms = Map<string, { buckets: Map<number, number>; sum: number; count: number }>;

export interface StageSummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Interpolated inside the histogram's buckets (coarse in the tail: 20, 50, 100, 250 ms bounds). */
  p999Ms: number;
}

/** Parses the stage histogram out of a Prometheus text exposition. */
export function parseStageHistograms(text: string): StageHistograms {
  const out: StageHistograms = new Map();
  const entry = (stage: string) => {
    let h = out.get(stage);
    if (!h) out.set(stage, h = { buckets: new Map(), sum: 0, count: 0 });
    return h;
  };
  for (const line of text.split("\n")) {
    if (!line.startsWith(METRIC)) continue;
    const m = /^raftkv_request_stage_seconds_(bucket|sum|count)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (!labels.stage) continue;
    const value = Number(m[3]);
    const h = entry(labels.stage);
    if (m[1] === "sum") h.sum = value;
    else if (m[1] === "count") h.count = value;
    else h.buckets.set(labels.le === "+Inf" ? Infinity : Number(labels.le), value);
  }
  return out;
}

/** Adds `b` into `a` (the same stage on several nodes). */
function addInto(a: StageHistograms, b: StageHistograms): void {
  for (const [stage, h] of b) {
    const into = a.get(stage);
    if (!into) {
      a.set(stage, { buckets: new Map(h.buckets), sum: h.sum, count: h.count });
      continue;
    }
    into.sum += h.sum;
    into.count += h.count;
    for (const [le, n] of h.buckets) into.buckets.set(le, (into.buckets.get(le) ?? 0) + n);
  }
}

/** Reads and sums the stage histograms of every node (a node that does not answer is left out). */
export async function scrapeStages(urls: string[]): Promise<StageHistograms> {
  const total: StageHistograms = new Map();
  await Promise.all(urls.map(async (url) => {
    try {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      if (response.ok) addInto(total, parseStageHistograms(text));
    } catch {
      // A node down during a row: its stages are missing from the breakdown, which says so (count).
    }
  }));
  return total;
}

/** Percentile `q` (0..1) of a histogram given as sorted [upper bound, count in bucket]. */
function quantile(q: number, buckets: Array<[number, number]>, count: number): number {
  const rank = q * count;
  let below = 0;
  let lower = 0;
  for (const [le, n] of buckets) {
    if (below + n >= rank && n > 0) {
      if (le === Infinity) return lower;
      return lower + (le - lower) * ((rank - below) / n);
    }
    below += n;
    lower = le;
  }
  return lower;
}

/** Each stage's count, mean and p50/p99 over what happened between two scrapes. */
export function stageDelta(before: StageHistograms, after: StageHistograms): Record<string, StageSummary> {
  const out: Record<string, StageSummary> = {};
  for (const [stage, h] of after) {
    const b = before.get(stage);
    const count = h.count - (b?.count ?? 0);
    if (count <= 0) continue;
    const bounds = [...h.buckets.keys()].sort((x, y) => x - y);
    let previous = 0;
    const perBucket: Array<[number, number]> = bounds.map((le) => {
      const cumulative = h.buckets.get(le)! - (b?.buckets.get(le) ?? 0);
      const n = cumulative - previous;
      previous = cumulative;
      return [le, Math.max(0, n)];
    });
    const ms = (s: number) => +(s * 1000).toFixed(3);
    out[stage] = {
      count,
      meanMs: ms((h.sum - (b?.sum ?? 0)) / count),
      p50Ms: ms(quantile(0.5, perBucket, count)),
      p99Ms: ms(quantile(0.99, perBucket, count)),
      p999Ms: ms(quantile(0.999, perBucket, count)),
    };
  }
  return out;
}

/** Stages in path order: a write's critical path, its two parallel branches, then the rest. */
const ORDER: string[] = [...WRITE_STAGES, ...OTHER_STAGES];
const PARALLEL = new Set(["leader_append_fsync", "first_follower_ack"]);

/** Lines for the console: one stage per line, p50 / p99 / mean in ms. */
export function formatStages(stages: Record<string, StageSummary>): string[] {
  const names = ORDER.filter((s) => stages[s]);
  return names.map((s) => {
    const v = stages[s];
    const label = PARALLEL.has(s) ? `  ${s} (in parallel)` : s;
    return `         ${label.padEnd(34)} p50 ${v.p50Ms.toFixed(3).padStart(7)}  p99 ${
      v.p99Ms.toFixed(3).padStart(7)
    }  mean ${v.meanMs.toFixed(3).padStart(7)} ms  (n=${v.count})`;
  });
}
