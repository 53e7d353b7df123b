/**
 * The load generator the benchmarks share, the same for raft-kv and etcd: keep-alive HTTP/1.1
 * through a light client of our own (http1_client.ts: fetch cost the generator 2-3x the CPU, on
 * cores it shares with the members), 100-byte values on 10,000 keys, writes to the leader,
 * linearizable reads spread over every member. Closed loop (N clients, each waits for its answer
 * before the next request) and open loop (requests sent at a fixed rate whatever the answers;
 * latency counted from the moment a request was due, so a stalled server is charged for the
 * requests it held up).
 */
import { etcdPutRequest, etcdRangeRequest } from "./etcd_cluster.ts";
import { Http1Pool } from "./http1_client.ts";

export type SystemName = "raft-kv" | "etcd";
export type OpKind = "write" | "read";

/** Where to send a system's requests (re-read before each measurement: the leader can move). */
export interface LoadTarget {
  system: SystemName;
  leaderUrl: string;
  readUrls: string[];
  /** A cluster with TLS: its CA (PEM) to trust, and the Authorization header of a token. */
  caCerts?: string[];
  headers?: Record<string, string>;
}

export interface LatencySummary {
  ops: number;
  errors: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export const VALUE = "x".repeat(100);
export const KEYS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** A raft-kv client session: writes carry it so that retries are exactly-once, as real clients do. */
export interface Session {
  id: string;
  seq: number;
}

export function newSession(): Session {
  return { id: `bench-${crypto.randomUUID()}`, seq: 0 };
}

/** Keep-alive connections for a run of requests to `target` (any of its members); close it after. */
export function loadPool(target: Pick<LoadTarget, "caCerts">): Http1Pool {
  return new Http1Pool({ caCerts: target.caCerts });
}

/** One write of `value` to `key` through the leader; resolves to true on success. */
export async function writeOnce(
  pool: Http1Pool,
  target: LoadTarget,
  key: string,
  value: string,
  session: Session,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<boolean> {
  if (target.system === "etcd") {
    const { path, body } = etcdPutRequest(key, value);
    return (await pool.request(`${target.leaderUrl}${path}`, "POST", {}, body, timeoutMs)).status === 200;
  }
  const r = await pool.request(
    `${target.leaderUrl}/kv/${key}`,
    "PUT",
    {
      ...target.headers,
      "content-type": "application/json",
      "x-client-id": session.id,
      "x-request-seq": String(++session.seq),
    },
    JSON.stringify({ value }),
    timeoutMs,
  );
  return r.status === 200;
}

/** One linearizable read of `key` at `url`; resolves to true on success (a missing key is one). */
export async function readOnce(
  pool: Http1Pool,
  target: LoadTarget,
  url: string,
  key: string,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<boolean> {
  if (target.system === "etcd") {
    const { path, body } = etcdRangeRequest(key);
    return (await pool.request(`${url}${path}`, "POST", {}, body, timeoutMs)).status === 200;
  }
  const r = await pool.request(`${url}/kv/${key}`, "GET", { ...target.headers }, undefined, timeoutMs);
  return r.status === 200 || r.status === 404;
}

/** One request of the standard load (a random key, VALUE); resolves to true on success. */
export function request(
  pool: Http1Pool,
  target: LoadTarget,
  kind: OpKind,
  n: number,
  session: Session,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<boolean> {
  const key = `key-${Math.floor(Math.random() * KEYS)}`;
  return kind === "write"
    ? writeOnce(pool, target, key, VALUE, session, timeoutMs)
    : readOnce(pool, target, target.readUrls[n % target.readUrls.length], key, timeoutMs);
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** The middle of the rounds (the mean of the two middle ones for an even count): one disturbed round moves it least. */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(latencies: number[], errors: number, seconds: number): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const round = (v: number) => Number.isFinite(v) ? +v.toFixed(2) : NaN;
  return {
    ops: sorted.length,
    errors,
    opsPerSec: Math.round(sorted.length / seconds),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    p999Ms: round(percentile(sorted, 0.999)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1] : NaN),
  };
}

/** N clients in a closed loop of the standard load for `seconds` after an uncounted warm-up. */
export function closedLoop(
  target: LoadTarget,
  kind: OpKind,
  clients: number,
  seconds: number,
  warmupMs = 500,
  window?: MeasuredWindow,
): Promise<LatencySummary> {
  return closedLoopOf(
    target.caCerts,
    clients,
    seconds,
    warmupMs,
    (pool, w, session) => request(pool, target, kind, w, session),
    window,
  );
}

/** Told when the counted stretch of a closed loop starts and ends (to measure something over it). */
export interface MeasuredWindow {
  started(): void;
  ended(): void;
}

/**
 * N clients, each running `op` (true: success) and waiting for it before the next, for `seconds`
 * after a warm-up whose requests are not counted; connections (trusting `caCerts` for https) are
 * closed at the end.
 */
export async function closedLoopOf(
  caCerts: string[] | undefined,
  clients: number,
  seconds: number,
  warmupMs: number,
  op: (pool: Http1Pool, worker: number, session: Session) => Promise<boolean>,
  window?: MeasuredWindow,
): Promise<LatencySummary> {
  const latencies: number[] = [];
  let errors = 0;
  const warmupEnd = performance.now() + warmupMs;
  const end = warmupEnd + seconds * 1000;
  let phase: "warm-up" | "counted" | "done" = "warm-up";
  const start = () => {
    if (phase !== "warm-up") return;
    phase = "counted";
    window?.started();
  };
  const stop = () => {
    start();
    if (phase !== "counted") return;
    phase = "done";
    window?.ended();
  };
  const timers = window ? [setTimeout(start, warmupMs), setTimeout(stop, warmupMs + seconds * 1000)] : [];
  const pool = loadPool({ caCerts });
  const worker = async (w: number) => {
    const session = newSession();
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = await op(pool, w, session).catch(() => false);
      const t1 = performance.now();
      if (t0 < warmupEnd || t1 > end) continue;
      if (ok) latencies.push(t1 - t0);
      else errors++;
    }
  };
  try {
    await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  } finally {
    timers.forEach(clearTimeout);
    stop(); // a no-op unless the loop ended before its timers fired
    pool.close();
  }
  return summarize(latencies, errors, seconds);
}

export interface OpenLoopResult extends LatencySummary {
  offeredPerSec: number;
  /** Requests due while `maxInFlight` were already waiting: never sent, counted as errors too. */
  notSent: number;
}

/**
 * Requests at `rate` per second for `seconds`: request i is due at start + i/rate and is sent then
 * whatever the earlier ones do (up to `maxInFlight` outstanding). Latency runs from the due time.
 */
export async function openLoop(
  target: LoadTarget,
  kind: OpKind,
  rate: number,
  seconds: number,
  maxInFlight = 2048,
): Promise<OpenLoopResult> {
  const latencies: number[] = [];
  let errors = 0, notSent = 0, inFlight = 0, sent = 0;
  const sessions: Session[] = [];
  const pending = new Set<Promise<void>>();
  const start = performance.now() + 50;
  const total = Math.round(rate * seconds);
  const pool = loadPool(target);
  const one = async (due: number, n: number) => {
    const session = sessions.pop() ?? newSession();
    inFlight++;
    let ok = false;
    try {
      ok = await request(pool, target, kind, n, session);
    } catch {
      ok = false;
    }
    inFlight--;
    sessions.push(session);
    if (ok) latencies.push(performance.now() - due);
    else errors++;
  };
  while (sent < total) {
    const now = performance.now();
    // Everything due by now goes out at once: timers fire late on a loaded machine.
    while (sent < total && start + (sent * 1000) / rate <= now) {
      const due = start + (sent * 1000) / rate;
      if (inFlight >= maxInFlight) notSent++;
      else {
        const p = one(due, sent);
        pending.add(p);
        p.finally(() => pending.delete(p));
      }
      sent++;
    }
    const next = start + (sent * 1000) / rate;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(5, next - performance.now()))));
  }
  await Promise.all(pending);
  pool.close();
  const elapsed = Math.max(seconds, (performance.now() - start) / 1000);
  return { offeredPerSec: rate, notSent, ...summarize(latencies, errors + notSent, elapsed) };
}

/** Throughput-over-time recorder for the fault benchmarks: one writer loop, counts per 100 ms. */
export class BackgroundWriter {
  readonly completions: Array<{ at: number; ms: number }> = [];
  errors = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private pool?: Http1Pool;

  constructor(private readonly targets: () => LoadTarget, private readonly clients = 4) {}

  start(): void {
    this.running = true;
    const pool = this.pool = loadPool(this.targets());
    for (let w = 0; w < this.clients; w++) {
      this.loops.push((async () => {
        const session = newSession();
        while (this.running) {
          const t0 = performance.now();
          try {
            if (await request(pool, this.targets(), "write", w, session, 1000)) {
              this.completions.push({ at: performance.now(), ms: performance.now() - t0 });
            } else {
              this.errors++;
              await new Promise((r) => setTimeout(r, 20));
            }
          } catch {
            this.errors++;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      })());
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.pool?.close();
  }

  /** Ops/s and p99 of the writes that completed in [from, to). */
  window(from: number, to: number): { opsPerSec: number; p99Ms: number; ops: number } {
    const inside = this.completions.filter((c) => c.at >= from && c.at < to);
    const s = summarize(inside.map((c) => c.ms), 0, Math.max(0.001, (to - from) / 1000));
    return { opsPerSec: s.opsPerSec, p99Ms: s.p99Ms, ops: s.ops };
  }
}
