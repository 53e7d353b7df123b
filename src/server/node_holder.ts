/**
 * Holds the node once it exists. A server whose data directory has no identity yet (and was
 * given no --node-id) serves health, status and POST /admin/identity only, until an operator
 * or the local supervisor assigns it an id: then the Raft node starts.
 */
import { RaftKvNode } from "../kv/raft_kv_node.ts";
import type { Log } from "../kv/raft_kv_node.ts";
import { type NodeIdentity, readIdentity, writeIdentity } from "../kv/identity.ts";
import { resolverFromEnv } from "../transport/mod.ts";
import type { ServerConfig } from "./config.ts";
import { conflict, unavailable } from "./http_errors.ts";
import { SnapshotTimer } from "./snapshot_timer.ts";
import { DiskSpaceAlarm } from "./disk_alarm.ts";
import { ClusterAlarms } from "./cluster_alarms.ts";
import type { TlsMaterial } from "../security/tls_files.ts";
import type { AuthPolicy } from "../security/auth_policy.ts";
import type { MemberTls } from "../security/member_tls.ts";

export class NodeHolder {
  node: RaftKvNode | undefined;
  identity: NodeIdentity | undefined;
  private starting: Promise<RaftKvNode> | undefined;
  private snapshotTimer: SnapshotTimer | undefined;
  /** Off (undefined) with --disk-reserve 0; main.ts starts its periodic check. */
  readonly diskAlarm: DiskSpaceAlarm | undefined;
  /** The other members' NOSPACE alarms, watched while this node leads; main.ts starts it. */
  readonly clusterAlarms = new ClusterAlarms(() => this.node);
  /** This node's certificate, key and CA bundle when it runs with TLS (main.ts loads them). */
  tls: TlsMaterial | undefined;
  /** With --tls-bootstrap: this node's own key, and its certificate once the operator issued it. */
  memberTls: MemberTls | undefined;
  /** Client tokens and roles when the server runs with --auth-file (main.ts loads it). */
  auth: AuthPolicy | undefined;

  constructor(
    readonly config: ServerConfig,
    private readonly log: Log,
    private readonly onFatal: (error: Error) => void,
  ) {
    this.diskAlarm = config.diskReserveBytes > 0
      ? new DiskSpaceAlarm(config.dataDir, config.diskReserveBytes, (level, line) => log(level, line))
      : undefined;
  }

  /** Loads the identity (creating it from --node-id if given) and starts the node if there is one. */
  async initialize(): Promise<void> {
    this.identity = await readIdentity(this.config.dataDir);
    if (this.identity && this.config.nodeId !== undefined && this.config.nodeId !== this.identity.nodeId) {
      throw new Error(
        `--node-id ${this.config.nodeId} does not match the identity in ${this.config.dataDir} ` +
          `(node ${this.identity.nodeId}): drop the flag, or use an empty data directory for a new node`,
      );
    }
    if (this.identity && this.identity.clusterId !== this.config.clusterId) {
      throw new Error(
        `${this.config.dataDir} belongs to cluster "${this.identity.clusterId}", not "${this.config.clusterId}"`,
      );
    }
    if (!this.identity && this.config.nodeId !== undefined) {
      this.identity = await writeIdentity(this.config.dataDir, this.config.nodeId, this.config.clusterId);
    }
    if (this.identity && this.memberTls && !this.memberTls.issued) {
      this.log(
        "warn",
        `node ${this.identity.nodeId} has no certificate at ${this.memberTls.paths.certFile} yet: waiting for POST /admin/bootstrap/identity`,
      );
    } else if (this.identity) await this.start(this.config.bootstrap);
    else this.log("info", "no identity yet: waiting for POST /admin/identity");
  }

  /** POST /admin/identity: idempotent for the same id and cluster, refused for any other. */
  async assign(nodeId: number, clusterId: string, bootstrap: boolean): Promise<{ changed: boolean }> {
    if (this.identity) {
      if (this.identity.nodeId === nodeId && this.identity.clusterId === clusterId) {
        // A node that waited for its certificate (--tls-bootstrap) starts once it has one, and a
        // node whose start failed starts again, bootstrapping if asked: the identity is written
        // before the storage, so it may still be empty (a non-empty one ignores the flag).
        if (!this.node) await this.start(bootstrap);
        return { changed: false };
      }
      throw conflict(
        "identity_taken",
        `this node is already node ${this.identity.nodeId} of cluster "${this.identity.clusterId}"; ids are never reused`,
      );
    }
    if (this.memberTls && !this.memberTls.issued) {
      throw conflict(
        "certificate_needed",
        "this node keeps its own key (--tls-bootstrap): its identity comes with its certificate " +
          "(POST /admin/bootstrap/identity), which the operator issues",
      );
    }
    if (clusterId !== this.config.clusterId) {
      throw conflict(
        "wrong_cluster",
        `this server runs for cluster "${this.config.clusterId}", not "${clusterId}"`,
      );
    }
    this.identity = await writeIdentity(this.config.dataDir, nodeId, clusterId);
    await this.start(bootstrap);
    return { changed: true };
  }

  private async start(bootstrap: boolean): Promise<RaftKvNode> {
    const identity = this.identity!;
    const c = this.config;
    // Loaded only with TLS: node:tls and the X.509 library are a third of a plain node's start-up.
    const peerChannel = this.tls
      ? (await import("../security/tls_peer_channel.ts")).nodePeerChannel(
        this.tls,
        identity.nodeId,
        (level, line) => this.log(level, `transport: ${line}`),
      )
      : undefined;
    const starting = this.starting ??= RaftKvNode.start({
      nodeId: identity.nodeId,
      clusterId: identity.clusterId,
      dataDir: c.dataDir,
      peerToken: c.peerToken,
      listenPeer: c.listenPeer,
      self: { peer: c.advertisePeer, client: c.advertiseClient },
      bootstrap,
      safetyMode: c.safetyMode,
      tickMs: c.tickMs,
      electionTicks: c.electionTicks,
      snapshotEntries: c.snapshotEntries,
      snapshotLogBytes: c.snapshotLogBytes,
      retainEntries: c.retainEntries,
      proposalTimeoutMs: c.requestTimeoutMs,
      faultInjection: c.faultInjection,
      resolveHost: resolverFromEnv(),
      peerChannel,
      log: this.log,
      onFatal: this.onFatal,
    });
    try {
      this.node = await starting;
    } catch (error) {
      // Forget a failed start (a peer port still held, say), so that the next assignment tries again.
      if (this.starting === starting) this.starting = undefined;
      throw error;
    }
    this.snapshotTimer ??= new SnapshotTimer(this.node, c.snapshotIntervalMs, this.log).start();
    return this.node;
  }

  /** The running node, or a 503 saying why there is none. */
  require(): RaftKvNode {
    if (this.node) return this.node;
    throw unavailable(
      "not_initialized",
      "this node has no identity yet: assign one with POST /admin/identity (the operator or supervisor does this)",
      2,
    );
  }
}
