/**
 * The first frame on every peer connection, and the listener's answer to it. A connection is
 * trusted only after the listener has checked version, cluster, addressee and peer token.
 */
import { timingSafeEqual } from "node:crypto";
import type { NodeId } from "../raft/types.ts";

/** Bumped on any change to frames or their meaning; peers with another version are refused. */
export const PROTOCOL_VERSION = 2;

/** "messages" carries small Raft messages in order; "snapshot" carries one chunked snapshot. */
export type Channel = "messages" | "snapshot";

export interface Hello {
  kind: "hello";
  version: number;
  clusterId: string;
  from: NodeId;
  /** The node the dialer meant to reach: catches a stale address that now belongs to another node. */
  to: NodeId;
  token: string;
  channel: Channel;
  /** The dialer's safety mode: members of one cluster must all run the same one. */
  safetyMode: string;
  /**
   * Where the dialer listens for peers. A node that has no address for the dialer yet (a new
   * member that has not applied the member directory) learns it from here, so it can answer.
   */
  address?: string;
}

export interface HelloReply {
  kind: "helloReply";
  ok: boolean;
  /** Why the connection was refused; never echoes the token. */
  error?: string;
}

/** The dialer sent something the listener must refuse; `message` says why, for both sides' logs. */
export class HandshakeError extends Error {
  override name = "HandshakeError";
}

export interface HandshakeExpectations {
  clusterId: string;
  nodeId: NodeId;
  token: string;
  safetyMode: string;
}

const encoder = new TextEncoder();

function sameToken(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  // Constant time, so that response timing does not reveal how much of a guess was right.
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The Hello in `value` if this node should accept it; throws HandshakeError otherwise. */
export function acceptHello(value: unknown, expected: HandshakeExpectations): Hello {
  if (typeof value !== "object" || value === null || (value as { kind?: unknown }).kind !== "hello") {
    throw new HandshakeError("first frame is not a hello (not a raft-kv peer, or an old build)");
  }
  const hello = value as Record<string, unknown>;
  if (hello.version !== PROTOCOL_VERSION) {
    throw new HandshakeError(
      `protocol version ${
        String(hello.version)
      } is not ${PROTOCOL_VERSION}: run the same raft-kv build on all nodes`,
    );
  }
  if (typeof hello.clusterId !== "string" || hello.clusterId !== expected.clusterId) {
    throw new HandshakeError(
      `wrong cluster "${
        String(hello.clusterId)
      }", this node is in "${expected.clusterId}": check the peer list`,
    );
  }
  if (!Number.isSafeInteger(hello.from) || (hello.from as number) < 1) {
    throw new HandshakeError(`hello.from must be a node id >= 1, got ${String(hello.from)}`);
  }
  if (hello.address !== undefined && typeof hello.address !== "string") {
    throw new HandshakeError(`hello.address must be a "host:port" string, got ${typeof hello.address}`);
  }
  if (hello.to !== expected.nodeId) {
    throw new HandshakeError(
      `dialed node ${String(hello.to)} but reached node ${expected.nodeId}: the peer address is stale`,
    );
  }
  if (typeof hello.token !== "string" || !sameToken(hello.token, expected.token)) {
    throw new HandshakeError("wrong peer token: all nodes of a cluster must share the same token");
  }
  if (hello.channel !== "messages" && hello.channel !== "snapshot") {
    throw new HandshakeError(`unknown channel ${String(hello.channel)}`);
  }
  if (hello.safetyMode !== expected.safetyMode) {
    // A cluster whose members run different modes is neither safe nor a faithful unsafe baseline.
    throw new HandshakeError(
      `node ${String(hello.from)} runs safety mode "${String(hello.safetyMode)}" but node ` +
        `${expected.nodeId} runs "${expected.safetyMode}": every member of a cluster must run the same mode`,
    );
  }
  return hello as unknown as Hello;
}

/** Throws HandshakeError unless `value` is a reply that accepts the connection. */
export function checkHelloReply(value: unknown): void {
  const reply = value as Partial<HelloReply> | null;
  if (typeof reply !== "object" || reply === null || reply.kind !== "helloReply") {
    throw new HandshakeError("peer answered the hello with something else (not a raft-kv peer?)");
  }
  if (reply.ok !== true) {
    throw new HandshakeError(`peer refused the connection: ${String(reply.error ?? "no reason given")}`);
  }
}
