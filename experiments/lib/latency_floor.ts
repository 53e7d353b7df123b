/**
 * The floor of a lone client's write on this machine: what any design on this stack pays before
 * it does any work of its own (issue 12 asks where a ~1 ms write goes; this is the part that
 * cannot go). A write to a 3-member cluster crosses, one after the other:
 *
 *   client -> leader HTTP request ... leader -> follower append ... follower fdatasync ...
 *   follower -> leader acknowledgement ... leader -> client HTTP response
 *
 * (the leader's own fdatasync runs beside the follower's branch). So the floor is one HTTP round
 * trip, one peer round trip and one fdatasync taken while the three members sync at once,
 * each measured here between real processes on loopback and on the disk the members use:
 *
 * - HTTP round trip: the load generator's own client (http1_client.ts), a 100-byte JSON PUT as
 *   the benchmarks send, to a bare Deno.serve in another process that reads it and answers.
 * - Peer round trip: 64 bytes over a TCP connection to an echo process (two wake-ups per trip,
 *   as between members).
 * - fdatasync: a 200-byte append into a pre-written file and fdatasync (the WAL's pattern),
 *   alone and with three processes appending at once.
 *
 * Every process is started here and stopped (by PID) before this returns.
 */
import { Http1Pool } from "./http1_client.ts";
import { percentile, VALUE } from "./load.ts";

export interface Percentiles {
  count: number;
  p50Us: number;
  p99Us: number;
}

export interface LatencyFloor {
  /** The load generator's client to a bare HTTP server in another process. */
  httpRoundTrip: Percentiles;
  /** 64 bytes to a TCP echo process and back. */
  peerRoundTrip: Percentiles;
  /** A 200-byte append and fdatasync, one process alone. */
  fdatasyncAlone: Percentiles;
  /** The same with three processes appending at once (a leader and two followers do). */
  fdatasyncThreeAtOnce: Percentiles;
  /** HTTP round trip + peer round trip + fdatasync three at once, p50s, in ms. */
  writeFloorP50Ms: number;
  secondsPerPart: number;
}

const CHILD = new URL("./latency_floor_child.ts", import.meta.url).pathname;
const PEER_MESSAGE_BYTES = 64;
/** How long a child may take to start and say its port before the measurement gives up. */
const START_TIMEOUT_MS = 15_000;

function summarize(us: number[]): Percentiles {
  const sorted = Float64Array.from(us).sort();
  return {
    count: sorted.length,
    p50Us: Math.round(percentile(sorted, 0.5)),
    p99Us: Math.round(percentile(sorted, 0.99)),
  };
}

function spawnChild(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-net=127.0.0.1", "--allow-read", "--allow-write", CHILD, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Stops `child` (SIGKILL, by its PID) unless it has exited, and waits for it. */
async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
  await child.status;
}

/** The port a server child prints on its first line. */
async function portOf(child: Deno.ChildProcess): Promise<number> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => stop(child), START_TIMEOUT_MS);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`latency floor: ${CHILD} exited before saying its port`);
      text += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return JSON.parse(text.slice(0, text.indexOf("\n"))).port;
}

/** Runs `once` over and over for `seconds` (after a short warm-up); each run's time in µs. */
async function repeat(seconds: number, once: () => Promise<void>): Promise<number[]> {
  const warmupEnd = performance.now() + 200;
  while (performance.now() < warmupEnd) await once();
  const us: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const started = performance.now();
    await once();
    us.push((performance.now() - started) * 1000);
  }
  return us;
}

async function httpRoundTrip(seconds: number): Promise<Percentiles> {
  const child = spawnChild(["http"]);
  const pool = new Http1Pool();
  try {
    const url = `http://127.0.0.1:${await portOf(child)}/kv/key-1`;
    const body = JSON.stringify({ value: VALUE });
    const headers = { "content-type": "application/json", "x-client-id": "floor", "x-request-seq": "1" };
    return summarize(
      await repeat(seconds, async () => {
        const r = await pool.request(url, "PUT", headers, body);
        if (r.status !== 200) throw new Error(`latency floor: the bare HTTP server answered ${r.status}`);
      }),
    );
  } finally {
    pool.close();
    await stop(child);
  }
}

async function peerRoundTrip(seconds: number): Promise<Percentiles> {
  const child = spawnChild(["echo"]);
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port: await portOf(child) });
    conn.setNoDelay(true);
    const message = new Uint8Array(PEER_MESSAGE_BYTES).fill(1);
    const back = new Uint8Array(PEER_MESSAGE_BYTES);
    const c = conn;
    return summarize(
      await repeat(seconds, async () => {
        await c.write(message);
        for (let got = 0; got < PEER_MESSAGE_BYTES;) {
          const n = await c.read(back.subarray(got));
          if (n === null) throw new Error("latency floor: the echo process closed the connection");
          got += n;
        }
      }),
    );
  } finally {
    conn?.close();
    await stop(child);
  }
}

/** `writers` processes appending + fdatasyncing at once in `dir`; every append's time, pooled. */
async function fdatasyncs(dir: string, writers: number, seconds: number): Promise<Percentiles> {
  const startAt = Date.now() + 1500; // every child has written its runway by then
  const children = Array.from(
    { length: writers },
    (_, i) => spawnChild(["fsync", `${dir}/floor-${i}`, String(startAt), String(seconds)]),
  );
  try {
    const outputs = await Promise.all(children.map(async (child) => {
      const text = await new Response(child.stdout).text();
      const status = await child.status;
      if (!status.success) throw new Error(`latency floor: an fdatasync process exited with ${status.code}`);
      return JSON.parse(text).us as number[];
    }));
    return summarize(outputs.flat());
  } finally {
    await Promise.all(children.map(stop));
  }
}

/**
 * Measures the floor, each part for `seconds` (one after the other, so that they do not disturb
 * each other). `parentDir` should be on the disk the members write to.
 */
export async function measureLatencyFloor(
  opts: { seconds?: number; parentDir?: string; progress?: (line: string) => void } = {},
): Promise<LatencyFloor> {
  const seconds = opts.seconds ?? 2;
  const dir = await Deno.makeTempDir({ dir: opts.parentDir, prefix: "raftkv-floor-" });
  try {
    opts.progress?.("latency floor: fdatasync alone");
    const fdatasyncAlone = await fdatasyncs(dir, 1, seconds);
    opts.progress?.("latency floor: fdatasync, three processes at once");
    const fdatasyncThreeAtOnce = await fdatasyncs(dir, 3, seconds);
    opts.progress?.("latency floor: peer round trip");
    const peer = await peerRoundTrip(seconds);
    opts.progress?.("latency floor: HTTP round trip");
    const http = await httpRoundTrip(seconds);
    return {
      httpRoundTrip: http,
      peerRoundTrip: peer,
      fdatasyncAlone,
      fdatasyncThreeAtOnce,
      writeFloorP50Ms: +((http.p50Us + peer.p50Us + fdatasyncThreeAtOnce.p50Us) / 1000).toFixed(3),
      secondsPerPart: seconds,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** One line: the floor and its parts, p50s in ms. */
export function describeFloor(f: LatencyFloor): string {
  return `floor of a lone client's write: ${floorParts(f)}`;
}

/** The floor's sum and its parts, p50s in ms. */
export function floorParts(f: LatencyFloor): string {
  const ms = (us: number) => (us / 1000).toFixed(3);
  return `${f.writeFloorP50Ms.toFixed(3)} ms p50 = HTTP round trip ${
    ms(f.httpRoundTrip.p50Us)
  } + peer round trip ${ms(f.peerRoundTrip.p50Us)} + fdatasync with three syncing at once ${
    ms(f.fdatasyncThreeAtOnce.p50Us)
  } (alone: ${ms(f.fdatasyncAlone.p50Us)})`;
}
