/**
 * cert-manager's CA issuer for the `spec.tls.issuerRef` e2e: the fixture in `testdata/cert-manager-ca/`
 * runs cert-manager's own controllers (the internal approver, the Issuer controller and the
 * CertificateRequest CA issuer) from the published `github.com/cert-manager/cert-manager` Go module,
 * since its images (quay.io) cannot be pulled here. It is built once per machine into
 * `~/.cache/raft-kv/cert-manager-ca-<hash of go.mod, go.sum and main.go>/cert-manager-ca`, as promtool is.
 * `deno run -A src/operator/raftcluster/cert_manager_ca.ts` builds it (CI does, in .ci/run, beside the
 * tests); the e2e takes the same lock and waits for it, and fails with the build's error if it fails.
 */
import { elapsed, goUnavailable } from "../../localkube/build.ts";

const MODULE_DIR = new URL("./testdata/cert-manager-ca/", import.meta.url).pathname;
const SOURCES = ["go.mod", "go.sum", "main.go"];

/** cert-manager's own CRDs, from the same module version the fixture is built from. */
export async function certManagerCrdDir(): Promise<string> {
  const out = await new Deno.Command("go", {
    args: ["list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager"],
    cwd: MODULE_DIR,
    env: { GOFLAGS: "-mod=readonly" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `go list of the cert-manager module failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return `${new TextDecoder().decode(out.stdout).trim()}/deploy/crds`;
}

function cacheRoot(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${base}/raft-kv`;
}

/** Editing the fixture (another cert-manager version, other controllers) means a new build. */
async function binaryPath(): Promise<string> {
  const text = SOURCES.map((f) => Deno.readTextFileSync(MODULE_DIR + f)).join("\0");
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const hex = Array.from(hash.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${cacheRoot()}/cert-manager-ca-${hex}/cert-manager-ca`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Builds the fixture unless it is cached; throws with the reason when Go is missing or the build fails. */
export async function ensureCertManagerCa(log: (line: string) => void): Promise<string> {
  const path = await binaryPath();
  if (await exists(path)) return path;
  const why = await goUnavailable();
  if (why) throw new Error(`cannot build cert-manager's CA issuer: ${why}`);
  await Deno.mkdir(cacheRoot(), { recursive: true });
  // One build at a time per machine; a second caller (the e2e while CI builds) waits, then finds it.
  const lock = await Deno.open(`${cacheRoot()}/cert-manager-ca.lock`, { create: true, write: true });
  try {
    await lock.lock(true);
    if (await exists(path)) return path;
    const started = performance.now();
    log(`building cert-manager's CA issuer from its Go module into ${path} (first run only, a few minutes)`);
    const partial = `${path}.partial-${Deno.pid}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const out = await new Deno.Command("go", {
      args: ["build", "-trimpath", "-ldflags=-s -w", "-o", partial, "."],
      cwd: MODULE_DIR,
      env: { GOFLAGS: "-mod=readonly -buildvcs=false" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      await Deno.remove(partial).catch(() => {});
      const stderr = new TextDecoder().decode(out.stderr).trim().slice(-3000);
      throw new Error(`go build of cert-manager's CA issuer failed (exit ${out.code}): ${stderr}`);
    }
    await Deno.rename(partial, path);
    log(`cert-manager's CA issuer built in ${elapsed(started)}: ${path}`);
    return path;
  } finally {
    lock.close();
  }
}

/** The fixture running against one cluster, its output appended to a log file. */
export class CertManagerCaProcess {
  private constructor(
    readonly child: Deno.ChildProcess,
    readonly exited: Promise<Deno.CommandStatus>,
    readonly logPath: string,
  ) {}

  static async start(binary: string, kubeconfig: string, namespace: string, logPath: string) {
    const log = await Deno.open(logPath, { write: true, create: true, append: true });
    const child = new Deno.Command(binary, {
      args: ["--kubeconfig", kubeconfig, "--namespace", namespace],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const copying = Promise.all([child.stdout, child.stderr].map(async (stream) => {
      for await (const chunk of stream) {
        for (let written = 0; written < chunk.length;) written += await log.write(chunk.subarray(written));
      }
    })).finally(() => log.close());
    const exited = Promise.all([child.status, copying]).then(([status]) => status);
    return new CertManagerCaProcess(child, exited, logPath);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** SIGTERM, then SIGKILL if it has not exited within graceMs. */
  async stop(graceMs = 5_000): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already exited
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), graceMs));
    const status = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (status) return status;
    try {
      this.child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
    return await this.exited;
  }

  async log(): Promise<string> {
    return await Deno.readTextFile(this.logPath).catch(() => "");
  }
}

if (import.meta.main) {
  try {
    console.log(await ensureCertManagerCa((line) => console.error(line)));
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
