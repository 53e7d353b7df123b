/**
 * The raft-kv server's configuration: command-line flags, each with a RAFTKV_* environment
 * variable as a fallback (flags win). Invalid settings stop the server with a message that
 * names the flag and what to do.
 */
import { parseArgs } from "node:util";
import { parseSafetyMode, type SafetyMode } from "../raft/mod.ts";
import { parseByteSize } from "./disk_alarm.ts";
import { type LogFormat, parseLogFormat } from "./logger.ts";
import { plainMessage } from "../cli/args.ts";
import type { TlsPaths } from "../security/tls_files.ts";

export interface ServerConfig {
  dataDir: string;
  /** Given only the first time (or to confirm); afterwards the identity file in dataDir rules. */
  nodeId?: number;
  clusterId: string;
  /** With empty storage: start a new single-member cluster instead of waiting to be added. */
  bootstrap: boolean;
  listenClient: { hostname: string; port: number };
  /** The admin API on its own listener (then not on the client one), so a firewall can keep it apart. */
  listenAdmin?: { hostname: string; port: number };
  advertiseClient: string;
  listenPeer: { hostname: string; port: number };
  advertisePeer: string;
  peerToken: string;
  adminToken: string;
  safetyMode: SafetyMode;
  tickMs: number;
  electionTicks: number;
  snapshotEntries: number;
  /** Snapshot once the entries applied since the last one hold this many bytes (0: no byte limit). */
  snapshotLogBytes: number;
  /** Also snapshot on a timer, every this many ms (0: only by entry count). */
  snapshotIntervalMs: number;
  retainEntries: number;
  maxValueBytes: number;
  requestTimeoutMs: number;
  /** Writes are refused (NOSPACE alarm) while the data directory's filesystem has less free. */
  diskReserveBytes: number;
  faultInjection: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
  logFormat: LogFormat;
  /** TLS on the client/admin port and mutual TLS on the peer port; plain text when absent. */
  tls?: TlsPaths;
  /** With TLS: ask clients for certificates (node:https) or not (Deno.serve's TLS, faster). */
  clientCertAuth: boolean;
  /**
   * --tls-bootstrap: the node makes its own key (--tls-key, on first start) and gets its certificate
   * (--tls-cert) from the operator with its identity (src/security/bootstrap_api.ts).
   */
  tlsBootstrap: boolean;
  /** Client tokens and roles (see src/security/auth.ts); every client may do anything when absent. */
  authFile?: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const USAGE = `usage: raft-kv server --data-dir DIR [options]
  --data-dir DIR            where the WAL, snapshots and the node identity live (required)
  --node-id N               this node's id (first start only; ids are never reused)
  --cluster-id NAME         cluster name, checked on every peer connection (default raft-kv)
  --bootstrap               with empty storage, start a new cluster with this node as its only voter
  --listen-client H:P       client HTTP API (default 127.0.0.1:8080)
  --advertise-client URL    how clients reach this node (default http://<listen-client>)
  --listen-admin H:P        serve the admin API (/admin) here instead of on the client listener
  --listen-wildcard W       never (default) | unless-loopback: listen on 0.0.0.0 (same ports) for the client
                            and admin APIs when their host is not a loopback address (a pod with its own
                            network namespace, where kubectl port-forward comes in through localhost)
  --listen-peer H:P         Raft peer listener (default 127.0.0.1:7000)
  --advertise-peer H:P      how peers reach this node (default <listen-peer>)
  --peer-token T            shared secret of the peers (or RAFTKV_PEER_TOKEN; required)
  --admin-token T           bearer token of the admin API (or RAFTKV_ADMIN_TOKEN; required)
  --safety-mode M           safe | unsafe-early-vote | unsafe-no-joint (default safe)
  --tick-ms N               Raft tick (default 50; heartbeat = 1 tick, election = 10..20 ticks)
  --election-ticks N        (default 10)
  --election-timeout-ms N   election timeout in ms instead of ticks: ticks = round(N / tick-ms), at least 3
  --snapshot-entries N      snapshot after this many applied entries (default 10000; with a state over
                            1 MiB only once those entries hold at least a quarter of the last image's size)
  --snapshot-log-bytes SIZE also snapshot once the entries applied since the last snapshot hold SIZE or a
                            quarter of the last snapshot, whichever is larger (default 64MiB; 0: entry
                            count only). Bounds the log kept in memory
  --snapshot-interval-ms N  also snapshot every N ms when entries were applied since the last one (default 0: off)
  --retain-entries N        log entries kept behind a snapshot for slow followers (default 1000)
  --max-value-bytes N       largest value accepted (default 1048576)
  --request-timeout-ms N    how long a request may wait for commit (default 5000)
  --disk-reserve SIZE       refuse writes (507, NOSPACE alarm) while less than SIZE is free on the data
                            directory's filesystem; reads and deletes go on (default 64MiB; 0 disables)
  --fault-injection         enable the admin fault-injection endpoints (tests and experiments only)
  --log-level L             debug | info | warn | error (default info)
  --log-format F            text | json: one JSON object a line (time, level, node, term, message)
  --tls-cert FILE           this node's certificate (PEM, from the cluster CA): HTTPS on the client/admin
                            port and mutual TLS on the peer port; give --tls-key and --tls-ca with it
  --tls-key FILE            its private key (PEM)
  --tls-ca FILE             the cluster CA bundle (PEM; may hold the old and the new CA during a rotation)
  --tls-bootstrap           with --tls-*: the node makes its own key at --tls-key on first start and
                            gets the certificate at --tls-cert from the operator with its identity
                            (GET /admin/bootstrap/csr, POST /admin/bootstrap/identity); until then it
                            serves a self-signed certificate
  --client-cert-auth on|off with TLS: ask clients for a certificate from the cluster CA and refuse
                            others (default on). off: tokens only, served by Deno's native TLS (about
                            twice as fast), but failed handshakes and plain-text clients are not logged
  --auth-file FILE          client tokens and roles (read-only | read-write | admin, optionally per key
                            prefix; see docs/security.md): 401 without a valid credential, 403 without
                            the permission. Without it every client may read and write
Every flag can also be set as RAFTKV_<FLAG> (e.g. RAFTKV_DATA_DIR).`;

export function usage(): string {
  return USAGE;
}

function parseHostPort(flag: string, value: string): { hostname: string; port: number } {
  const at = value.lastIndexOf(":");
  const hostname = value.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`--${flag} must be host:port (e.g. 127.0.0.1:8080), got "${value}"`);
  }
  return { hostname, port };
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`--${flag} must be a positive integer, got "${value}"`);
  }
  return n;
}

/** The smallest election timeout, in ticks, that still leaves room for a heartbeat (1 tick) or two. */
export const MIN_ELECTION_TICKS = 3;

/** --election-ticks, or --election-timeout-ms converted to ticks of --tick-ms (one or the other). */
function electionTicks(
  ticksText: string | undefined,
  timeoutText: string | undefined,
  tickMs: number,
): number {
  if (ticksText !== undefined && timeoutText !== undefined) {
    throw new ConfigError("give --election-ticks or --election-timeout-ms, not both");
  }
  if (timeoutText === undefined) return positiveInt("election-ticks", ticksText ?? "10");
  const timeoutMs = positiveInt("election-timeout-ms", timeoutText);
  const ticks = Math.round(timeoutMs / tickMs);
  if (ticks < MIN_ELECTION_TICKS) {
    throw new ConfigError(
      `--election-timeout-ms ${timeoutMs} is only ${ticks} tick(s) of ${tickMs} ms: ` +
        `use at least ${MIN_ELECTION_TICKS * tickMs} ms, or a smaller --tick-ms`,
    );
  }
  return ticks;
}

/** 127.0.0.0/8, ::1 or localhost: an address only this host (or, in a pod, this pod) reaches. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

export function parseConfig(args: string[], env: (name: string) => string | undefined): ServerConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      options: {
        "data-dir": { type: "string" },
        "node-id": { type: "string" },
        "cluster-id": { type: "string" },
        bootstrap: { type: "boolean" },
        "listen-client": { type: "string" },
        "advertise-client": { type: "string" },
        "listen-admin": { type: "string" },
        "listen-wildcard": { type: "string" },
        "listen-peer": { type: "string" },
        "advertise-peer": { type: "string" },
        "peer-token": { type: "string" },
        "admin-token": { type: "string" },
        "safety-mode": { type: "string" },
        "tick-ms": { type: "string" },
        "election-ticks": { type: "string" },
        "election-timeout-ms": { type: "string" },
        "snapshot-entries": { type: "string" },
        "snapshot-log-bytes": { type: "string" },
        "snapshot-interval-ms": { type: "string" },
        "retain-entries": { type: "string" },
        "max-value-bytes": { type: "string" },
        "request-timeout-ms": { type: "string" },
        "disk-reserve": { type: "string" },
        "fault-injection": { type: "boolean" },
        "log-level": { type: "string" },
        "log-format": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-ca": { type: "string" },
        "auth-file": { type: "string" },
        "client-cert-auth": { type: "string" },
        "tls-bootstrap": { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new ConfigError(plainMessage(e));
  }
  const get = (flag: string): string | undefined => {
    const v = values[flag];
    if (typeof v === "string") return v;
    return env(`RAFTKV_${flag.toUpperCase().replaceAll("-", "_")}`);
  };
  const flag = (name: string): boolean => values[name] === true || get(name) === "true";

  const dataDir = get("data-dir");
  if (!dataDir) throw new ConfigError("--data-dir is required");
  const peerToken = get("peer-token");
  if (!peerToken) {
    throw new ConfigError("--peer-token (or RAFTKV_PEER_TOKEN) is required: the shared secret of the peers");
  }
  const adminToken = get("admin-token");
  if (!adminToken) {
    throw new ConfigError("--admin-token (or RAFTKV_ADMIN_TOKEN) is required: it protects /admin");
  }

  const listenClient = parseHostPort("listen-client", get("listen-client") ?? "127.0.0.1:8080");
  const listenPeer = parseHostPort("listen-peer", get("listen-peer") ?? "127.0.0.1:7000");
  const tlsFiles = [get("tls-cert"), get("tls-key"), get("tls-ca")];
  if (tlsFiles.some((f) => f) && !tlsFiles.every((f) => f)) {
    throw new ConfigError(
      "--tls-cert, --tls-key and --tls-ca go together: give all three, or none for plain text",
    );
  }
  const tls = tlsFiles[0]
    ? { certFile: tlsFiles[0], keyFile: tlsFiles[1]!, caFile: tlsFiles[2]! }
    : undefined;
  const scheme = tls ? "https" : "http";
  const clientCertAuthText = get("client-cert-auth");
  if (clientCertAuthText !== undefined && !["on", "off"].includes(clientCertAuthText)) {
    throw new ConfigError(`--client-cert-auth takes on or off, got "${clientCertAuthText}"`);
  }
  if (clientCertAuthText !== undefined && !tls) {
    throw new ConfigError("--client-cert-auth needs TLS: give --tls-cert, --tls-key and --tls-ca too");
  }
  const tlsBootstrap = flag("tls-bootstrap");
  if (tlsBootstrap && !tls) {
    throw new ConfigError(
      "--tls-bootstrap needs --tls-cert, --tls-key and --tls-ca (where the key and certificate go)",
    );
  }
  if (tlsBootstrap && clientCertAuthText === "off") {
    throw new ConfigError(
      "--tls-bootstrap needs --client-cert-auth on (it switches certificates while it runs)",
    );
  }
  const advertiseClient = get("advertise-client") ??
    `${scheme}://${listenClient.hostname}:${listenClient.port}`;
  try {
    new URL(advertiseClient);
  } catch {
    throw new ConfigError(`--advertise-client must be a URL like http://host:8080, got "${advertiseClient}"`);
  }
  const advertisePeer = get("advertise-peer") ?? `${listenPeer.hostname}:${listenPeer.port}`;
  parseHostPort("advertise-peer", advertisePeer);
  const listenAdminText = get("listen-admin");
  const listenAdmin = listenAdminText === undefined
    ? undefined
    : parseHostPort("listen-admin", listenAdminText);
  if (
    listenAdmin && listenAdmin.port !== 0 && listenAdmin.hostname === listenClient.hostname &&
    listenAdmin.port === listenClient.port
  ) {
    throw new ConfigError(
      "--listen-admin must differ from --listen-client (or leave it out to serve /admin there)",
    );
  }
  const wildcard = get("listen-wildcard") ?? "never";
  if (wildcard !== "never" && wildcard !== "unless-loopback") {
    throw new ConfigError(`--listen-wildcard must be never or unless-loopback, got "${wildcard}"`);
  }
  // Defaults above are derived from the addresses as given; only where the server binds changes.
  const bind = (at: { hostname: string; port: number }) =>
    wildcard === "unless-loopback" && !isLoopback(at.hostname) ? { hostname: "0.0.0.0", port: at.port } : at;

  const nodeIdText = get("node-id");
  let safetyMode: SafetyMode;
  try {
    safetyMode = parseSafetyMode(get("safety-mode") ?? "safe");
  } catch (e) {
    throw new ConfigError(`--safety-mode: ${(e as Error).message}`);
  }
  const logLevel = (get("log-level") ?? "info") as ServerConfig["logLevel"];
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);
  }
  let logFormat: LogFormat;
  try {
    logFormat = parseLogFormat(get("log-format") ?? "text");
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const retain = Number(get("retain-entries") ?? "1000");
  if (!Number.isSafeInteger(retain) || retain < 0) {
    throw new ConfigError(`--retain-entries must be a non-negative integer, got "${get("retain-entries")}"`);
  }
  const tickMs = positiveInt("tick-ms", get("tick-ms") ?? "50");
  const snapshotIntervalMs = Number(get("snapshot-interval-ms") ?? "0");
  if (!Number.isSafeInteger(snapshotIntervalMs) || snapshotIntervalMs < 0) {
    throw new ConfigError(
      `--snapshot-interval-ms must be a non-negative integer (0: off), got "${get("snapshot-interval-ms")}"`,
    );
  }
  let snapshotLogBytes: number;
  try {
    snapshotLogBytes = parseByteSize(get("snapshot-log-bytes") ?? "64MiB");
  } catch (e) {
    throw new ConfigError(`--snapshot-log-bytes: ${(e as Error).message}`);
  }
  let diskReserveBytes: number;
  try {
    diskReserveBytes = parseByteSize(get("disk-reserve") ?? "64MiB");
  } catch (e) {
    throw new ConfigError(`--disk-reserve: ${(e as Error).message}`);
  }
  return {
    dataDir,
    nodeId: nodeIdText === undefined ? undefined : positiveInt("node-id", nodeIdText),
    clusterId: get("cluster-id") ?? "raft-kv",
    bootstrap: flag("bootstrap"),
    listenClient: bind(listenClient),
    ...(listenAdmin ? { listenAdmin: bind(listenAdmin) } : {}),
    advertiseClient: advertiseClient.replace(/\/+$/, ""),
    listenPeer,
    advertisePeer,
    peerToken,
    adminToken,
    safetyMode,
    tickMs,
    electionTicks: electionTicks(get("election-ticks"), get("election-timeout-ms"), tickMs),
    snapshotEntries: positiveInt("snapshot-entries", get("snapshot-entries") ?? "10000"),
    snapshotLogBytes,
    snapshotIntervalMs,
    retainEntries: retain,
    maxValueBytes: positiveInt("max-value-bytes", get("max-value-bytes") ?? String(1 << 20)),
    requestTimeoutMs: positiveInt("request-timeout-ms", get("request-timeout-ms") ?? "5000"),
    diskReserveBytes,
    faultInjection: flag("fault-injection"),
    logLevel,
    logFormat,
    tls,
    clientCertAuth: clientCertAuthText !== "off",
    tlsBootstrap,
    authFile: get("auth-file") || undefined,
  };
}
