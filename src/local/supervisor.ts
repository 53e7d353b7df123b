/**
 * The local supervisor: runs raft-kv nodes as processes on 127.0.0.1, restarts those that crash,
 * and reconciles the cluster's size through the same planner the Kubernetes operator uses
 * (observe every node's /status -> plan -> persist the status -> execute one idempotent step).
 * It runs in the background behind `deno task local`, or in-process for the demo and the tests.
 */
import type { SafetyMode } from "../raft/mod.ts";
import { planNextStep } from "../reconfig/planner.ts";
import { type NodeStatusDocument, observationFrom } from "../reconfig/observe.ts";
import { type Action, initialStatus, type Member, type Phase } from "../reconfig/types.ts";
import { AdminClient, fetchNodeStatus } from "../client/mod.ts";
import { isOurProcess, type LocalClusterState, type LocalNode, readState, writeState } from "./state.ts";
import { portsOf } from "./ports.ts";
import { NodeProcess, type NodeProcessSettings } from "./node_process.ts";
import {
  createLocalSecurity,
  ensureNodeCertificate,
  localHttpClient,
  nodeTlsFiles,
} from "../security/local_pki.ts";

export interface CreateClusterOptions {
  replicas: number;
  safetyMode: SafetyMode;
  /** Fixed base ports (slot n on base + n), or "auto" for free ports. */
  ports: "auto" | { client: number; peer: number };
  faultInjection: boolean;
  clusterId?: string;
  tickMs?: number;
  snapshotEntries?: number;
  retainEntries?: number;
  /** Every node's --disk-reserve (NOSPACE alarm), e.g. "64MiB"; the server's default if absent. */
  diskReserve?: string;
  /** HTTPS, mutual TLS between peers and client tokens, from a CA created in <state dir>/tls. */
  tls?: boolean;
  /** With tls: false runs the nodes with --client-cert-auth off (tokens only, faster HTTPS). */
  clientCertAuth?: boolean;
}

export type NodeCommand = "kill" | "pause" | "resume" | "restart";

const RESTART_BACKOFF_MS = [200, 500, 1000, 2000, 5000];

function randomToken(): string {
  return crypto.getRandomValues(new Uint8Array(16)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "");
}

export class LocalSupervisor {
  private readonly processes = new Map<number, NodeProcess>();
  private shuttingDown = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastReported = "";
  private saving: Promise<void> = Promise.resolve();
  private reconciling = false;
  private lastFailure: string | undefined;
  private stateWriteFailing = false;
  private httpClient: Deno.HttpClient | undefined;

  private constructor(
    readonly stateDir: string,
    public state: LocalClusterState,
    private readonly log: (line: string) => void,
  ) {}

  /** A new cluster, supervised by this process (the demo and the tests). */
  static async create(
    stateDir: string,
    o: CreateClusterOptions,
    log: (line: string) => void,
  ): Promise<LocalSupervisor> {
    return new LocalSupervisor(stateDir, await LocalSupervisor.initialize(stateDir, o), log);
  }

  /** Writes the state of a new cluster into an empty (or absent) state directory. */
  static async initialize(stateDir: string, o: CreateClusterOptions): Promise<LocalClusterState> {
    if (await readState(stateDir)) {
      throw new Error(`${stateDir} already holds a local cluster: stop it with "deno task local down" first`);
    }
    if (!Number.isSafeInteger(o.replicas) || o.replicas < 1 || o.replicas > 9) {
      throw new Error(`--replicas must be between 1 and 9, got ${o.replicas}`);
    }
    const state: LocalClusterState = {
      version: 1,
      clusterId: o.clusterId ?? "local",
      adminToken: randomToken(),
      peerToken: randomToken(),
      safetyMode: o.safetyMode,
      faultInjection: o.faultInjection,
      tickMs: o.tickMs ?? 50,
      snapshotEntries: o.snapshotEntries ?? 10_000,
      retainEntries: o.retainEntries ?? 1_000,
      ...(o.diskReserve !== undefined ? { diskReserve: o.diskReserve } : {}),
      desiredReplicas: o.replicas,
      ports: o.ports,
      slotPorts: {},
      nodes: [],
      reconfig: initialStatus(),
    };
    if (o.tls) {
      state.security = await createLocalSecurity(stateDir, state.clusterId);
      if (o.clientCertAuth === false) state.security.clientCertAuth = false;
    }
    await writeState(stateDir, state);
    return state;
  }

  /** Resumes a cluster from its state directory (after a supervisor restart). */
  static async open(stateDir: string, log: (line: string) => void): Promise<LocalSupervisor> {
    const state = await readState(stateDir);
    if (!state) throw new Error(`no local cluster in ${stateDir}: start one with "deno task local up"`);
    const sup = new LocalSupervisor(stateDir, state, log);
    // Processes of a previous supervisor cannot be re-attached (their output pipes are gone):
    // stop them by pid and start them afresh; they recover from their own storage. A pid that
    // another program took over after a reboot is left alone.
    for (const node of state.nodes) {
      if (isOurProcess(node.pid, node.dataDir)) {
        try {
          Deno.kill(node.pid!, "SIGKILL");
        } catch { /* gone meanwhile */ }
      }
      sup.spawn(node, false);
    }
    return sup;
  }

  private get settings(): NodeProcessSettings {
    const s = this.state;
    return {
      clusterId: s.clusterId,
      peerToken: s.peerToken,
      adminToken: s.adminToken,
      safetyMode: s.safetyMode,
      faultInjection: s.faultInjection,
      tickMs: s.tickMs,
      snapshotEntries: s.snapshotEntries,
      retainEntries: s.retainEntries,
      diskReserve: s.diskReserve,
    };
  }

  /** Writes the state file; writes are chained so two never race on the temp file. */
  private persist(): Promise<void> {
    const write = this.saving.then(() => writeState(this.stateDir, this.state));
    this.saving = write.then(
      () => {
        if (this.stateWriteFailing) this.log("the state file is written again");
        this.stateWriteFailing = false;
      },
      (e) => {
        if (!this.stateWriteFailing) this.log(`cannot write the state file: ${(e as Error).message}`);
        this.stateWriteFailing = true;
      },
    );
    return write;
  }

  // ------------------------------------------------------------------ processes

  private spawn(node: LocalNode, bootstrap: boolean): NodeProcess {
    const security = this.state.security;
    const proc = new NodeProcess(node, {
      ...this.settings,
      ...(security
        ? {
          security: {
            tls: nodeTlsFiles(security, node.id),
            authFile: security.authFile,
            clientCertAuth: security.clientCertAuth ?? true,
          },
        }
        : {}),
    }, bootstrap);
    node.state = "running";
    this.processes.set(node.id, proc);
    proc.exited.then((status) => this.onExit(node, proc, status));
    return proc;
  }

  private onExit(node: LocalNode, proc: NodeProcess, status: Deno.CommandStatus): void {
    if (this.processes.get(node.id) !== proc || proc.intentionallyStopped || this.shuttingDown) return;
    const how = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
    const uptime = performance.now() - proc.startedAt;
    if (uptime > 10_000) node.restarts = 0;
    const delay = RESTART_BACKOFF_MS[Math.min(node.restarts, RESTART_BACKOFF_MS.length - 1)];
    node.restarts++;
    node.state = "restarting";
    this.log(
      `node ${node.id} (pid ${proc.pid}) exited with ${how}; restarting in ${delay} ms (see ${node.logFile})`,
    );
    setTimeout(() => {
      if (this.shuttingDown || this.processes.get(node.id) !== proc) return;
      const again = this.spawn(node, false);
      this.log(`node ${node.id} restarted as pid ${again.pid}; it recovers from its WAL and catches up`);
      this.persist().catch(() => {}); // logged by persist()
    }, delay);
  }

  /** Manual fault commands: kill (SIGKILL; the supervisor restarts it), pause, resume, restart. */
  async command(id: number, command: NodeCommand): Promise<string> {
    const node = this.state.nodes.find((n) => n.id === id);
    const proc = this.processes.get(id);
    if (!node || !proc) {
      throw new Error(`no node ${id}; nodes are ${this.state.nodes.map((n) => n.id).join(", ") || "none"}`);
    }
    switch (command) {
      case "kill":
        proc.signal("SIGKILL");
        return `sent SIGKILL to node ${id} (pid ${proc.pid}); the supervisor restarts it`;
      case "pause":
        proc.signal("SIGSTOP");
        node.state = "paused";
        await this.persist();
        return `paused node ${id} (SIGSTOP)`;
      case "resume":
        proc.signal("SIGCONT");
        node.state = "running";
        await this.persist();
        return `resumed node ${id} (SIGCONT)`;
      case "restart": {
        await proc.stop();
        const again = this.spawn(node, false);
        await this.persist();
        return `restarted node ${id} as pid ${again.pid}`;
      }
    }
  }

  // ------------------------------------------------------------------ reconciliation

  setDesired(replicas: number): void {
    if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 9) {
      throw new Error(`replicas must be between 1 and 9, got ${replicas}`);
    }
    this.state.desiredReplicas = replicas;
    this.persist().catch(() => {}); // logged by persist()
    this.wake?.();
  }

  /** Starts the reconcile loop (returns at once; stop() ends it). */
  start(): void {
    this.reconciling = true;
    this.loop ??= this.reconcileLoop();
  }

  /**
   * Ends the reconcile loop but keeps supervising the processes: experiments then drive the
   * planner's actions themselves (runAction), at the moments their fault schedule needs.
   */
  async stopReconciling(): Promise<void> {
    this.reconciling = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Executes one planner action now (see stopReconciling). */
  async runAction(action: Action): Promise<void> {
    await this.execute(action);
  }

  private async reconcileLoop(): Promise<void> {
    while (!this.shuttingDown && this.reconciling) {
      let action: Action = { kind: "wait", afterMs: 500 };
      try {
        const observed = observationFrom(await this.fetchStatuses());
        const decision = planNextStep({
          desiredReplicas: this.state.desiredReplicas,
          mode: this.state.safetyMode,
          status: this.state.reconfig,
          observed,
        });
        this.report(decision.trail, decision.status.phase, decision.messages ?? [decision.status.message]);
        this.state.reconfig = decision.status;
        await this.persist(); // before acting: a restarted supervisor resumes from here
        action = decision.action;
        await this.execute(action);
        this.lastFailure = undefined;
      } catch (e) {
        // The same failure twice a second (a full disk) is logged once, not flooded.
        const why = (e as Error).message;
        if (why !== this.lastFailure) this.log(`step failed (${why}); retrying every 500 ms`);
        this.lastFailure = why;
        action = { kind: "wait", afterMs: 500 };
      }
      if (action.kind === "wait") await this.sleep(action.afterMs);
      else if (action.kind === "none") await this.sleep(1000);
    }
  }

  /** Logs a decision once: the phases it moved through and why (every move's message, in order). */
  private report(trail: Phase[], phase: Phase, messages: string[]): void {
    // Moves that only record progress repeat their message; say each thing once.
    const message = messages.filter((m, i) => messages.indexOf(m) === i).join("; ");
    const line = `[${phase}] ${message}`;
    if (line === this.lastReported) return;
    this.lastReported = line;
    const path = trail.length > 1
      ? `${trail.join(" -> ")}${trail.at(-1) === phase ? "" : ` -> ${phase}`}: `
      : "";
    this.log(path ? `${path}${message}` : line);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async fetchStatuses(): Promise<Record<string, NodeStatusDocument | undefined>> {
    const out: Record<string, NodeStatusDocument | undefined> = {};
    await Promise.all(this.state.nodes.map(async (n) => {
      out[String(n.slot)] = await fetchNodeStatus<NodeStatusDocument>(
        n.clientUrl,
        undefined,
        this.httpInit().client,
      );
    }));
    return out;
  }

  private admin(): AdminClient {
    return new AdminClient({
      endpoints: this.state.nodes.filter((n) => n.state === "running").map((n) => n.clientUrl),
      token: this.state.adminToken,
      ...(this.state.security
        ? { tls: { caCerts: [Deno.readTextFileSync(this.state.security.caFile)] } }
        : {}),
    });
  }

  private nodeOf(member: Member): LocalNode {
    const node = this.state.nodes.find((n) => n.id === member.id);
    if (!node) throw new Error(`node ${member.id} is not running`);
    return node;
  }

  private async execute(action: Action): Promise<void> {
    switch (action.kind) {
      case "none":
      case "wait":
        return;
      case "startMembers":
        for (const m of action.members) await this.startMember(m, action.bootstrap);
        return;
      case "addLearners": {
        await using admin = this.admin();
        for (const m of action.members) {
          const n = this.nodeOf(m);
          await admin.addLearner({ id: m.id, peer: n.peerAddress, client: n.clientUrl });
        }
        return;
      }
      case "enterJoint": {
        await using admin = this.admin();
        await admin.enterJoint(action.voters);
        return;
      }
      case "transferLeader": {
        await using admin = this.admin();
        await admin.transferLeader(action.to);
        return;
      }
      case "leaveJoint": {
        await using admin = this.admin();
        await admin.leaveJoint();
        return;
      }
      case "removeLearners": {
        await using admin = this.admin();
        for (const id of action.ids) await admin.removeMember(id);
        return;
      }
      case "stopMembers":
        for (const m of action.members) await this.stopMember(m);
        return;
      case "changeVotersDirectly": {
        await using admin = this.admin();
        const members = Object.fromEntries(
          this.state.nodes.map((n) => [n.id, { peer: n.peerAddress, client: n.clientUrl }]),
        );
        await admin.votersDirect(action.voters, members);
        return;
      }
      case "adoptConfig": {
        await using admin = this.admin();
        await admin.adoptConfig(this.nodeOf(action.member).clientUrl, { voters: action.voters });
        return;
      }
    }
  }

  private async startMember(m: Member, bootstrap: boolean): Promise<void> {
    const existing = this.state.nodes.find((n) => n.slot === m.slot);
    if (existing?.id === m.id && this.processes.has(m.id)) return;
    // Two processes under one id would share its data directory and its entry in this list.
    const elsewhere = this.state.nodes.find((n) => n.id === m.id && n.slot !== m.slot);
    if (elsewhere) {
      throw new Error(
        `cannot start node ${m.id} in slot ${m.slot}: node ${m.id} already runs in slot ${elsewhere.slot} ` +
          `(ids are never reused; a new member needs a new id)`,
      );
    }
    if (existing) await this.stopMember({ slot: existing.slot, id: existing.id });
    const ports = portsOf(this.state, m.slot);
    const security = this.state.security;
    if (security) await ensureNodeCertificate(security, this.state.clusterId, m.id);
    const node: LocalNode = {
      slot: m.slot,
      id: m.id,
      clientUrl: `${security ? "https" : "http"}://127.0.0.1:${ports.client}`,
      peerAddress: `127.0.0.1:${ports.peer}`,
      dataDir: `${this.stateDir}/node-${m.id}`,
      logFile: `${this.stateDir}/node-${m.id}.log`,
      state: "running",
      restarts: 0,
    };
    this.state.nodes.push(node);
    this.state.nodes.sort((a, b) => a.slot - b.slot);
    const proc = this.spawn(node, bootstrap);
    await this.persist();
    this.log(
      `started node ${m.id} in slot ${m.slot} (pid ${proc.pid}): ${node.clientUrl}, peers at ${node.peerAddress}`,
    );
    await this.waitUntilAnswering(node, 15_000);
  }

  private async waitUntilAnswering(node: LocalNode, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      try {
        const r = await fetch(`${node.clientUrl}/healthz`, {
          signal: AbortSignal.timeout(500),
          ...this.httpInit(),
        });
        await r.body?.cancel();
        if (r.ok) return;
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `node ${node.id} did not answer on ${node.clientUrl} within ${timeoutMs} ms (see ${node.logFile})`,
    );
  }

  /** Stops a removed member and deletes its storage (its log file stays for post-mortems). */
  private async stopMember(m: Member): Promise<void> {
    const proc = this.processes.get(m.id);
    if (proc) {
      this.processes.delete(m.id);
      await proc.stop();
    }
    const node = this.state.nodes.find((n) => n.id === m.id);
    this.state.nodes = this.state.nodes.filter((n) => n.id !== m.id);
    if (node) await Deno.remove(node.dataDir, { recursive: true }).catch(() => {});
    await this.persist();
    this.log(`stopped node ${m.id} (slot ${m.slot}) and deleted its storage`);
  }

  // ------------------------------------------------------------------ shutdown

  /** Stops the reconcile loop and every node process. */
  async stop(): Promise<void> {
    this.shuttingDown = true;
    this.wake?.();
    await this.loop?.catch(() => {});
    await Promise.all([...this.processes.values()].map((p) => p.stop()));
    this.processes.clear();
    for (const n of this.state.nodes) {
      n.state = "stopped";
      n.pid = undefined;
    }
    await this.persist().catch(() => {});
    this.httpClient?.close();
    this.httpClient = undefined;
  }

  /** Trust in the cluster CA for the supervisor's own calls (status, health) when it runs with TLS. */
  private httpInit(): { client?: Deno.HttpClient } {
    if (!this.state.security) return {};
    this.httpClient ??= localHttpClient(this.state.security);
    return { client: this.httpClient };
  }

  /** Pids of the node processes (tests check that none is left after stop()). */
  pids(): number[] {
    return [...this.processes.values()].map((p) => p.pid);
  }

  /** Done when idle at the desired size with a leader: used by `up`, `scale` and the demo. */
  settled(): boolean {
    const r = this.state.reconfig;
    return r.phase === "Idle" && r.members.length === this.state.desiredReplicas &&
      r.message.startsWith("steady");
  }
}
