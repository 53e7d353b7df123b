/** Opens an authenticated connection to a peer: resolve, connect, hello, wait for the accept. */
import type { NodeId } from "../raft/types.ts";
import { parseAddress } from "./address.ts";
import { FramedConnection, TimeoutError } from "./connection.ts";
import { encodeFrames } from "./frame.ts";
import { type Channel, checkHelloReply, type Hello, PROTOCOL_VERSION } from "./handshake.ts";
import type { ResolveHost } from "./resolver.ts";
import type { PeerChannel, PeerConn } from "./secure_channel.ts";

export interface DialIdentity {
  nodeId: NodeId;
  clusterId: string;
  token: string;
  safetyMode: string;
  maxFrameBytes: number;
  resolveHost: ResolveHost;
  /** For connect and for the handshake answer each: an unreachable IP can otherwise hang for minutes. */
  timeoutMs: number;
  /** This node's own peer address, announced in the hello. */
  advertise?: string;
  /** Plain TCP, or mutual TLS that also checks the peer's certificate names node `peer`. */
  channel: PeerChannel;
}

/** Throws with the cause (DNS, refused, timeout, handshake refused) in its message. */
export async function dialPeer(
  identity: DialIdentity,
  peer: NodeId,
  address: string,
  channel: Channel,
): Promise<FramedConnection> {
  const { hostname, port } = parseAddress(address);
  const ip = await identity.resolveHost(hostname);
  const tcp = await connectWithin(identity.channel, { hostname: ip, port }, peer, identity.timeoutMs);
  const conn = new FramedConnection(tcp, identity.maxFrameBytes);
  try {
    const hello: Hello = {
      kind: "hello",
      version: PROTOCOL_VERSION,
      clusterId: identity.clusterId,
      from: identity.nodeId,
      to: peer,
      token: identity.token,
      channel,
      safetyMode: identity.safetyMode,
    };
    if (identity.advertise) hello.address = identity.advertise;
    await conn.write(encodeFrames([hello]), identity.timeoutMs);
    const reply = await conn.read(identity.timeoutMs);
    if (reply === undefined) throw new Error("peer closed the connection during the handshake");
    checkHelloReply(reply);
    return conn;
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** A dial has no deadline of its own; a late connection is closed as soon as it arrives. */
async function connectWithin(
  channel: PeerChannel,
  target: { hostname: string; port: number },
  peer: NodeId,
  timeoutMs: number,
): Promise<PeerConn> {
  const connecting = channel.dial(target, peer);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new TimeoutError(`connect to ${target.hostname}:${target.port} took over ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([connecting, expired]);
  } catch (error) {
    connecting.then((late) => late.close(), () => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
