/**
 * cert-manager's CA issuer for the `spec.tls.issuerRef` e2e: the fixture in `testdata/cert-manager-ca/`
 * runs cert-manager's own controllers (the internal approver, the Issuer controller and the
 * CertificateRequest CA issuer) from the published `github.com/cert-manager/cert-manager` Go module,
 * since its images (quay.io) cannot be pulled here. It is built once per machine into
 * `~/.cache/raft-kv/cert-manager-ca-<hash of go.mod, go.sum and main.go>/cert-manager-ca`, as promtool is.
 * `deno run -A src/operator/raftcluster/cert_manager_ca.ts` builds it (CI does, in .ci/run, beside the
 * tests); the e2e takes the same lock and waits for it, and fails with the build's error if it fails.
 */
import { buildFromCommandLine, ensureGoBinary, type GoFixture } from "../../localkube/cached_go_binary.ts";

const MODULE_DIR = new URL("./testdata/cert-manager-ca/", import.meta.url).pathname;
const FIXTURE: GoFixture = {
  name: "cert-manager-ca",
  what: "cert-manager's CA issuer",
  moduleDir: MODULE_DIR,
  sources: ["go.mod", "go.sum", "main.go"],
  pkg: ".",
};

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

/** Builds the fixture unless it is cached; throws with the reason when Go is missing or the build fails. */
export function ensureCertManagerCa(log: (line: string) => void): Promise<string> {
  return ensureGoBinary(FIXTURE, log);
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

if (import.meta.main) await buildFromCommandLine(FIXTURE);
