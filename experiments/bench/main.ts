/**
 * `deno task bench <name> [flags]`: every benchmark prints its numbers, writes JSON (and an SVG
 * chart where it has a series) to bench-results/.
 */
const benches: Record<
  string,
  { about: string; load: () => Promise<{ run(args: string[]): Promise<void> }> }
> = {
  core: {
    about: "3 in-memory Raft nodes, no I/O: committed entries/s and simulator steps/s",
    load: () => import("./core.ts"),
  },
  steady: {
    about: "3-node local cluster, 1..256 clients: throughput and latency percentiles",
    load: () => import("./steady.ts"),
  },
  wal: {
    about: "RaftStorage.save: appends/s and p50/p99 latency, 1/8/64 writers",
    load: () => import("./wal.ts"),
  },
  transport: {
    about: "peer transport: one-way messages/s and round trips/s",
    load: () => import("./transport.ts"),
  },
  "snapshot-stall": {
    about: "snapshot of a large KV state (200k x 500 B): event-loop blocking of encode, save, decode",
    load: () => import("./snapshot_stall.ts"),
  },
  check: {
    about: "linearizability checker on 10k..1M-operation histories: time and memory",
    load: () => import("./check.ts"),
  },
};

const [name, ...rest] = Deno.args;
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(name ? `unknown benchmark "${name}"` : "usage: deno task bench <name> [flags]");
  console.error("benchmarks:");
  for (const [n, b] of Object.entries(benches)) console.error(`  ${n.padEnd(8)} ${b.about}`);
  Deno.exit(2);
}
await (await bench.load()).run(rest);
