/**
 * The local cluster of `deno task local` as a fault target: nodes and the admin token come from
 * its state file (<state dir>/cluster.json); network faults go to each node's /admin/faults, and
 * process faults to the supervisor's control API on 127.0.0.1 (it owns the processes and restarts
 * a killed one after 200 ms).
 */
import { isAlive, type LocalClusterState, readState } from "../../src/local/state.ts";
import type { FaultAction, FaultState } from "../../src/client/wire_types.ts";
import { faultCall, type FaultNode, type FaultTarget } from "./target.ts";

export class LocalTarget implements FaultTarget {
  readonly enableHint: string;
  readonly command = "deno task fault";

  private constructor(private readonly stateDir: string, private state: LocalClusterState) {
    this.enableHint =
      "start it with fault injection: deno task local down && deno task local up --fault-injection";
  }

  get description(): string {
    return `the local cluster in ${this.stateDir}`;
  }

  static async open(stateDir: string): Promise<LocalTarget> {
    const state = await readState(stateDir);
    if (!state) {
      throw new Error(
        `no local cluster in ${stateDir}: start one with "deno task local up --fault-injection"`,
      );
    }
    return new LocalTarget(stateDir, state);
  }

  faultInjection(): Promise<boolean> {
    return Promise.resolve(this.state.faultInjection);
  }

  nodes(): Promise<FaultNode[]> {
    return Promise.resolve(
      this.state.nodes.map((n) => ({ id: n.id, url: n.clientUrl, label: `node ${n.id}` })),
    );
  }

  inject(node: FaultNode, action: FaultAction): Promise<FaultState> {
    return faultCall(node.url, this.state.adminToken, node.label, action);
  }

  faults(node: FaultNode): Promise<FaultState> {
    return faultCall(node.url, this.state.adminToken, node.label);
  }

  private async control(path: string): Promise<string> {
    const url = this.state.supervisor?.controlUrl;
    if (!url || !isAlive(this.state.supervisor?.pid)) {
      throw new Error(
        `the local supervisor of ${this.stateDir} is not running, so no node can be killed or paused`,
      );
    }
    const r = await fetch(`${url}${path}`, { method: "POST", signal: AbortSignal.timeout(5000) });
    const body = await r.json() as { message?: string; error?: string };
    if (!r.ok) throw new Error(body.error ?? `supervisor answered ${r.status}`);
    return body.message ?? "";
  }

  kill(node: FaultNode): Promise<string> {
    return this.control(`/nodes/${node.id}/kill`);
  }

  pause(node: FaultNode): Promise<string> {
    return this.control(`/nodes/${node.id}/pause`);
  }

  resume(node: FaultNode): Promise<string> {
    return this.control(`/nodes/${node.id}/resume`);
  }

  /** Paused first so that nothing is written between the removal and the kill; restarted empty. */
  async wipe(node: FaultNode): Promise<string> {
    const local = this.state.nodes.find((n) => n.id === node.id)!;
    await this.control(`/nodes/${node.id}/pause`);
    await Deno.remove(local.dataDir, { recursive: true });
    await this.control(`/nodes/${node.id}/kill`);
    return `paused node ${node.id}, removed its data directory ${local.dataDir}, sent SIGKILL; ` +
      "the supervisor restarts it with empty storage";
  }

  async process(node: FaultNode): Promise<string> {
    this.state = (await readState(this.stateDir)) ?? this.state;
    const n = this.state.nodes.find((x) => x.id === node.id);
    if (!n) return "gone";
    return `pid ${n.pid ?? "-"} ${isAlive(n.pid) ? n.state : "not running"}`;
  }
}
