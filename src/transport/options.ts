/** PeerTransport configuration: what callers pass, the defaults, and the checks on both. */
import type { Message, NodeId, SnapshotMeta } from "../raft/types.ts";
import type { SnapshotSource, StageSnapshot } from "./snapshot_stream.ts";
import { parseAddress } from "./address.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.ts";
import type { ResolveHost } from "./resolver.ts";
import { type PeerChannel, plainTcpChannel } from "./secure_channel.ts";

export type LogLevel = "info" | "warn" | "error";
export type TransportLog = (level: LogLevel, line: string) => void;

export interface PeerTransportOptions {
  nodeId: NodeId;
  clusterId: string;
  /** Shared by all nodes of the cluster; a dialer without it is refused. */
  token: string;
  /** This node's safety mode; a peer running another one is refused at the handshake. Default "safe". */
  safetyMode?: string;
  /** Port 0 picks a free port; start() returns it. */
  listen: { hostname: string; port: number };
  /** "host:port" per peer; the host may be a name (see resolveHost). */
  peers?: Map<NodeId, string>;
  /**
   * This node's peer address as others reach it, announced in every hello. A peer that does not
   * know this node's address yet learns it from there (see PeerTransport.start).
   */
  advertise?: string;
  /** Called for every valid message addressed to this node, in order per sending peer. */
  onMessage(message: Message): void;
  /** Whether a snap message reached the peer's Raft (true) or not (false); once per snap sent. */
  onSnapshotSent?(to: NodeId, ok: boolean): void;
  /**
   * Where the image of a snap message whose data is empty comes from: the node keeps images in
   * snapshot files and its Raft core holds only their metadata (node_driver.ts, coreCopy), so
   * the image is read from the file a chunk at a time as it is sent.
   */
  snapshotData?(meta: SnapshotMeta): Promise<SnapshotSource>;
  /**
   * Where an incoming snapshot's image goes as its chunks arrive (a file, see the node's
   * incoming_snapshots.ts); the snap message is then delivered with empty data. Without it the
   * image is assembled in memory and delivered in the message.
   */
  stageSnapshot?: StageSnapshot;
  /** A connection to a peer could not be opened or broke while writing. */
  onPeerUnreachable?(to: NodeId): void;
  /** Name -> IP; by default names pass through to Deno.connect. See resolverFromEnv(). */
  resolveHost?: ResolveHost;
  /** Enables `faults`; off by default so that production cannot inject faults by accident. */
  faultInjection?: boolean;
  /** Seed of the fault injector's random choices, for replayable experiments. */
  faultSeed?: number;
  /** Per peer; beyond it new messages are dropped and counted (Raft retries). Default 4096. */
  maxQueuedMessages?: number;
  /** Largest frame accepted or sent. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Snapshot data per chunk frame. Default 512 KiB. */
  snapshotChunkBytes?: number;
  /** Connect, handshake and per-write deadline. Default 5 s. */
  ioTimeoutMs?: number;
  /** How long a snapshot sender waits for the receiver's ack after the last chunk. Default 30 s. */
  snapshotAckTimeoutMs?: number;
  backoff?: BackoffPolicy;
  log?: TransportLog;
  /** How connections are made: plain TCP (default) or mutual TLS from src/security. */
  channel?: PeerChannel;
}

export type ResolvedOptions =
  & Required<
    Omit<
      PeerTransportOptions,
      "onSnapshotSent" | "onPeerUnreachable" | "faultSeed" | "advertise" | "snapshotData" | "stageSnapshot"
    >
  >
  & Pick<
    PeerTransportOptions,
    "onSnapshotSent" | "onPeerUnreachable" | "faultSeed" | "advertise" | "snapshotData" | "stageSnapshot"
  >;

/** Room in a chunk frame for its msgpack envelope around the data. */
const CHUNK_ENVELOPE_BYTES = 64;

/** Fills in defaults and rejects impossible settings with the fix in the message. */
export function resolveOptions(options: PeerTransportOptions): ResolvedOptions {
  const { nodeId, clusterId, token } = options;
  if (!Number.isSafeInteger(nodeId) || nodeId < 1) {
    throw new Error(`nodeId must be an integer >= 1, got ${nodeId}`);
  }
  if (!clusterId) throw new Error("clusterId must not be empty: give every cluster a name");
  if (!token) throw new Error("token must not be empty: set the shared peer token of the cluster");
  const resolved: ResolvedOptions = {
    ...options,
    peers: new Map(options.peers ?? []),
    safetyMode: options.safetyMode ?? "safe",
    resolveHost: options.resolveHost ?? ((host) => Promise.resolve(host)),
    faultInjection: options.faultInjection ?? false,
    maxQueuedMessages: options.maxQueuedMessages ?? 4096,
    maxFrameBytes: options.maxFrameBytes ?? 16 * 1024 * 1024,
    snapshotChunkBytes: options.snapshotChunkBytes ?? 512 * 1024,
    ioTimeoutMs: options.ioTimeoutMs ?? 5_000,
    snapshotAckTimeoutMs: options.snapshotAckTimeoutMs ?? 30_000,
    backoff: options.backoff ?? DEFAULT_BACKOFF,
    log: options.log ?? ((level, line) => console.error(`[transport ${nodeId}] ${level}: ${line}`)),
    channel: options.channel ?? plainTcpChannel,
  };
  for (
    const [name, value] of Object.entries({
      maxQueuedMessages: resolved.maxQueuedMessages,
      maxFrameBytes: resolved.maxFrameBytes,
      snapshotChunkBytes: resolved.snapshotChunkBytes,
      ioTimeoutMs: resolved.ioTimeoutMs,
      snapshotAckTimeoutMs: resolved.snapshotAckTimeoutMs,
    })
  ) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`${name} must be an integer >= 1, got ${value}`);
    }
  }
  if (resolved.maxFrameBytes > 0xffffffff) throw new Error("maxFrameBytes must fit the u32 length prefix");
  if (resolved.snapshotChunkBytes + CHUNK_ENVELOPE_BYTES > resolved.maxFrameBytes) {
    throw new Error(
      `snapshotChunkBytes ${resolved.snapshotChunkBytes} does not fit in maxFrameBytes ${resolved.maxFrameBytes}: ` +
        `lower the chunk size or raise maxFrameBytes`,
    );
  }
  for (const [id, address] of resolved.peers) checkPeer(nodeId, id, address);
  return resolved;
}

/** Throws unless `id` is another node's id and `address` parses. */
export function checkPeer(self: NodeId, id: NodeId, address: string): void {
  if (!Number.isSafeInteger(id) || id < 1) throw new Error(`peer id must be an integer >= 1, got ${id}`);
  if (id === self) throw new Error(`peer ${id} is this node itself: leave it out of the peer list`);
  parseAddress(address);
}
