/**
 * The node's peer-to-peer transport: routes outgoing Raft messages to per-peer links, serves
 * inbound connections, and applies injected faults in both directions. Messages are data here:
 * the transport only checks their shape on receipt and chunks snapshots.
 */
import type { Message, NodeId } from "../raft/types.ts";
import type { DialIdentity } from "./dial.ts";
import { FaultInjector, type FaultVerdict } from "./faults.ts";
import { emptyInboundCounters, type InboundCounters, InboundServer } from "./inbound.ts";
import { checkPeer, type PeerTransportOptions, type ResolvedOptions, resolveOptions } from "./options.ts";
import { PeerLink, type PeerLinkSettings, type PeerStats } from "./peer_link.ts";
import type { PeerListener } from "./secure_channel.ts";

export interface TransportStats {
  peers: Record<string, PeerStats>;
  totals: Omit<PeerStats, "address" | "connected"> & InboundCounters & {
    connectedPeers: number;
    /** Sent to a node that is not in the peer list. */
    unroutableMessages: number;
  };
}

/** Sees each message Raft hands the transport to send, with what injected faults do to it. */
export type MessageObserver = (message: Message, verdict: FaultVerdict) => void;

export class PeerTransport {
  /** Drop, delay, partition; every control throws unless built with `faultInjection: true`. */
  readonly faults: FaultInjector;
  #options: ResolvedOptions;
  #links = new Map<NodeId, PeerLink>();
  #linkSettings: PeerLinkSettings;
  #inbound?: InboundServer;
  #delayed = new Set<ReturnType<typeof setTimeout>>();
  #closing = new Set<Promise<void>>();
  #unroutableMessages = 0;
  #warnedUnroutable = new Set<NodeId>();
  #closed = false;
  #observers = new Set<MessageObserver>();

  constructor(options: PeerTransportOptions) {
    const resolved = resolveOptions(options);
    this.#options = resolved;
    this.faults = new FaultInjector(resolved.faultInjection, resolved.faultSeed);
    const identity: DialIdentity = {
      nodeId: resolved.nodeId,
      clusterId: resolved.clusterId,
      token: resolved.token,
      safetyMode: resolved.safetyMode,
      maxFrameBytes: resolved.maxFrameBytes,
      resolveHost: resolved.resolveHost,
      timeoutMs: resolved.ioTimeoutMs,
      advertise: resolved.advertise,
      channel: resolved.channel,
    };
    this.#linkSettings = {
      identity,
      maxQueuedMessages: resolved.maxQueuedMessages,
      maxFrameBytes: resolved.maxFrameBytes,
      snapshotChunkBytes: resolved.snapshotChunkBytes,
      ioTimeoutMs: resolved.ioTimeoutMs,
      snapshotAckTimeoutMs: resolved.snapshotAckTimeoutMs,
      backoff: resolved.backoff,
      log: resolved.log,
      onUnreachable: (peer) => resolved.onPeerUnreachable?.(peer),
      onSnapshotSent: (peer, ok) => resolved.onSnapshotSent?.(peer, ok),
      snapshotData: resolved.snapshotData,
    };
    for (const [id, address] of resolved.peers) {
      this.#links.set(id, new PeerLink(id, address, this.#linkSettings));
    }
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  async start(): Promise<{ port: number }> {
    if (this.#inbound) throw new Error("transport already started");
    const { hostname, port } = this.#options.listen;
    let listener: PeerListener;
    try {
      listener = await this.#options.channel.listen({ hostname, port });
    } catch (error) {
      throw new Error(
        `cannot listen for peers on ${hostname}:${port}: ${(error as Error).message} ` +
          `(another node on this port? pick a free port or 0)`,
      );
    }
    const options = this.#options;
    this.#inbound = new InboundServer(listener, {
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      token: options.token,
      safetyMode: options.safetyMode,
      authenticatesPeers: options.channel.authenticatesPeers,
      maxFrameBytes: options.maxFrameBytes,
      ioTimeoutMs: options.ioTimeoutMs,
      log: options.log,
      deliver: (message) => this.#receive(message),
      deliverSnapshot: (message) => this.#receiveSnapshot(message),
      stageSnapshot: options.stageSnapshot,
      // Only fills a gap: an address set by the owner (the member directory) always wins.
      learnAddress: (peer, address) => {
        if (this.#links.has(peer) || peer === options.nodeId) return;
        options.log("info", `learned the address of node ${peer} from its hello: ${address}`);
        this.setPeer(peer, address);
      },
    });
    this.#inbound.start();
    return { port: listener.addr.port };
  }

  /** Queues messages for their peers. Never blocks and never throws: undeliverable ones are counted. */
  send(messages: readonly Message[]): void {
    for (const message of messages) {
      if (this.#closed) return;
      const verdict = this.faults.judge(message.to);
      if (this.#observers.size) this.#notify(message, verdict);
      if (verdict.drop) this.#lose(message);
      else if (verdict.delayMs > 0) this.#later(verdict.delayMs, () => this.#dispatch(message));
      else this.#dispatch(message);
    }
  }

  /** Watches outgoing messages until the returned function is called (the live view's trace). */
  observe(observer: MessageObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Adds a peer, or moves it to a new address (its current connection is dropped). */
  setPeer(id: NodeId, address: string): void {
    checkPeer(this.#options.nodeId, id, address);
    const link = this.#links.get(id);
    if (link) link.address = address;
    else this.#links.set(id, new PeerLink(id, address, this.#linkSettings));
    this.#warnedUnroutable.delete(id);
  }

  /** The address each known peer is dialed at. */
  peerAddresses(): Map<NodeId, string> {
    return new Map([...this.#links].map(([id, link]) => [id, link.address]));
  }

  /** Forgets a peer: its queue is discarded and its connections are closed. */
  removePeer(id: NodeId): void {
    const link = this.#links.get(id);
    if (!link) return;
    this.#links.delete(id);
    const closing = link.close();
    this.#closing.add(closing);
    closing.then(() => this.#closing.delete(closing));
  }

  stats(): TransportStats {
    const inbound = this.#inbound?.counters ?? emptyInboundCounters();
    const totals: TransportStats["totals"] = {
      sentMessages: 0,
      sentBytes: 0,
      sentBatches: 0,
      droppedMessages: 0,
      queueLength: 0,
      reconnects: 0,
      snapshotsSent: 0,
      snapshotsFailed: 0,
      snapshotChunksSent: 0,
      connectedPeers: 0,
      unroutableMessages: this.#unroutableMessages,
      ...inbound,
    };
    const peers: Record<string, PeerStats> = {};
    for (const [id, link] of this.#links) {
      const peer = link.stats();
      peers[id] = peer;
      totals.sentMessages += peer.sentMessages;
      totals.sentBytes += peer.sentBytes;
      totals.sentBatches += peer.sentBatches;
      totals.droppedMessages += peer.droppedMessages;
      totals.queueLength += peer.queueLength;
      totals.reconnects += peer.reconnects;
      totals.snapshotsSent += peer.snapshotsSent;
      totals.snapshotsFailed += peer.snapshotsFailed;
      totals.snapshotChunksSent += peer.snapshotChunksSent;
      if (peer.connected) totals.connectedPeers++;
    }
    return { peers, totals };
  }

  /** Stops listening, closes every connection and timer, and waits until nothing is left running. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#delayed) clearTimeout(timer);
    this.#delayed.clear();
    await this.#inbound?.close();
    await Promise.all([...this.#links.values()].map((link) => link.close()));
    await Promise.all([...this.#closing]);
  }

  #dispatch(message: Message): void {
    const link = this.#links.get(message.to);
    if (link === undefined) {
      this.#unroutableMessages++;
      if (!this.#warnedUnroutable.has(message.to)) {
        this.#warnedUnroutable.add(message.to);
        this.#options.log(
          "warn",
          `no address for node ${message.to}: dropping messages to it until setPeer()`,
        );
      }
      this.#lose(message);
    } else if (message.type === "snap") link.sendSnapshot(message);
    else link.enqueue(message);
  }

  /** A message that will not leave: Raft retries, but a snapshot's sender must hear about it. */
  #lose(message: Message): void {
    if (message.type === "snap") {
      queueMicrotask(() => {
        if (!this.#closed) this.#options.onSnapshotSent?.(message.to, false);
      });
    }
  }

  #receive(message: Message): void {
    const verdict = this.faults.judge(message.from);
    if (verdict.drop) return;
    if (verdict.delayMs > 0) this.#later(verdict.delayMs, () => this.#deliver(message));
    else this.#deliver(message);
  }

  /** The refusal reason for the sender's ack, or undefined when the snapshot went to Raft. */
  #receiveSnapshot(message: Message): string | undefined {
    const verdict = this.faults.judge(message.from);
    if (verdict.drop) return `the receiver's fault injection cut it (${verdict.reason})`;
    if (verdict.delayMs > 0) this.#later(verdict.delayMs, () => this.#deliver(message));
    else this.#deliver(message);
    return undefined;
  }

  #deliver(message: Message): void {
    if (this.#closed) return;
    try {
      this.#options.onMessage(message);
    } catch (error) {
      this.#options.log("error", `onMessage threw on a ${message.type} from ${message.from}: ${error}`);
    }
  }

  /** An observer that throws must not take the transport down with it. */
  #notify(message: Message, verdict: FaultVerdict): void {
    for (const observer of this.#observers) {
      try {
        observer(message, verdict);
      } catch (error) {
        this.#observers.delete(observer);
        this.#options.log("error", `a message observer threw and was removed: ${error}`);
      }
    }
  }

  #later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      action();
    }, ms);
    this.#delayed.add(timer);
  }
}
