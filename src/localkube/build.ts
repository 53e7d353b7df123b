/**
 * Builds the upstream control plane from the Go modules in `build/` once, into a cache outside the
 * repo keyed by the Kubernetes version and a hash of the build files; later runs find it there.
 *   build/kube: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (one binary)
 *   build/etcd: etcd
 */

const BUILD_DIR = new URL("./build/", import.meta.url).pathname;
const BUILD_FILES = [
  "kube/go.mod",
  "kube/go.sum",
  "kube/main.go",
  "etcd/go.mod",
  "etcd/go.sum",
  "etcd/main.go",
];
export const KUBE_COMMANDS = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
] as const;

export interface Binaries {
  dir: string;
  etcd: string;
  apiserver: string;
  controllerManager: string;
  scheduler: string;
  kubectl: string;
}

export function kubeVersion(): string {
  const goMod = Deno.readTextFileSync(BUILD_DIR + "kube/go.mod");
  const match = goMod.match(/^\s*(?:require\s+)?k8s\.io\/kubernetes (v\S+)\s*$/m);
  if (!match) throw new Error(`${BUILD_DIR}kube/go.mod does not require k8s.io/kubernetes`);
  return match[1];
}

function cacheRoot(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${base}/raft-kv`;
}

/** `<cache>/raft-kv/kube-<version>-<hash of the build files>`: editing a build file means a new build. */
export async function binaryCacheDir(): Promise<string> {
  const hash = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(BUILD_FILES.map((f) => Deno.readTextFileSync(BUILD_DIR + f)).join("\0")),
    ),
  );
  const hex = Array.from(hash.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${cacheRoot()}/kube-${kubeVersion()}-${hex}`;
}

function binariesIn(dir: string): Binaries {
  const bin = `${dir}/bin`;
  return {
    dir: bin,
    etcd: `${bin}/etcd`,
    apiserver: `${bin}/kube-apiserver`,
    controllerManager: `${bin}/kube-controller-manager`,
    scheduler: `${bin}/kube-scheduler`,
    kubectl: `${bin}/kubectl`,
  };
}

/** The binaries if they are already built, else undefined. */
export async function cachedBinaries(): Promise<Binaries | undefined> {
  const binaries = binariesIn(await binaryCacheDir());
  try {
    for (const path of [binaries.etcd, binaries.apiserver, binaries.kubectl]) await Deno.stat(path);
    return binaries;
  } catch {
    return undefined;
  }
}

/** Why the Go toolchain cannot build the control plane, or undefined when it can. */
export async function goUnavailable(): Promise<string | undefined> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("go", { args: ["version"], stdout: "piped", stderr: "piped" }).output();
  } catch {
    return "the Go toolchain (`go`) is not on PATH; install Go >= 1.26 to build the Kubernetes control plane";
  }
  const text = new TextDecoder().decode(output.stdout);
  const version = text.match(/go(\d+)\.(\d+)/);
  if (!output.success || !version) {
    return `\`go version\` failed: ${new TextDecoder().decode(output.stderr).trim()}`;
  }
  if (Number(version[1]) === 1 && Number(version[2]) < 26) {
    return `Go ${version[1]}.${
      version[2]
    } is too old to build Kubernetes ${kubeVersion()}; install Go >= 1.26`;
  }
  return undefined;
}

/** The cached binaries, building them first if needed (about 20 minutes on 2 cores from nothing). */
export async function ensureBinaries(log: (line: string) => void): Promise<Binaries> {
  const cached = await cachedBinaries();
  if (cached) return cached;
  const why = await goUnavailable();
  if (why) throw new Error(`cannot build the Kubernetes control plane: ${why}`);
  const finalDir = await binaryCacheDir();
  await Deno.mkdir(cacheRoot(), { recursive: true });
  // One build at a time per machine: a second caller waits here, then finds the result.
  const lock = await Deno.open(`${cacheRoot()}/build.lock`, { create: true, write: true });
  try {
    const notice = setTimeout(
      () => log(`waiting for ${cacheRoot()}/build.lock: another process is building the control plane`),
      500,
    );
    await lock.lock(true).finally(() => clearTimeout(notice));
    const built = await cachedBinaries();
    if (built) return built;
    const workDir = `${finalDir}.partial-${Deno.pid}`;
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${workDir}/bin`, { recursive: true });
    const started = performance.now();
    log(`building Kubernetes ${kubeVersion()} and etcd from Go modules into ${finalDir} (first run only)`);
    try {
      await Promise.all([
        goBuild("kube", `${workDir}/bin/kube`, log),
        goBuild("etcd", `${workDir}/bin/etcd`, log),
      ]);
      for (const command of KUBE_COMMANDS) await Deno.symlink("kube", `${workDir}/bin/${command}`);
      await Deno.rename(workDir, finalDir);
    } catch (e) {
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
      throw e;
    }
    log(`control plane built in ${elapsed(started)}: ${finalDir}/bin`);
    return binariesIn(finalDir);
  } finally {
    lock.close();
  }
}

async function goBuild(module: "kube" | "etcd", output: string, log: (line: string) => void): Promise<void> {
  const cwd = BUILD_DIR + module;
  const env = { GOFLAGS: "-mod=readonly -buildvcs=false" };
  const started = performance.now();
  log(`[${module}] downloading Go modules`);
  await run(["mod", "download"], cwd, env, `go mod download in ${cwd}`);
  const listed = await run(["list", "-deps", "."], cwd, env, `go list -deps in ${cwd}`);
  const total = listed.split("\n").filter(Boolean).length;
  log(`[${module}] modules ready after ${elapsed(started)}; compiling up to ${total} packages`);
  const child = new Deno.Command("go", {
    args: [
      "build",
      "-v",
      "-trimpath",
      `-ldflags=-s -w ${module === "kube" ? versionStamp() : ""}`,
      "-o",
      output,
      ".",
    ],
    cwd,
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // `go build -v` names each package as it compiles it: count them for the progress line.
  let compiled = 0;
  let lastPackage = "";
  const errors: string[] = [];
  const ticker = setInterval(() => {
    log(`[${module}] ${compiled}/${total} packages compiled, ${elapsed(started)} (last: ${lastPackage})`);
  }, 30_000);
  try {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      for (const line of chunk.split("\n").filter(Boolean)) {
        if (/^[\w.\-/]+$/.test(line)) {
          compiled++;
          lastPackage = line;
        } else {
          errors.push(line);
        }
      }
    }
    const status = await child.status;
    if (!status.success) {
      throw new Error(`go build of ${cwd} failed (exit ${status.code}):\n${errors.slice(-30).join("\n")}`);
    }
  } finally {
    clearInterval(ticker);
  }
  const size = (await Deno.stat(output)).size;
  log(`[${module}] built ${output} (${(size / 2 ** 20).toFixed(0)} MiB) in ${elapsed(started)}`);
}

/** What Kubernetes' own build stamps in (hack/lib/version.sh), so `--version` and discovery tell the truth. */
function versionStamp(): string {
  const version = kubeVersion();
  const [major, minor] = version.slice(1).split(".");
  return ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]).join(" ");
}

async function run(args: string[], cwd: string, env: Record<string, string>, what: string): Promise<string> {
  const out = await new Deno.Command("go", { args, cwd, env, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${what} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr).trim().slice(-3000)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

export function elapsed(startedMs: number): string {
  const seconds = Math.round((performance.now() - startedMs) / 1000);
  return seconds >= 60
    ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`
    : `${seconds}s`;
}
