/**
 * One container of a pod as a local process: starts it, restarts it per the pod's restartPolicy
 * with back-off, runs its startup, readiness and liveness probes, and reports its status in the
 * API's shape (state, lastState, restartCount, ready).
 */
import { isAlive, signalGroup, spawnLogged, stopProcess } from "../processes.ts";
import { checkProbe } from "./probe_check.ts";
import { ProbeKind, probeTiming, ProbeTracker } from "./probe_tracker.ts";
import { BACKOFF_RESET_AFTER_MS, restartDelayMs, RestartPolicy, shouldRestart } from "./restart_policy.ts";
import type { ContainerSummary } from "./pod_status.ts";
import type { Container, Probe } from "./kube_types.ts";

export interface ProcessLaunch {
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
}

type Terminated = {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID?: string;
};
type State =
  | { running: { startedAt: string } }
  | { waiting: { reason: string; message?: string } }
  | { terminated: Terminated };

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGTERM: 15,
  SIGKILL: 9,
  SIGINT: 2,
  SIGABRT: 6,
  SIGSEGV: 11,
};

export class ContainerRunner {
  state: State;
  lastState: State | Record<string, never> = {};
  restartCount = 0;
  pid: number | undefined;
  #stopping = false;
  #finalExitCode: number | undefined;
  #everStarted = false;
  #probes: Partial<Record<ProbeKind, ProbeTracker>> = {};
  #probeNote: string | undefined;
  #unsupportedNote: string | undefined;
  #run: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    readonly spec: Container,
    private readonly launch: ProcessLaunch,
    private readonly options: {
      podIp: string;
      restartPolicy: RestartPolicy | undefined;
      terminationGraceMs: number;
      /** A folder where each running container leaves `<pid>` (so a crashed agent's processes can be found). */
      pidDir: string;
      onChange: () => void;
      log: (line: string) => void;
    },
  ) {
    this.state = { waiting: { reason: "ContainerCreating" } };
  }

  start(): void {
    this.#loop = this.#runLoop().catch((e) => {
      this.state = { waiting: { reason: "RunContainerError", message: (e as Error).message } };
      this.options.log(`container ${this.spec.name} cannot run: ${(e as Error).message}`);
      this.options.onChange();
    });
  }

  /** SIGTERM, up to `graceMs`, then SIGKILL; no restart afterwards. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    this.#run?.abort();
    if (this.pid !== undefined) await stopProcess(this.pid, graceMs);
    await this.#loop;
  }

  get ready(): boolean {
    if (!("running" in this.state)) return false;
    const startup = this.#probes.startup;
    if (startup && !startup.everPassed) return false;
    return this.#probes.readiness?.passing ?? true;
  }

  /** Why the container is not ready, for the pod's condition message. */
  get notes(): string | undefined {
    return this.#probeNote;
  }

  /** A probe localkube cannot run (exec, grpc), which therefore counts as passing. */
  get unsupported(): string | undefined {
    return this.#unsupportedNote;
  }

  summary(): ContainerSummary {
    return {
      everStarted: this.#everStarted,
      running: "running" in this.state,
      ready: this.ready,
      finalExitCode: this.#finalExitCode,
    };
  }

  status(image: string): Record<string, unknown> {
    return {
      name: this.spec.name,
      image,
      imageID: `localkube://${this.launch.args.find((a) => a.endsWith(".ts")) ?? image}`,
      containerID: this.pid !== undefined ? `localkube://${this.pid}` : undefined,
      state: this.state,
      lastState: this.lastState,
      ready: this.ready,
      started: "running" in this.state && (this.#probes.startup?.everPassed ?? true),
      restartCount: this.restartCount,
    };
  }

  async #runLoop() {
    let backoffStep = 0;
    while (!this.#stopping) {
      const startedAt = new Date().toISOString();
      const startedMs = performance.now();
      await Deno.writeTextFile(
        this.launch.logFile,
        `--- localkube: starting container ${this.spec.name} (restart ${this.restartCount}) at ${startedAt}\n`,
        { append: true },
      );
      const child = spawnLogged(this.launch.program, {
        args: this.launch.args,
        env: this.launch.env,
        clearEnv: true,
        cwd: this.launch.cwd,
        logFile: this.launch.logFile,
      });
      this.pid = child.pid;
      const pidFile = `${this.options.pidDir}/${child.pid}`;
      await Deno.writeTextFile(pidFile, this.launch.logFile);
      this.#everStarted = true;
      this.state = { running: { startedAt } };
      this.options.log(`container ${this.spec.name} started, pid ${child.pid}`);
      this.#run = new AbortController();
      this.#startProbes(this.#run.signal, child.pid);
      this.options.onChange();

      const exit = await child.status;
      this.#run.abort();
      await Deno.remove(pidFile).catch(() => {});
      const terminated: Terminated = {
        exitCode: exit.code,
        ...(exit.signal ? { signal: SIGNAL_NUMBERS[exit.signal] ?? undefined } : {}),
        reason: exit.code === 0 ? "Completed" : "Error",
        startedAt,
        finishedAt: new Date().toISOString(),
        containerID: `localkube://${child.pid}`,
      };
      this.options.log(
        `container ${this.spec.name} (pid ${child.pid}) exited: code ${exit.code} ${exit.signal ?? ""}`,
      );
      if (this.#stopping || !shouldRestart(this.options.restartPolicy, exit.code)) {
        this.state = { terminated };
        if (!this.#stopping) this.#finalExitCode = exit.code;
        this.options.onChange();
        return;
      }
      this.lastState = { terminated };
      if (performance.now() - startedMs > BACKOFF_RESET_AFTER_MS) backoffStep = 0;
      const delay = restartDelayMs(backoffStep++);
      this.state = {
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off ${Math.round(delay / 1000)}s restarting failed container ${this.spec.name}`,
        },
      };
      this.options.onChange();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (!this.#stopping) this.restartCount++;
    }
  }

  #startProbes(signal: AbortSignal, pid: number) {
    this.#probes = {};
    this.#probeNote = undefined;
    const probes: Array<[ProbeKind, Probe | undefined]> = [
      ["startup", this.spec.startupProbe],
      ["readiness", this.spec.readinessProbe],
      ["liveness", this.spec.livenessProbe],
    ];
    for (const [kind, probe] of probes) {
      if (!probe) continue;
      const tracker = new ProbeTracker(kind, probeTiming(probe));
      this.#probes[kind] = tracker;
      this.#probeLoop(kind, probe, tracker, signal, pid);
    }
  }

  async #probeLoop(kind: ProbeKind, probe: Probe, tracker: ProbeTracker, signal: AbortSignal, pid: number) {
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    await pause(tracker.timing.initialDelayMs);
    while (!signal.aborted) {
      const startup = this.#probes.startup;
      const gated = kind !== "startup" && startup && !startup.everPassed;
      if (!gated) {
        const outcome = await checkProbe(
          probe,
          this.options.podIp,
          this.spec.ports ?? [],
          tracker.timing.timeoutMs,
        );
        if (signal.aborted) return;
        let changed: boolean;
        if ("unsupported" in outcome) {
          changed = tracker.record(true) || this.#unsupportedNote === undefined;
          this.#unsupportedNote = `container ${this.spec.name}: ${kind} ${outcome.unsupported}`;
        } else {
          changed = tracker.record(outcome.ok);
          if (!outcome.ok) this.#probeNote = `${kind} probe failed: ${outcome.message}`;
          else if (kind === "readiness") this.#probeNote = undefined;
        }
        if (changed) this.options.onChange();
        if (tracker.demandsRestart) {
          this.options.log(
            `container ${this.spec.name}: ${kind} probe failed ${tracker.timing.failureThreshold} times; killing it`,
          );
          signalGroup(pid, "SIGTERM");
          await pause(this.options.terminationGraceMs);
          if (await isAlive(pid)) signalGroup(pid, "SIGKILL");
          return;
        }
        if (kind === "startup" && tracker.everPassed) return;
      }
      await pause(tracker.timing.periodMs);
    }
  }
}
