/**
 * How the transport opens and accepts connections. Plain TCP by default; src/security supplies
 * a mutual-TLS channel whose connections name the node their verified certificate speaks for.
 */
import type { NodeId } from "../raft/types.ts";

/** The part of a Deno.Conn the framing uses. */
export interface PeerConn {
  readonly remoteAddr: { hostname: string; port: number };
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(noDelay: boolean): void;
  /** Set by an authenticating channel: the node id in the peer's verified certificate. */
  readonly peerNodeId?: number;
}

export interface PeerListener {
  readonly addr: { port: number };
  accept(): Promise<PeerConn>;
  close(): void;
}

export interface PeerChannel {
  /** "tcp" or "mutual TLS", for log lines. */
  readonly name: string;
  /** Throws with the reason (port in use, bad certificate). */
  listen(address: { hostname: string; port: number }): Promise<PeerListener>;
  /**
   * Connects to `peer` at `target`; an authenticating channel refuses a peer whose certificate is
   * not node `peer`'s. No deadline of its own: the caller bounds it.
   */
  dial(target: { hostname: string; port: number }, peer: NodeId): Promise<PeerConn>;
  /** True when every accepted connection carries a verified peerNodeId. */
  readonly authenticatesPeers: boolean;
}

export const plainTcpChannel: PeerChannel = {
  name: "tcp",
  authenticatesPeers: false,
  listen: (address) => Promise.resolve(Deno.listen({ ...address, transport: "tcp" })),
  dial: (target) => Deno.connect(target),
};
