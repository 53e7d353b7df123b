/**
 * promtool, the Prometheus project's own checker of the metrics exposition format, built from the
 * `github.com/prometheus/prometheus` Go module pinned in `promtool/go.mod` (a `tool` directive) once per
 * machine, into `~/.cache/raft-kv/promtool-<hash of go.mod and go.sum>/promtool`, as the localkube control
 * plane is built. `deno run -A src/server/promtool.ts` builds it (CI does, in .ci/run); the metrics test
 * uses it, and says SKIPPED when Go is missing.
 */
import {
  buildFromCommandLine,
  cachedGoBinary,
  ensureGoBinary,
  type GoFixture,
} from "../localkube/cached_go_binary.ts";

const MODULE_DIR = new URL("./promtool/", import.meta.url).pathname;

const FIXTURE: GoFixture = {
  name: "promtool",
  what: "promtool",
  moduleDir: MODULE_DIR,
  // Editing go.mod or go.sum (another Prometheus version) means a new build.
  sources: ["go.mod", "go.sum"],
  pkg: "github.com/prometheus/prometheus/cmd/promtool",
};

/** The built promtool, or undefined if it has not been built on this machine. */
export function cachedPromtool(): Promise<string | undefined> {
  return cachedGoBinary(FIXTURE);
}

/** Builds promtool unless it is cached; throws with the reason when Go is missing or the build fails. */
export function ensurePromtool(log: (line: string) => void): Promise<string> {
  return ensureGoBinary(FIXTURE, log);
}

if (import.meta.main) await buildFromCommandLine(FIXTURE);
