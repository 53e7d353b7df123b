/**
 * A local raft-kv cluster for experiments: real processes under an in-process LocalSupervisor,
 * fault injection enabled, plus the handles a fault schedule needs (who leads, partitions set
 * through each node's admin API, kill/pause/resume, resize).
 */
import type { SafetyMode } from "../../src/raft/mod.ts";
import { LocalSupervisor } from "../../src/local/supervisor.ts";
import type { LocalNode } from "../../src/local/state.ts";
import { fetchNodeStatus, type KvClientOptions } from "../../src/client/mod.ts";
import { localClientAccess, localHttpClient } from "../../src/security/local_pki.ts";

/** Lines of the supervisor's log kept for diagnostics (a run's planner steps fit easily). */
const SUPERVISOR_LOG_LINES = 400;

export class ExperimentCluster {
  /** With TLS: trusts the cluster CA; every call of the harness (and of a benchmark) goes through it. */
  readonly httpClient: Deno.HttpClient | undefined;

  private constructor(
    readonly sup: LocalSupervisor,
    readonly stateDir: string,
    /** The supervisor's log (each planner step, start, stop and restart), newest last. */
    readonly supervisorLog: string[],
  ) {
    this.httpClient = localHttpClient(sup.state.security);
  }

  /** What a client of this cluster needs: trust in its CA and a read-write token (with TLS). */
  access(): Promise<Pick<KvClientOptions, "tls" | "token">> {
    return localClientAccess(this.sup.state.security);
  }

  static async start(
    options: {
      replicas: number;
      mode: SafetyMode;
      tickMs?: number;
      /** On unless asked otherwise: experiments inject faults; benchmarks of the plain server do not. */
      faultInjection?: boolean;
      snapshotEntries?: number;
      /** HTTPS, mutual TLS between peers and client tokens (as `deno task local up --tls`). */
      tls?: boolean;
      /** With tls: false for tokens only (--client-cert-auth off, Deno's native TLS). */
      clientCertAuth?: boolean;
    },
  ): Promise<ExperimentCluster> {
    const stateDir = await Deno.makeTempDir({ prefix: "raftkv-experiment-" });
    const supervisorLog: string[] = [];
    const sup = await LocalSupervisor.create(stateDir, {
      replicas: options.replicas,
      safetyMode: options.mode,
      ports: "auto",
      faultInjection: options.faultInjection ?? true,
      tickMs: options.tickMs,
      snapshotEntries: options.snapshotEntries,
      tls: options.tls,
      clientCertAuth: options.clientCertAuth,
    }, (line) => {
      supervisorLog.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
      if (supervisorLog.length > SUPERVISOR_LOG_LINES) supervisorLog.shift();
    });
    sup.start();
    const cluster = new ExperimentCluster(sup, stateDir, supervisorLog);
    try {
      await cluster.settle();
    } catch (e) {
      const error = await cluster.failedWith(e);
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get nodes(): LocalNode[] {
    return this.sup.state.nodes;
  }

  node(id: number): LocalNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id} (nodes: ${this.nodes.map((x) => x.id)})`);
    return n;
  }

  /** The leader's client URL (throws when no node leads). */
  async leaderUrl(): Promise<string> {
    const id = await this.leader();
    if (id === undefined) throw new Error("no raft-kv node leads right now");
    return this.node(id).clientUrl;
  }

  endpoints(): string[] {
    return this.nodes.map((n) => n.clientUrl);
  }

  async settle(timeoutMs = 60_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.sup.settled()) {
      if (performance.now() > deadline) {
        const views = await Promise.all(this.nodes.map(async (n) => {
          const s = await this.status(n.id);
          return s
            ? `node ${n.id}: ${s.role} term ${s.term} leader ${s.leader} commit ${s.commit} applied ${s.applied} conf ${
              JSON.stringify(s.conf)
            }`
            : `node ${n.id}: not answering (${n.state})`;
        }));
        throw new Error(
          `cluster did not settle: ${this.sup.state.reconfig.message}\n  ${views.join("\n  ")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  status(id: number): Promise<Record<string, unknown> | undefined> {
    return fetchNodeStatus(this.node(id).clientUrl, 500, this.httpClient);
  }

  /** The node that leads the highest term among those answering. */
  async leader(): Promise<number | undefined> {
    let best: { id: number; term: number } | undefined;
    for (const n of this.nodes) {
      const s = await this.status(n.id);
      if (s?.role === "leader" && (!best || (s.term as number) > best.term)) {
        best = { id: n.id, term: s.term as number };
      }
    }
    return best?.id;
  }

  async waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (await probe()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  private async admin(id: number, method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await fetch(`${this.node(id).clientUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.sup.state.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(3000),
      ...(this.httpClient ? { client: this.httpClient } : {}),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path} on node ${id}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Cuts every link between the groups, in both directions (each node drops the others' traffic). */
  async partition(groups: number[][]): Promise<void> {
    for (const group of groups) {
      const others = groups.filter((g) => g !== group).flat();
      for (const id of group) {
        if (this.nodes.some((n) => n.id === id)) {
          await this.admin(id, "POST", "/admin/faults", { action: "partition", peers: others });
        }
      }
    }
  }

  /** Clears every fault on every node (nodes that do not answer are skipped). */
  async heal(): Promise<void> {
    await Promise.all(
      this.nodes.map((n) => this.admin(n.id, "POST", "/admin/faults", { action: "heal" }).catch(() => {})),
    );
  }

  /**
   * What a failed run needs for a post-mortem, since stop() deletes the state directory: the
   * supervisor's log, its members and planner status, and the tail of every node's log (those
   * of stopped nodes too: their log files stay).
   */
  async diagnostics(nodeLogLines = 25): Promise<string> {
    const parts = [
      `supervisor: phase ${this.sup.state.reconfig.phase}, ${this.sup.state.reconfig.message}; nodes ${
        this.nodes.map((n) => `${n.id} (slot ${n.slot}, ${n.state}, pid ${n.pid})`).join(", ") || "none"
      }`,
      `supervisor log (last ${this.supervisorLog.length} lines):`,
      ...this.supervisorLog.map((l) => `  ${l}`),
    ];
    const logs: string[] = [];
    for await (const e of Deno.readDir(this.stateDir)) {
      if (e.isFile && /^node-\d+\.log$/.test(e.name)) logs.push(e.name);
    }
    for (const name of logs.sort()) {
      const text = await Deno.readTextFile(`${this.stateDir}/${name}`).catch((e) => `(unreadable: ${e})`);
      const lines = text.trimEnd().split("\n");
      parts.push(`${name} (last ${Math.min(nodeLogLines, lines.length)} of ${lines.length} lines):`);
      parts.push(...lines.slice(-nodeLogLines).map((l) => `  ${l}`));
    }
    return parts.join("\n");
  }

  /** `error` with the diagnostics appended to its message (the original stays as its cause). */
  async failedWith(error: unknown): Promise<Error> {
    const message = error instanceof Error ? error.message : String(error);
    const diagnostics = await this.diagnostics().catch((e) => `(no diagnostics: ${e})`);
    return new Error(`${message}\n--- diagnostics ---\n${diagnostics}`, { cause: error });
  }

  /** Stops every process; the logs and data stay if RAFTKV_KEEP_STATE=1 (for post-mortems). */
  async stop(): Promise<void> {
    await this.sup.stop();
    this.httpClient?.close();
    if (Deno.env.get("RAFTKV_KEEP_STATE") === "1") console.log(`state kept in ${this.stateDir}`);
    else await Deno.remove(this.stateDir, { recursive: true }).catch(() => {});
  }
}
