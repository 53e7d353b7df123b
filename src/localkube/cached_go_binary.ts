/**
 * A Go test fixture built from published Go modules once per machine and cached, as the localkube
 * control plane is: `~/.cache/raft-kv/<name>-<hash of its source files>/<name>`. Editing a source file
 * (another module version) means a new build. One build at a time per fixture and machine: a second
 * caller (a test while CI builds it in the background) waits on the lock, then finds the result.
 * Used for promtool (src/server/promtool.ts) and cert-manager's CA issuer
 * (src/operator/raftcluster/cert_manager_ca.ts).
 */
import { cacheRoot, elapsed, goUnavailable } from "./build.ts";

export interface GoFixture {
  /** File and cache directory name, e.g. "promtool". */
  name: string;
  /** What it is, for progress and error lines, e.g. "cert-manager's CA issuer". */
  what: string;
  /** The directory holding its go.mod. */
  moduleDir: string;
  /** Files in moduleDir whose content names the build (go.mod, go.sum, main.go). */
  sources: string[];
  /** The package to build: "." or an import path of a required module's command. */
  pkg: string;
}

async function binaryPath(fixture: GoFixture): Promise<string> {
  const text = fixture.sources.map((f) => Deno.readTextFileSync(fixture.moduleDir + f)).join("\0");
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const hex = Array.from(hash.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${cacheRoot()}/${fixture.name}-${hex}/${fixture.name}`;
}

/** The built binary, or undefined if it has not been built on this machine. */
export async function cachedGoBinary(fixture: GoFixture): Promise<string | undefined> {
  const path = await binaryPath(fixture);
  try {
    await Deno.stat(path);
    return path;
  } catch {
    return undefined;
  }
}

/** Builds the fixture unless it is cached; throws with the reason when Go is missing or the build fails. */
export async function ensureGoBinary(fixture: GoFixture, log: (line: string) => void): Promise<string> {
  const cached = await cachedGoBinary(fixture);
  if (cached) return cached;
  const why = await goUnavailable();
  if (why) throw new Error(`cannot build ${fixture.what}: ${why}`);
  const path = await binaryPath(fixture);
  await Deno.mkdir(cacheRoot(), { recursive: true });
  const lock = await Deno.open(`${cacheRoot()}/${fixture.name}.lock`, { create: true, write: true });
  try {
    await lock.lock(true);
    if (await cachedGoBinary(fixture)) return path;
    const started = performance.now();
    log(`building ${fixture.what} from its Go module into ${path} (first run only, a few minutes)`);
    const partial = `${path}.partial-${Deno.pid}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const out = await new Deno.Command("go", {
      args: ["build", "-trimpath", "-ldflags=-s -w", "-o", partial, fixture.pkg],
      cwd: fixture.moduleDir,
      env: { GOFLAGS: "-mod=readonly -buildvcs=false" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      await Deno.remove(partial).catch(() => {});
      const stderr = new TextDecoder().decode(out.stderr).trim().slice(-3000);
      throw new Error(`go build of ${fixture.what} failed (exit ${out.code}): ${stderr}`);
    }
    await Deno.rename(partial, path);
    log(`${fixture.what} built in ${elapsed(started)}: ${path}`);
    return path;
  } finally {
    lock.close();
  }
}

/** `deno run -A <fixture module>` builds it: the fixture module's `import.meta.main` calls this. */
export async function buildFromCommandLine(fixture: GoFixture): Promise<void> {
  try {
    console.log(await ensureGoBinary(fixture, (line) => console.error(line)));
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
