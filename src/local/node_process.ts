/**
 * One raft-kv server process of the local cluster, started from this checkout with the same
 * Deno. Its output goes to a log file; its exit is reported so that the supervisor can restart
 * it (a crashed node recovers from its WAL and snapshot and catches up).
 */
import type { LocalNode } from "./state.ts";
import type { NodeTlsFiles } from "../security/local_pki.ts";
import { SERVER_ENV } from "../server/runtime_tuning.ts";

const SERVER = new URL("../server/main.ts", import.meta.url).pathname;

export interface NodeProcessSettings {
  clusterId: string;
  peerToken: string;
  adminToken: string;
  safetyMode: string;
  faultInjection: boolean;
  tickMs: number;
  snapshotEntries: number;
  retainEntries: number;
  diskReserve?: string;
  /** HTTPS and mutual TLS with this node's certificate, plus client authentication. */
  security?: { tls: NodeTlsFiles; authFile: string; clientCertAuth: boolean };
}

export class NodeProcess {
  private child: Deno.ChildProcess | undefined;
  private stopping = false;
  readonly exited: Promise<Deno.CommandStatus>;
  startedAt = performance.now();

  constructor(readonly node: LocalNode, settings: NodeProcessSettings, bootstrap: boolean) {
    const client = new URL(node.clientUrl);
    const args = [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys=statfs", // the NOSPACE alarm measures free space
      SERVER,
      "--data-dir",
      node.dataDir,
      "--node-id",
      String(node.id),
      "--cluster-id",
      settings.clusterId,
      "--listen-client",
      `${client.hostname}:${client.port}`,
      "--advertise-client",
      node.clientUrl,
      "--listen-peer",
      node.peerAddress,
      "--safety-mode",
      settings.safetyMode,
      "--tick-ms",
      String(settings.tickMs),
      "--snapshot-entries",
      String(settings.snapshotEntries),
      "--retain-entries",
      String(settings.retainEntries),
    ];
    if (settings.diskReserve !== undefined) args.push("--disk-reserve", settings.diskReserve);
    if (settings.security) {
      const { tls, authFile } = settings.security;
      args.push(
        "--tls-cert",
        tls.certFile,
        "--tls-key",
        tls.keyFile,
        "--tls-ca",
        tls.caFile,
        "--auth-file",
        authFile,
      );
      if (!settings.security.clientCertAuth) args.push("--client-cert-auth", "off");
    }
    if (bootstrap) args.push("--bootstrap");
    if (settings.faultInjection) args.push("--fault-injection");
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      env: {
        ...SERVER_ENV, // memory: see src/server/runtime_tuning.ts
        RAFTKV_PEER_TOKEN: settings.peerToken,
        RAFTKV_ADMIN_TOKEN: settings.adminToken,
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    node.pid = this.child.pid;
    // Written chunk by chunk, synchronously: a file's writable stream holds data back while
    // the process runs, which is exactly when someone reads the log.
    const log = Deno.openSync(node.logFile, { create: true, append: true });
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        try {
          log.writeSync(chunk);
        } catch { /* a full disk must not take the supervisor down */ }
      }
    };
    const pumps = Promise.all([pump(this.child.stdout), pump(this.child.stderr)]);
    this.exited = this.child.status.then(async (status) => {
      await pumps.catch(() => {});
      log.close();
      return status;
    });
  }

  get pid(): number {
    return this.child!.pid;
  }

  get intentionallyStopped(): boolean {
    return this.stopping;
  }

  signal(sig: Deno.Signal): void {
    try {
      this.child?.kill(sig);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(graceMs = 3000): Promise<void> {
    this.stopping = true;
    this.signal("SIGCONT"); // a paused process cannot handle SIGTERM
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
