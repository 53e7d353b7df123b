/**
 * A pod's phase and conditions computed from its containers, the way the kubelet does it, without
 * I/O: the pod worker feeds container summaries in and patches the result into the API.
 */
import type { RestartPolicy } from "./restart_policy.ts";

export interface ContainerSummary {
  /** Has the container ever been started (now running, or exited at least once)? */
  everStarted: boolean;
  running: boolean;
  ready: boolean;
  /** The last exit code while the container is terminated for good (no restart coming). */
  finalExitCode?: number;
}

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed";

export function podPhase(containers: ContainerSummary[], restartPolicy: RestartPolicy | undefined): PodPhase {
  if (containers.length === 0) return "Pending";
  const finals = containers.filter((c) => c.finalExitCode !== undefined);
  if (finals.length === containers.length && restartPolicy !== "Always") {
    return finals.every((c) => c.finalExitCode === 0) ? "Succeeded" : "Failed";
  }
  if (containers.some((c) => !c.everStarted)) return "Pending";
  return "Running";
}

export interface PodCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

/**
 * The conditions this agent owns. `readinessGates` are conditions other controllers set; Ready
 * also waits for those (found in `current`). Transition times are kept while a status holds.
 */
export function podConditions(options: {
  containers: ContainerSummary[];
  sandboxReady: boolean;
  readinessGates: string[];
  current: PodCondition[];
  now: string;
  notReadyMessage?: string;
}): PodCondition[] {
  const { containers, current, now } = options;
  const containersReady = containers.length > 0 && containers.every((c) => c.ready);
  const gatesOpen = options.readinessGates.every((gate) =>
    current.some((c) => c.type === gate && c.status === "True")
  );
  const condition = (type: string, ok: boolean, reason?: string, message?: string): PodCondition => {
    const status = ok ? "True" : "False";
    const previous = current.find((c) => c.type === type);
    const lastTransitionTime = previous?.status === status && previous.lastTransitionTime
      ? previous.lastTransitionTime
      : now;
    return { type, status, lastProbeTime: null, lastTransitionTime, ...(ok ? {} : { reason, message }) };
  };
  return [
    condition("PodReadyToStartContainers", options.sandboxReady, "SandboxNotReady"),
    condition("Initialized", true),
    condition("ContainersReady", containersReady, "ContainersNotReady", options.notReadyMessage),
    condition(
      "Ready",
      containersReady && gatesOpen,
      containersReady ? "ReadinessGatesNotReady" : "ContainersNotReady",
      containersReady
        ? `waiting for readiness gates ${options.readinessGates.join(", ")}`
        : options.notReadyMessage,
    ),
  ];
}
