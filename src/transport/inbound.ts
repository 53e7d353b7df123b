/**
 * The listening side: accepts peer connections, checks their hello, then reads either ordered
 * Raft messages or one chunked snapshot from each. Any violation closes that connection only
 * and is logged; the listener keeps serving every other peer.
 */
import type { Message, NodeId } from "../raft/types.ts";
import { FramedConnection } from "./connection.ts";
import { encodeFrames } from "./frame.ts";
import {
  acceptHello,
  HandshakeError,
  type HandshakeExpectations,
  type Hello,
  type HelloReply,
} from "./handshake.ts";
import type { TransportLog } from "./options.ts";
import {
  MAX_SNAPSHOT_BYTES,
  type SnapshotAck,
  SnapshotAssembler,
  type StageSnapshot,
} from "./snapshot_stream.ts";
import { InvalidMessageError, validateMessage } from "./validate.ts";
import type { PeerConn, PeerListener } from "./secure_channel.ts";

export interface InboundSettings extends HandshakeExpectations {
  maxFrameBytes: number;
  /** Each connection names its verified node id: a hello from another id is refused. */
  authenticatesPeers?: boolean;
  /** Deadline for the hello and for each read inside a snapshot stream. */
  ioTimeoutMs: number;
  log: TransportLog;
  /** A valid message from a messages connection. */
  deliver(message: Message): void;
  /** A complete, verified snapshot; returns the refusal reason, or undefined once delivered. */
  deliverSnapshot(message: Message): string | undefined;
  /** Where incoming images go chunk by chunk (PeerTransportOptions.stageSnapshot); else memory. */
  stageSnapshot?: StageSnapshot;
  /** An authenticated peer announced where it listens. */
  learnAddress?(peer: NodeId, address: string): void;
}

export function emptyInboundCounters(): InboundCounters {
  return {
    acceptedConnections: 0,
    rejectedConnections: 0,
    invalidConnections: 0,
    receivedMessages: 0,
    snapshotsReceived: 0,
    snapshotChunksReceived: 0,
    snapshotMaxBytesHeld: 0,
  };
}

export interface InboundCounters {
  acceptedConnections: number;
  /** Refused at the handshake: bad token, cluster, version, addressee, or garbage instead of a hello. */
  rejectedConnections: number;
  /** Closed after the handshake for a bad frame or message. */
  invalidConnections: number;
  receivedMessages: number;
  snapshotsReceived: number;
  snapshotChunksReceived: number;
  /** The most bytes of an incoming image held in memory at once (one chunk when staged to a file). */
  snapshotMaxBytesHeld: number;
}

export class InboundServer {
  #listener: PeerListener;
  #settings: InboundSettings;
  #connections = new Set<FramedConnection>();
  #messagesConnectionOf = new Map<NodeId, FramedConnection>();
  #snapshotConnectionOf = new Map<NodeId, FramedConnection>();
  #handlers = new Set<Promise<void>>();
  #accepting?: Promise<void>;
  #closed = false;
  readonly counters: InboundCounters = emptyInboundCounters();

  constructor(listener: PeerListener, settings: InboundSettings) {
    this.#listener = listener;
    this.#settings = settings;
  }

  start(): void {
    this.#accepting ??= this.#acceptLoop();
  }

  async close(): Promise<void> {
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const conn of this.#connections) conn.close();
    await this.#accepting;
    await Promise.allSettled([...this.#handlers]);
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let tcp: PeerConn;
      try {
        tcp = await this.#listener.accept();
      } catch (error) {
        if (this.#closed) return;
        // Out of file descriptors and the like: keep the listener, try again shortly.
        this.#settings.log("error", `accept failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const handler = this.#serve(tcp);
      this.#handlers.add(handler);
      const forget = () => this.#handlers.delete(handler);
      handler.then(forget, forget);
    }
  }

  async #serve(tcp: PeerConn): Promise<void> {
    const conn = new FramedConnection(tcp, this.#settings.maxFrameBytes);
    this.#connections.add(conn);
    try {
      const hello = await this.#handshake(conn, tcp.peerNodeId);
      if (hello === undefined) return;
      this.counters.acceptedConnections++;
      if (hello.address) this.#settings.learnAddress?.(hello.from, hello.address);
      if (hello.channel === "messages") await this.#receiveMessages(conn, hello.from);
      else await this.#receiveSnapshot(conn, hello.from);
    } catch (error) {
      if (!this.#closed) {
        this.counters.invalidConnections++;
        this.#settings.log("warn", `closed connection from ${conn.remote}: ${(error as Error).message}`);
      }
    } finally {
      conn.close();
      this.#connections.delete(conn);
    }
  }

  /** The accepted hello, or undefined after refusing (and logging) the connection. */
  async #handshake(conn: FramedConnection, certifiedNode: number | undefined): Promise<Hello | undefined> {
    let hello: Hello;
    try {
      const first = await conn.read(this.#settings.ioTimeoutMs);
      if (first === undefined) {
        if (!this.#closed) {
          this.#settings.log("info", `connection from ${conn.remote} closed before its hello`);
        }
        return undefined;
      }
      hello = acceptHello(first, this.#settings);
      if (this.#settings.authenticatesPeers && certifiedNode !== hello.from) {
        // The certificate, not the hello, says who is calling: a member cannot pose as another.
        throw new HandshakeError(
          `hello claims node ${hello.from} but the peer's certificate is for ${
            certifiedNode === undefined ? "no node" : `node ${certifiedNode}`
          }`,
        );
      }
    } catch (error) {
      if (this.#closed) return undefined;
      this.counters.rejectedConnections++;
      const reason = (error as Error).message;
      this.#settings.log("warn", `refused peer connection from ${conn.remote}: ${reason}`);
      if (!conn.closed) await this.#reply(conn, { kind: "helloReply", ok: false, error: reason });
      return undefined;
    }
    await conn.write(
      encodeFrames([{ kind: "helloReply", ok: true } satisfies HelloReply]),
      this.#settings.ioTimeoutMs,
    );
    return hello;
  }

  async #receiveMessages(conn: FramedConnection, from: NodeId): Promise<void> {
    // A peer that redials (after a restart, or a write timeout) replaces its old connection.
    this.#messagesConnectionOf.get(from)?.close();
    this.#messagesConnectionOf.set(from, conn);
    try {
      while (true) {
        const frame = await conn.read();
        if (frame === undefined) return;
        const message = validateMessage(frame);
        this.#checkAddressing(message, from);
        this.counters.receivedMessages++;
        this.#settings.deliver(message);
      }
    } finally {
      if (this.#messagesConnectionOf.get(from) === conn) this.#messagesConnectionOf.delete(from);
    }
  }

  async #receiveSnapshot(conn: FramedConnection, from: NodeId): Promise<void> {
    // One stream per sender: a newer snapshot supersedes an older one, and memory stays bounded.
    this.#snapshotConnectionOf.get(from)?.close();
    this.#snapshotConnectionOf.set(from, conn);
    const assembler = new SnapshotAssembler(MAX_SNAPSHOT_BYTES, this.#settings.stageSnapshot);
    try {
      while (true) {
        const frame = await conn.read(this.#settings.ioTimeoutMs);
        if (frame === undefined) {
          throw new Error(
            conn.closed
              ? "superseded by a newer snapshot stream from the same node"
              : "sender closed the snapshot stream before its last chunk",
          );
        }
        const message = await assembler.accept(frame);
        if (message === undefined) continue;
        this.#checkAddressing(message, from);
        const refusal = this.#settings.deliverSnapshot(message);
        if (refusal === undefined) this.counters.snapshotsReceived++;
        await this.#reply(
          conn,
          refusal === undefined
            ? { kind: "snapAck", ok: true }
            : { kind: "snapAck", ok: false, error: refusal },
        );
        return;
      }
    } catch (error) {
      if (!conn.closed) {
        await this.#reply(conn, { kind: "snapAck", ok: false, error: (error as Error).message });
      }
      throw error;
    } finally {
      await assembler.close().catch((e) => this.#settings.log("warn", `removing a partial snapshot: ${e}`));
      this.counters.snapshotChunksReceived += assembler.chunksReceived;
      this.counters.snapshotMaxBytesHeld = Math.max(
        this.counters.snapshotMaxBytesHeld,
        assembler.maxBytesHeld,
      );
      if (this.#snapshotConnectionOf.get(from) === conn) this.#snapshotConnectionOf.delete(from);
    }
  }

  /** Each connection speaks for the node that authenticated it, to this node only. */
  #checkAddressing(message: Message, from: NodeId): void {
    if (message.from !== from || message.to !== this.#settings.nodeId) {
      throw new InvalidMessageError(
        `message from ${message.from} to ${message.to} on a connection from node ${from} to node ${this.#settings.nodeId}`,
      );
    }
  }

  /** Best effort: the connection is about to close either way. */
  async #reply(conn: FramedConnection, reply: HelloReply | SnapshotAck): Promise<void> {
    try {
      await conn.write(encodeFrames([reply]), this.#settings.ioTimeoutMs);
    } catch {
      // The peer is gone; the log line about this connection is already written.
    }
  }
}
