/**
 * Everything this node sends to one peer: a bounded queue, one outbound messages connection
 * (dialed on demand, redialed with backoff), batched writes, and snapshot streams on
 * connections of their own.
 */
import type { Message, NodeId, SnapshotMeta } from "../raft/types.ts";
import { backoffDelay, type BackoffPolicy } from "./backoff.ts";
import type { FramedConnection } from "./connection.ts";
import { type DialIdentity, dialPeer } from "./dial.ts";
import { encodeBody, frameBodies } from "./frame.ts";
import type { TransportLog } from "./options.ts";
import { memorySource, type SnapshotSource, streamSnapshot } from "./snapshot_stream.ts";

/** Where a batch stops growing: small messages all share one write, big appends are not copied into one huge buffer. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export interface PeerStats {
  address: string;
  sentMessages: number;
  sentBytes: number;
  /** Writes on the messages connection: each carries every message queued since the previous one. */
  sentBatches: number;
  /** Queue full, oversized, or lost with a broken connection (fault injection counts apart). */
  droppedMessages: number;
  queueLength: number;
  connected: boolean;
  /** Successful connections after the first one. */
  reconnects: number;
  snapshotsSent: number;
  snapshotsFailed: number;
  snapshotChunksSent: number;
}

export interface PeerLinkSettings {
  identity: DialIdentity;
  maxQueuedMessages: number;
  maxFrameBytes: number;
  snapshotChunkBytes: number;
  ioTimeoutMs: number;
  snapshotAckTimeoutMs: number;
  backoff: BackoffPolicy;
  log: TransportLog;
  onUnreachable(peer: NodeId): void;
  onSnapshotSent(peer: NodeId, ok: boolean): void;
  /** The image of a snap message with empty data (see PeerTransportOptions.snapshotData). */
  snapshotData?(meta: SnapshotMeta): Promise<SnapshotSource>;
}

export class PeerLink {
  readonly peer: NodeId;
  #address: string;
  #settings: PeerLinkSettings;
  #queue: Message[] = [];
  #conn?: FramedConnection;
  #pumping?: Promise<void>;
  #failedDials = 0;
  #everConnected = false;
  #wakeFromBackoff?: () => void;
  #background = new Set<Promise<unknown>>();
  #snapshotConn?: FramedConnection;
  #snapshotInFlight = false;
  #closed = false;
  #stats = {
    sentMessages: 0,
    sentBytes: 0,
    sentBatches: 0,
    droppedMessages: 0,
    reconnects: 0,
    snapshotsSent: 0,
    snapshotsFailed: 0,
    snapshotChunksSent: 0,
  };

  constructor(peer: NodeId, address: string, settings: PeerLinkSettings) {
    this.peer = peer;
    this.#address = address;
    this.#settings = settings;
  }

  get address(): string {
    return this.#address;
  }

  /** Later dials use `address`; a connection to the old one is dropped. */
  set address(address: string) {
    if (address === this.#address) return;
    this.#address = address;
    this.#failedDials = 0;
    this.#conn?.close();
    this.#conn = undefined;
    this.#wakeFromBackoff?.();
  }

  /** Queues `message` for the next batch; drops and counts it when the queue is full. */
  enqueue(message: Message): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#settings.maxQueuedMessages) {
      this.#stats.droppedMessages++;
      return;
    }
    this.#queue.push(message);
    this.#pumping ??= this.#pump()
      .catch((error) => this.#settings.log("error", `sender to peer ${this.peer} failed: ${error}`))
      .finally(() => this.#pumping = undefined);
  }

  /** Streams a snap message on its own connection; reports the outcome through onSnapshotSent. */
  sendSnapshot(message: Message): void {
    if (this.#closed) return;
    if (this.#snapshotInFlight) {
      // Raft sends the next snapshot only after hearing about this one; a second is a duplicate.
      this.#settings.log("warn", `snapshot to peer ${this.peer} dropped: another one is still in flight`);
      this.#stats.snapshotsFailed++;
      queueMicrotask(() => this.#settings.onSnapshotSent(this.peer, false));
      return;
    }
    this.#snapshotInFlight = true;
    this.#track(this.#streamSnapshot(message).finally(() => this.#snapshotInFlight = false));
  }

  stats(): PeerStats {
    return {
      address: this.#address,
      ...this.#stats,
      queueLength: this.#queue.length,
      connected: this.#conn !== undefined,
    };
  }

  /** Closes every connection of this link and waits until nothing of it is left running. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeFromBackoff?.();
    this.#conn?.close();
    this.#snapshotConn?.close();
    await this.#pumping;
    await Promise.allSettled([...this.#background]);
  }

  async #pump(): Promise<void> {
    // Start on a microtask: every message queued in the current tick joins the first batch.
    await Promise.resolve();
    while (!this.#closed && this.#queue.length > 0) {
      const conn = this.#conn ?? await this.#connect();
      if (conn === undefined) continue;
      const bytes = this.#takeBatch();
      const framed = bytes.count;
      if (framed === 0) continue;
      try {
        await conn.write(bytes.frames, this.#settings.ioTimeoutMs);
        this.#stats.sentMessages += framed;
        this.#stats.sentBytes += bytes.frames.length;
        this.#stats.sentBatches++;
      } catch (error) {
        this.#stats.droppedMessages += framed;
        if (this.#closed) break;
        this.#settings.log(
          "warn",
          `write to peer ${this.peer} failed, will redial: ${(error as Error).message}`,
        );
        this.#dropConnection(conn);
        this.#settings.onUnreachable(this.peer);
      }
    }
  }

  /**
   * Takes queued messages, oldest first, into one buffer of frames: all of them, unless they pass
   * MAX_BATCH_BYTES (big appends), where the batch ends. A message too big for a frame is dropped,
   * counted and logged.
   */
  #takeBatch(): { frames: Uint8Array; count: number } {
    const bodies: Uint8Array[] = [];
    let taken = 0;
    let bytes = 0;
    while (taken < this.#queue.length && bytes < MAX_BATCH_BYTES) {
      const message = this.#queue[taken++];
      const body = encodeBody(message);
      if (body.length > this.#settings.maxFrameBytes) {
        this.#stats.droppedMessages++;
        this.#settings.log(
          "error",
          `dropped a ${message.type} message of ${body.length} bytes to peer ${this.peer}: over maxFrameBytes ` +
            `${this.#settings.maxFrameBytes} (send fewer entries per append, or raise maxFrameBytes on all nodes)`,
        );
        continue;
      }
      bodies.push(body);
      bytes += body.length;
    }
    this.#queue.splice(0, taken);
    return { frames: frameBodies(bodies), count: bodies.length };
  }

  /** A connection, or undefined after a failed dial and its backoff sleep. */
  async #connect(): Promise<FramedConnection | undefined> {
    const address = this.#address;
    try {
      const conn = await dialPeer(this.#settings.identity, this.peer, address, "messages");
      if (this.#closed || address !== this.#address) {
        conn.close();
        return undefined;
      }
      if (this.#everConnected) this.#stats.reconnects++;
      if (this.#failedDials > 0) {
        this.#settings.log(
          "info",
          `connected to peer ${this.peer} at ${address} after ${this.#failedDials} failed dials`,
        );
      }
      this.#everConnected = true;
      this.#failedDials = 0;
      this.#conn = conn;
      this.#track(this.#watchForClose(conn));
      return conn;
    } catch (error) {
      if (this.#closed) return undefined;
      // Log the first failure of an outage, not every retry of it.
      if (this.#failedDials === 0) {
        this.#settings.log(
          "warn",
          `cannot reach peer ${this.peer} at ${address}, retrying with backoff: ${(error as Error).message}`,
        );
      }
      const delay = backoffDelay(this.#failedDials++, this.#settings.backoff);
      this.#settings.onUnreachable(this.peer);
      await this.#sleep(delay);
      return undefined;
    }
  }

  /** The peer never writes on our outbound connection, so a read returns only when it closes. */
  async #watchForClose(conn: FramedConnection): Promise<void> {
    try {
      if (await conn.read() !== undefined) {
        this.#settings.log("warn", `peer ${this.peer} wrote on an outbound connection; closing it`);
      }
    } catch {
      // A broken connection is handled below like a closed one.
    }
    this.#dropConnection(conn);
  }

  #dropConnection(conn: FramedConnection): void {
    conn.close();
    if (this.#conn === conn) this.#conn = undefined;
  }

  async #streamSnapshot(message: Message): Promise<void> {
    const settings = this.#settings;
    let size = message.snapshot?.data.length ?? 0;
    let ok = false;
    let source: SnapshotSource | undefined;
    try {
      const snapshot = message.snapshot;
      if (!snapshot) throw new Error("a snap message needs a snapshot");
      // Empty data means "in the snapshot file" when the node keeps images in files.
      source = snapshot.data.length === 0 && settings.snapshotData
        ? await settings.snapshotData(snapshot.meta)
        : memorySource(snapshot.data);
      size = source.size;
      const conn = await dialPeer(settings.identity, this.peer, this.#address, "snapshot");
      this.#snapshotConn = conn;
      try {
        if (this.#closed) throw new Error("transport closed");
        const timeouts = { writeMs: settings.ioTimeoutMs, ackMs: settings.snapshotAckTimeoutMs };
        const chunks = await streamSnapshot(
          conn,
          message,
          source,
          settings.snapshotChunkBytes,
          timeouts,
          (bytes) => {
            this.#stats.snapshotChunksSent++;
            this.#stats.sentBytes += bytes;
          },
        );
        ok = true;
        source.close();
        this.#stats.snapshotsSent++;
        this.#stats.sentMessages++;
        settings.log(
          "info",
          `sent snapshot at index ${message.snapshot?.meta.index} (${size} bytes, ${chunks} chunks) to peer ${this.peer}`,
        );
      } finally {
        conn.close();
        this.#snapshotConn = undefined;
      }
    } catch (error) {
      source?.close();
      this.#stats.snapshotsFailed++;
      if (!this.#closed) {
        settings.log(
          "warn",
          `snapshot of ${size} bytes to peer ${this.peer} failed: ${(error as Error).message}`,
        );
      }
    }
    if (!this.#closed) settings.onSnapshotSent(this.peer, ok);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakeFromBackoff = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakeFromBackoff = wake;
    });
  }

  #track(task: Promise<unknown>): void {
    this.#background.add(task);
    const forget = () => this.#background.delete(task);
    task.then(forget, forget);
  }
}
