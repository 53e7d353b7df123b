/**
 * One pod bound to this node, from start to finalization: address, volumes, environment, one
 * ContainerRunner per container, status reports; on deletion SIGTERM, the grace period, SIGKILL,
 * then the pod object is removed.
 */
import { KubeApi, KubeApiError } from "../kube_api.ts";
import { kubeconfigYaml } from "../kubeconfig.ts";
import { sleep } from "../processes.ts";
import { ContainerRunner } from "./container_runner.ts";
import { programForImage, SUPPORTED_IMAGES } from "./image_programs.ts";
import { ContainerConfigError, containerEnv, PodRuntimeFacts } from "./pod_env.ts";
import { podConditions, podPhase } from "./pod_status.ts";
import { prepareVolumes, VolumeNotReady } from "./pod_volumes.ts";
import { expandVars } from "./env_expansion.ts";
import { MountedFolder, rewriteMountedPaths } from "./volume_paths.ts";
import type { Container, Pod } from "./kube_types.ts";

export interface AgentContext {
  api: KubeApi;
  nodeName: string;
  stateDir: string;
  repoRoot: string;
  denoPath: string;
  dnsAddress: () => string;
  allocateIp: (uid: string) => string;
  releaseIp: (uid: string) => void;
  claimFolder: (namespace: string, claim: string) => Promise<string | undefined>;
  log: (line: string) => void;
}

const SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
/** A pod condition that names what localkube could not honour (exec and grpc probes). */
const UNSUPPORTED_CONDITION = "LocalkubeUnsupported";

/** A container that will not start, and why (shown as its waiting state). */
interface Blocked {
  reason: string;
  message: string;
}

export class PodWorker {
  readonly #runners = new Map<string, ContainerRunner>();
  readonly #blocked = new Map<string, Blocked>();
  readonly #podDir: string;
  readonly #logDir: string;
  #pod: Pod;
  #podIp = "";
  #sandboxReady = false;
  #startTime = new Date().toISOString();
  #terminating: Promise<void> | undefined;
  #stopped = false;
  #statusDirty = false;
  #statusWriting: Promise<void> | undefined;

  constructor(pod: Pod, private readonly ctx: AgentContext) {
    this.#pod = pod;
    const id = `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`;
    this.#podDir = `${ctx.stateDir}/pods/${id}`;
    this.#logDir = `${ctx.stateDir}/logs/pods/${id}`;
  }

  get uid(): string {
    return this.#pod.metadata.uid!;
  }

  #log(line: string) {
    this.ctx.log(`pod ${this.#pod.metadata.namespace}/${this.#pod.metadata.name}: ${line}`);
  }

  /** The newest version of the pod object; a deletion timestamp starts graceful termination. */
  update(pod: Pod): void {
    this.#pod = pod;
    if (pod.metadata.deletionTimestamp) {
      this.terminate().catch((e) => this.#log(`termination failed: ${(e as Error).message}`));
    }
  }

  async start(): Promise<void> {
    this.#podIp = this.ctx.allocateIp(this.uid);
    this.#startTime = this.#pod.status?.startTime ?? new Date().toISOString();
    await Deno.mkdir(this.#podDir, { recursive: true });
    await Deno.mkdir(this.#logDir, { recursive: true });
    this.#log(`address ${this.#podIp}, logs in ${this.#logDir}`);
    const facts: PodRuntimeFacts = {
      podIp: this.#podIp,
      nodeName: this.ctx.nodeName,
      dnsAddress: this.ctx.dnsAddress(),
      apiserverPort: new URL(this.ctx.api.access.server).port,
    };
    const folders = await this.#volumesWhenReady(facts);
    if (!folders || this.#stopped) return;
    this.#sandboxReady = true;
    for (const container of this.#pod.spec.containers) {
      try {
        const runner = await this.#runnerFor(container, folders, facts);
        if (this.#stopped) return;
        this.#runners.set(container.name, runner);
        runner.start();
      } catch (e) {
        if (!(e instanceof ContainerConfigError)) throw e;
        const reason = e instanceof ImageError ? "ErrImagePull" : "CreateContainerConfigError";
        this.#blocked.set(container.name, { reason, message: e.message });
      }
    }
    this.#statusChanged();
  }

  /** Retries until every claim is bound; other volume errors block the pod with a clear message. */
  async #volumesWhenReady(facts: PodRuntimeFacts): Promise<Map<string, string> | undefined> {
    const initContainers = this.#pod.spec.initContainers ?? [];
    if (initContainers.length) {
      this.#blockAll("InitContainersUnsupported", "init containers are not supported by localkube");
      return undefined;
    }
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        return await prepareVolumes({
          api: this.ctx.api,
          pod: this.#pod,
          podDir: this.#podDir,
          facts,
          claimFolder: this.ctx.claimFolder,
        });
      } catch (e) {
        if (e instanceof VolumeNotReady) {
          if (attempt === 0) this.#log(e.message);
          this.#blockAll("ContainerCreating", e.message);
          await sleep(Math.min(2_000, 200 * (attempt + 1)));
          continue;
        }
        if (e instanceof ContainerConfigError || e instanceof KubeApiError) {
          this.#blockAll("CreateContainerConfigError", e.message);
          return undefined;
        }
        throw e;
      }
    }
    return undefined;
  }

  #blockAll(reason: string, message: string) {
    for (const container of this.#pod.spec.containers) this.#blocked.set(container.name, { reason, message });
    this.#statusChanged();
  }

  async #runnerFor(container: Container, folders: Map<string, string>, facts: PodRuntimeFacts) {
    const program = programForImage(container.image, this.ctx.repoRoot);
    if (!program) {
      throw new ImageError(
        `image "${container.image}" is not one localkube can run; supported images: ${SUPPORTED_IMAGES}`,
      );
    }
    if (!await exists(program.script)) {
      throw new ImageError(
        `image "${container.image}" runs ${program.script}, which does not exist in this checkout`,
      );
    }
    const mounts: MountedFolder[] = (container.volumeMounts ?? []).flatMap((m) => {
      const folder = folders.get(m.name);
      if (!folder) return [];
      return [{ mountPath: m.mountPath, hostPath: m.subPath ? `${folder}/${m.subPath}` : folder }];
    });
    for (const m of container.volumeMounts ?? []) {
      if (m.subPath && folders.has(m.name)) {
        await Deno.mkdir(`${folders.get(m.name)}/${m.subPath}`, { recursive: true });
      }
    }
    const env = await containerEnv(this.ctx.api, this.#pod, container, facts);
    const tokenMount = mounts.find((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT);
    if (tokenMount && env.KUBECONFIG === undefined) {
      // client libraries read the token from a fixed path this process cannot see: a kubeconfig
      // (which clients look for in KUBECONFIG) carries the same identity.
      const token = await Deno.readTextFile(`${tokenMount.hostPath}/token`);
      const path = `${this.#podDir}/${container.name}.kubeconfig`;
      await Deno.writeTextFile(
        path,
        kubeconfigYaml({
          server: this.ctx.api.access.server,
          caPem: this.ctx.api.access.caPem,
          token,
          user: this.#pod.spec.serviceAccountName ?? "default",
          namespace: "default",
        }),
        { mode: 0o600 },
      );
      env.KUBECONFIG = path;
    }
    for (const [name, value] of Object.entries(env)) env[name] = rewriteMountedPaths(value, mounts);
    const args = (container.args ?? []).map((a) => rewriteMountedPaths(expandVars(a, (n) => env[n]), mounts));
    const grace = (this.#pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    return new ContainerRunner(container, {
      program: this.ctx.denoPath,
      args: [
        "run",
        "--config",
        `${this.ctx.repoRoot}/deno.json`,
        ...program.permissions,
        program.script,
        ...args,
      ],
      env,
      cwd: container.workingDir ? rewriteMountedPaths(container.workingDir, mounts) : this.#podDir,
      logFile: `${this.#logDir}/${container.name}.log`,
    }, {
      podIp: this.#podIp,
      restartPolicy: this.#pod.spec.restartPolicy,
      terminationGraceMs: grace,
      pidDir: `${this.ctx.stateDir}/agent/pids`,
      onChange: () => this.#statusChanged(),
      log: (line) => this.#log(line),
    });
  }

  /** Graceful deletion: containers get SIGTERM, the grace period, SIGKILL; then the object goes. */
  terminate(): Promise<void> {
    this.#terminating ??= (async () => {
      this.#stopped = true;
      const graceSeconds = this.#pod.metadata.deletionGracePeriodSeconds ??
        this.#pod.spec.terminationGracePeriodSeconds ?? 30;
      this.#log(`terminating (grace ${graceSeconds}s)`);
      await Promise.all([...this.#runners.values()].map((r) => r.stop(graceSeconds * 1000)));
      await this.#statusWriting;
      try {
        await this.ctx.api.delete(
          `/api/v1/namespaces/${this.#pod.metadata.namespace}/pods/${this.#pod.metadata.name}`,
          { gracePeriodSeconds: 0, preconditions: { uid: this.uid } },
        );
      } catch (e) {
        if (!(e instanceof KubeApiError && (e.status === 404 || e.status === 409))) throw e;
      }
      await this.#cleanUp();
      this.#log("terminated and removed");
    })();
    return this.#terminating;
  }

  /** The agent stops, or the object vanished: stop the processes quickly, leave the object alone. */
  async kill(graceMs: number): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#runners.values()].map((r) => r.stop(graceMs)));
    await this.#cleanUp();
  }

  async #cleanUp() {
    this.ctx.releaseIp(this.uid);
    // The pod's own folders (emptyDirs, token files); claims' folders live elsewhere and stay.
    await Deno.remove(this.#podDir, { recursive: true }).catch(() => {});
  }

  #statusChanged() {
    this.#statusDirty = true;
    this.#statusWriting ??= this.#writeStatus().finally(() => this.#statusWriting = undefined);
  }

  async #writeStatus() {
    while (this.#statusDirty && !this.#terminating) {
      this.#statusDirty = false;
      await sleep(50); // coalesce bursts of changes into one patch
      try {
        await this.ctx.api.patch(
          `/api/v1/namespaces/${this.#pod.metadata.namespace}/pods/${this.#pod.metadata.name}/status`,
          { status: this.#status() },
        );
      } catch (e) {
        if (e instanceof KubeApiError && e.status === 404) return;
        this.#log(`status update failed (${(e as Error).message}); retrying`);
        this.#statusDirty = true;
        await sleep(1_000);
      }
    }
  }

  #status() {
    const containers = this.#pod.spec.containers;
    const summaries = containers.map((c) =>
      this.#runners.get(c.name)?.summary() ?? { everStarted: false, running: false, ready: false }
    );
    const current = this.#pod.status?.conditions ?? [];
    const notes = [...this.#runners.values()].map((r) => r.notes).filter(Boolean);
    const blocked = [...this.#blocked.entries()].map(([name, b]) => `${name}: ${b.message}`);
    const mine = podConditions({
      containers: summaries,
      sandboxReady: this.#sandboxReady,
      readinessGates: (this.#pod.spec.readinessGates ?? []).map((g) => g.conditionType),
      current,
      now: new Date().toISOString(),
      notReadyMessage: [...blocked, ...notes].join("; ") || undefined,
    });
    const unsupported = [...this.#runners.values()].map((r) => r.unsupported).filter(Boolean);
    if (unsupported.length) {
      mine.push({
        type: UNSUPPORTED_CONDITION,
        status: "True",
        reason: "UnsupportedProbe",
        message: unsupported.join("; "),
      });
    }
    const others = current.filter((c) => !mine.some((m) => m.type === c.type));
    return {
      phase: podPhase(summaries, this.#pod.spec.restartPolicy),
      conditions: [...others, ...mine],
      hostIP: "127.0.0.1",
      hostIPs: [{ ip: "127.0.0.1" }],
      podIP: this.#podIp,
      podIPs: [{ ip: this.#podIp }],
      startTime: this.#startTime,
      containerStatuses: containers.map((c) => {
        const runner = this.#runners.get(c.name);
        if (runner) return runner.status(c.image);
        const blocked = this.#blocked.get(c.name) ?? { reason: "ContainerCreating", message: "" };
        return {
          name: c.name,
          image: c.image,
          imageID: "",
          state: { waiting: blocked },
          lastState: {},
          ready: false,
          started: false,
          restartCount: 0,
        };
      }),
    };
  }
}

/** The image cannot be turned into a program: the pod shows ErrImagePull, as for a missing image. */
class ImageError extends ContainerConfigError {}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
