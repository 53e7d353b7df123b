/**
 * `deno task bench <name> [flags]` / `deno task bench all [--quick] [--compare etcd]`: every
 * benchmark prints its progress and numbers and writes JSON, SVG charts and a short markdown
 * summary to bench-results/ (RAFTKV_RESULTS_DIR redirects them).
 */
import { plainMessage, UsageError, usageErrorLines } from "../../src/cli/args.ts";

interface Bench {
  about: string;
  /** Part of `bench all` (the five evaluation benchmarks). */
  inAll: boolean;
  /** Takes --compare etcd. */
  comparesEtcd?: boolean;
  /** Its flags, for `--help`, where its own run() does not answer --help itself. */
  flags?: string;
  load: () => Promise<{ run(args: string[]): Promise<void> }>;
}

const benches: Record<string, Bench> = {
  steady: {
    about: "3-node cluster, 1..256 clients closed loop and fixed offered rates open loop (--compare etcd)",
    inAll: true,
    comparesEtcd: true,
    load: () => import("./steady.ts"),
  },
  failover: {
    about: "SIGKILL the leader N times: time to a new leader and to the first write; a follower's disk lost",
    inAll: true,
    comparesEtcd: true,
    load: () => import("./failover.ts"),
  },
  reconfig: {
    about: "3 -> 5 -> 3 under writes (the leader leaves on the way down): each step's duration and cost",
    inAll: true,
    load: () => import("./reconfig.ts"),
  },
  snapshot: {
    about: "10k/100k/1M keys: snapshot size and time, restart-to-serving, a learner's catch-up",
    inAll: true,
    load: () => import("./snapshot.ts"),
  },
  check: {
    about: "linearizability checker on 10k..1M-operation histories: time and memory",
    inAll: false,
    flags: "[--quick] [--sizes 10k,100k,1M] [--unknown FRACTION] [--seed N]",
    load: () => import("./check.ts"),
  },
  "check-vs-porcupine": {
    about: "the checker against Porcupine (Go) on Porcupine's kv fixtures, alternating: CPU and wall per run",
    inAll: false,
    load: () => import("./check_vs_porcupine.ts"),
  },
  summary: {
    about: "prints the README's performance tables from the result files in bench-results/",
    inAll: false,
    flags: "(no flags: reads bench-results/)",
    load: () => import("./summary.ts"),
  },
  core: {
    about: "3 in-memory Raft nodes, no I/O: committed entries/s and simulator steps/s",
    inAll: false,
    flags: "[--seconds S]",
    load: () => import("./core.ts"),
  },
  floor: {
    about: "the floor of a lone client's write here: HTTP and peer round trips, fdatasync (1 and 3 at once)",
    inAll: false,
    flags: "[--seconds S] [--dir PATH]",
    load: () => import("./floor.ts"),
  },
  wal: {
    about: "RaftStorage.save: appends/s and p50/p99 latency, 1/8/64 writers",
    inAll: false,
    flags: "[--seconds S] [--writers 1,8,64] [--dir PATH]",
    load: () => import("./wal.ts"),
  },
  "tls-cost": {
    about:
      "the cost of TLS: plain, TLS and TLS-tokens-only 3-node clusters under one closed loop, alternating",
    inAll: false,
    load: () => import("./tls_cost.ts"),
  },
  transport: {
    about: "peer transport: one-way messages/s and round trips/s",
    inAll: false,
    flags: "[--seconds S]",
    load: () => import("./transport.ts"),
  },
  "snapshot-stall": {
    about: "snapshot of a large KV state (200k x 500 B): event-loop blocking of encode, save, decode",
    inAll: false,
    flags: "[--keys N] [--value-bytes B]",
    load: () => import("./snapshot_stall.ts"),
  },
  "snapshot-fsync": {
    about: "WAL save latency while a 100 MB snapshot file is written or removed: in pieces vs at once",
    inAll: false,
    flags: "[--mb N] [--rounds R] [--dir PATH]",
    load: () => import("./snapshot_fsync.ts"),
  },
  "state-size": {
    about: "10k/200k/... keys of 500 B: writes and reads at 64 clients, peak RSS, snapshots (--compare etcd)",
    inAll: false,
    comparesEtcd: true,
    load: () => import("./state_size.ts"),
  },
  "node-memory": {
    about:
      "one real node's memory at 200k keys: heap, external, log buffers, image held (--expose-gc: see file)",
    inAll: false,
    flags:
      "[--keys N] [--value-bytes B] [--writes N] [--trim: needs --allow-ffi]   (run with --v8-flags=--expose-gc: see the file)",
    load: () => import("./node_memory.ts"),
  },
  "state-memory": {
    about: "RSS and heap per byte of live data at 10k/100k/1M keys: map, log, snapshot image",
    inAll: false,
    flags: "[--sizes 10000,100000,1000000] [--value-bytes B]",
    load: () => import("./state_memory.ts"),
  },
};

function usage(): string {
  return [
    "usage: deno task bench <name> [--quick] [flags]   (deno task bench <name> --help for its flags)",
    "       deno task bench all [--quick] [--compare etcd]   (steady, failover, reconfig, snapshot: the five result files)",
    "benchmarks:",
    ...Object.entries(benches).map(([n, b]) => `  ${n.padEnd(10)} ${b.about}`),
  ].join("\n");
}

const [name, ...rest] = Deno.args;
if (name === "--help" || name === "-h") {
  console.log(usage());
  Deno.exit(0);
}
try {
  if (name === "all") {
    const unknown = rest.filter((a) => !["--quick", "--compare", "etcd"].includes(a));
    if (unknown.length) {
      throw new UsageError(`bench all takes --quick and --compare etcd, not ${unknown.join(" ")}`);
    }
    for (const [n, b] of Object.entries(benches).filter(([, b]) => b.inAll)) {
      console.log(`\n=== bench ${n}`);
      const args = b.comparesEtcd ? rest : rest.filter((a) => a === "--quick");
      await (await b.load()).run(args);
    }
  } else {
    const bench = name ? benches[name] : undefined;
    if (!bench) throw new UsageError(name ? `unknown benchmark "${name}"` : "which benchmark?");
    if (bench.flags !== undefined && rest.some((a) => a === "--help" || a === "-h")) {
      console.log(`usage: deno task bench ${name} ${bench.flags}\n${bench.about}`);
      Deno.exit(0);
    }
    await (await bench.load()).run(rest);
  }
} catch (e) {
  // node:util's parseArgs throws TypeErrors with an ERR_PARSE_ARGS_* code: a usage error too.
  const parseError = (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
  if (!(e instanceof UsageError) && !parseError) throw e;
  const error = e instanceof UsageError ? e : new UsageError(plainMessage(e));
  console.error(usageErrorLines(name && benches[name] ? `bench ${name}` : "bench", error));
  Deno.exit(2);
}
