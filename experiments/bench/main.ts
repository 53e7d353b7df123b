/**
 * `deno task bench <name> [flags]`: every benchmark prints its numbers, writes JSON (and an SVG
 * chart where it has a series) to bench-results/. A usage error (unknown flag, bad value) is one line
 * plus where the help is, exit 2, before anything runs.
 */
import { runWithUsage, UsageError } from "../../src/cli/args.ts";

const benches: Record<
  string,
  { about: string; flags?: string; load: () => Promise<{ run(args: string[]): Promise<void> }> }
> = {
  core: {
    about: "3 in-memory Raft nodes, no I/O: committed entries/s and simulator steps/s",
    flags: "[--seconds 3]",
    load: () => import("./core.ts"),
  },
  steady: {
    about: "3-node local cluster, 1..256 clients: throughput and latency percentiles",
    flags: "[--seconds 5] [--levels 1,8,64,256] [--mode write|read|both]",
    load: () => import("./steady.ts"),
  },
  wal: {
    about: "RaftStorage.save: appends/s and p50/p99 latency, 1/8/64 writers",
    flags: "[--seconds 3] [--writers 1,8,64] [--dir PATH]",
    load: () => import("./wal.ts"),
  },
  transport: {
    about: "peer transport: one-way messages/s and round trips/s",
    flags: "[--seconds 5]",
    load: () => import("./transport.ts"),
  },
  check: {
    about: "linearizability checker on 10k..1M-operation histories: time and memory",
    flags: "[--quick] [--sizes 10k,100k,1M] [--unknown 0.01] [--seed 1]",
    load: () => import("./check.ts"),
  },
};

function listing(): string {
  return "benchmarks:\n" +
    Object.entries(benches).map(([n, b]) =>
      `  ${n.padEnd(10)} ${b.about}\n             ${n} ${b.flags ?? ""}`
    )
      .join("\n");
}

const [name, ...rest] = Deno.args;
await runWithUsage(name && name in benches ? `bench ${name}` : "bench", async () => {
  if (name === undefined || name === "--help" || name === "-h") {
    console.log(`usage: deno task bench <name> [flags]\n${listing()}`);
    return name === undefined ? 2 : 0;
  }
  const bench = Object.hasOwn(benches, name) ? benches[name] : undefined;
  if (!bench) throw new UsageError(`unknown benchmark "${name}" (${Object.keys(benches).join(", ")})`);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`usage: deno task bench ${name} ${bench.flags ?? ""}\n${bench.about}`);
    return 0;
  }
  await (await bench.load()).run(rest);
});
