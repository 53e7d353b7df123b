/**
 * Builds the upstream control plane from the Go modules in `build/` once, into a cache outside the
 * repo keyed by the Kubernetes version and a hash of the build files; later runs find it there.
 *   build/kube: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (one binary)
 *   build/etcd: etcd
 * and, for the real node (`--node kubelet`):
 *   build/node:       kubelet and kube-proxy (one binary), the same versions as build/kube
 *   build/node/pause: the pod sandbox ("pause") program, static
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

const NODE_BUILD_FILES = ["node/go.mod", "node/go.sum", "node/main.go", "node/pause/main.go"];

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

export function cacheRoot(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${base}/raft-kv`;
}

/** `<cache>/raft-kv/kube-<version>-<hash of the build files>`: editing a build file means a new build. */
export async function binaryCacheDir(): Promise<string> {
  return `${cacheRoot()}/kube-${kubeVersion()}-${await filesHash(BUILD_FILES)}`;
}

/** `<cache>/raft-kv/node-<version>-<hash of the node's build files>`, beside the control plane. */
export async function nodeBinaryCacheDir(): Promise<string> {
  return `${cacheRoot()}/node-${kubeVersion()}-${await filesHash(NODE_BUILD_FILES)}`;
}

async function filesHash(files: string[]): Promise<string> {
  const hash = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(files.map((f) => Deno.readTextFileSync(BUILD_DIR + f)).join("\0")),
    ),
  );
  return Array.from(hash.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
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
  return await buildLocked("the control plane", cachedBinaries, finalDir, log, async (workDir) => {
    log(`building Kubernetes ${kubeVersion()} and etcd from Go modules into ${finalDir} (first run only)`);
    await Promise.all([
      goBuild({ label: "kube", module: "kube", output: `${workDir}/bin/kube`, stamp: true }, log),
      goBuild({ label: "etcd", module: "etcd", output: `${workDir}/bin/etcd`, stamp: false }, log),
    ]);
    for (const command of KUBE_COMMANDS) await Deno.symlink("kube", `${workDir}/bin/${command}`);
    return binariesIn(finalDir);
  });
}

export interface NodeBinaries {
  dir: string;
  kubelet: string;
  kubeProxy: string;
  /** The sandbox program that localkube packs into its pause image. */
  pause: string;
}

function nodeBinariesIn(dir: string): NodeBinaries {
  const bin = `${dir}/bin`;
  return { dir: bin, kubelet: `${bin}/kubelet`, kubeProxy: `${bin}/kube-proxy`, pause: `${bin}/pause` };
}

export async function cachedNodeBinaries(): Promise<NodeBinaries | undefined> {
  const binaries = nodeBinariesIn(await nodeBinaryCacheDir());
  try {
    for (const path of [binaries.kubelet, binaries.kubeProxy, binaries.pause]) await Deno.stat(path);
    return binaries;
  } catch {
    return undefined;
  }
}

/** kubelet, kube-proxy and pause, cached; building them first if needed (~4 min with warm Go caches). */
export async function ensureNodeBinaries(log: (line: string) => void): Promise<NodeBinaries> {
  const cached = await cachedNodeBinaries();
  if (cached) return cached;
  const why = await goUnavailable();
  if (why) throw new Error(`cannot build the kubelet: ${why}`);
  const finalDir = await nodeBinaryCacheDir();
  return await buildLocked("the kubelet", cachedNodeBinaries, finalDir, log, async (workDir) => {
    log(
      `building kubelet, kube-proxy ${kubeVersion()} and pause from Go modules into ${finalDir} (first run only)`,
    );
    await goBuild({ label: "node", module: "node", output: `${workDir}/bin/node`, stamp: true }, log);
    await goBuild({
      label: "pause",
      module: "node",
      pkg: "./pause",
      output: `${workDir}/bin/pause`,
      stamp: false,
      env: { CGO_ENABLED: "0" }, // static: the pause image is FROM scratch
    }, log);
    for (const command of ["kubelet", "kube-proxy"]) await Deno.symlink("node", `${workDir}/bin/${command}`);
    return nodeBinariesIn(finalDir);
  });
}

/**
 * One Go build at a time per machine (2 cores): a second caller waits on the lock, then finds the
 * result. `build` fills `<finalDir>.partial-<pid>/bin`, which is renamed into place when it succeeds.
 */
async function buildLocked<T>(
  what: string,
  cached: () => Promise<T | undefined>,
  finalDir: string,
  log: (line: string) => void,
  build: (workDir: string) => Promise<T>,
): Promise<T> {
  await Deno.mkdir(cacheRoot(), { recursive: true });
  const lock = await Deno.open(`${cacheRoot()}/build.lock`, { create: true, write: true });
  try {
    const notice = setTimeout(
      () => log(`waiting for ${cacheRoot()}/build.lock: another process is building Go binaries`),
      500,
    );
    await lock.lock(true).finally(() => clearTimeout(notice));
    const built = await cached();
    if (built) return built;
    const workDir = `${finalDir}.partial-${Deno.pid}`;
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${workDir}/bin`, { recursive: true });
    const started = performance.now();
    let result: T;
    try {
      result = await build(workDir);
      await Deno.rename(workDir, finalDir);
    } catch (e) {
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
      throw e;
    }
    log(`${what} built in ${elapsed(started)}: ${finalDir}/bin`);
    return result;
  } finally {
    lock.close();
  }
}

interface GoTarget {
  label: string;
  module: "kube" | "etcd" | "node";
  /** The main package inside the module (default "."). */
  pkg?: string;
  output: string;
  /** Stamp the Kubernetes version in, as Kubernetes' own build does. */
  stamp: boolean;
  env?: Record<string, string>;
}

async function goBuild(target: GoTarget, log: (line: string) => void): Promise<void> {
  const module = target.label;
  const output = target.output;
  const cwd = BUILD_DIR + target.module;
  const pkg = target.pkg ?? ".";
  const env = { GOFLAGS: "-mod=readonly -buildvcs=false", ...target.env };
  const started = performance.now();
  log(`[${module}] downloading Go modules`);
  await run(["mod", "download"], cwd, env, `go mod download in ${cwd}`);
  const listed = await run(["list", "-deps", pkg], cwd, env, `go list -deps ${pkg} in ${cwd}`);
  const total = listed.split("\n").filter(Boolean).length;
  log(`[${module}] modules ready after ${elapsed(started)}; compiling up to ${total} packages`);
  const child = new Deno.Command("go", {
    args: [
      "build",
      "-v",
      "-trimpath",
      `-ldflags=-s -w ${target.stamp ? versionStamp() : ""}`,
      "-o",
      output,
      pkg,
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
      throw new Error(
        `go build of ${pkg} in ${cwd} failed (exit ${status.code}):\n${errors.slice(-30).join("\n")}`,
      );
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
