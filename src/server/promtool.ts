/**
 * promtool, the Prometheus project's own checker of the metrics exposition format, built from the
 * `github.com/prometheus/prometheus` Go module pinned in `promtool/go.mod` (a `tool` directive) once per
 * machine, into `~/.cache/raft-kv/promtool-<hash of go.mod and go.sum>/promtool`, as the localkube control
 * plane is built. `deno run -A src/server/promtool.ts` builds it (CI does, in .ci/run); the metrics test
 * uses it, and says SKIPPED when Go is missing.
 */
import { elapsed, goUnavailable } from "../localkube/build.ts";

const MODULE_DIR = new URL("./promtool/", import.meta.url).pathname;

function cacheRoot(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${base}/raft-kv`;
}

/** Editing go.mod or go.sum (another Prometheus version) means a new build. */
async function binaryPath(): Promise<string> {
  const text = ["go.mod", "go.sum"].map((f) => Deno.readTextFileSync(MODULE_DIR + f)).join("\0");
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const hex = Array.from(hash.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${cacheRoot()}/promtool-${hex}/promtool`;
}

/** The built promtool, or undefined if it has not been built on this machine. */
export async function cachedPromtool(): Promise<string | undefined> {
  const path = await binaryPath();
  try {
    await Deno.stat(path);
    return path;
  } catch {
    return undefined;
  }
}

/** Builds promtool unless it is cached; throws with the reason when Go is missing or the build fails. */
export async function ensurePromtool(log: (line: string) => void): Promise<string> {
  const cached = await cachedPromtool();
  if (cached) return cached;
  const why = await goUnavailable();
  if (why) throw new Error(`cannot build promtool: ${why}`);
  const path = await binaryPath();
  await Deno.mkdir(cacheRoot(), { recursive: true });
  // One build at a time per machine; a second caller waits, then finds the result.
  const lock = await Deno.open(`${cacheRoot()}/promtool.lock`, { create: true, write: true });
  try {
    await lock.lock(true);
    if (await cachedPromtool()) return path;
    const started = performance.now();
    log(`building promtool from the Prometheus Go module into ${path} (first run only, a few minutes)`);
    const partial = `${path}.partial-${Deno.pid}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const out = await new Deno.Command("go", {
      args: [
        "build",
        "-trimpath",
        "-ldflags=-s -w",
        "-o",
        partial,
        "github.com/prometheus/prometheus/cmd/promtool",
      ],
      cwd: MODULE_DIR,
      env: { GOFLAGS: "-mod=readonly -buildvcs=false" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      await Deno.remove(partial).catch(() => {});
      const stderr = new TextDecoder().decode(out.stderr).trim().slice(-3000);
      throw new Error(`go build of promtool failed (exit ${out.code}): ${stderr}`);
    }
    await Deno.rename(partial, path);
    log(`promtool built in ${elapsed(started)}: ${path}`);
    return path;
  } finally {
    lock.close();
  }
}

if (import.meta.main) {
  try {
    console.log(await ensurePromtool((line) => console.error(line)));
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
