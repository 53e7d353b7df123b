/** Test helpers: real transports on 127.0.0.1 that record what they receive and log. */
import type { Message, NodeId } from "../raft/types.ts";
import type { PeerTransportOptions } from "./options.ts";
import { PeerTransport } from "./peer_transport.ts";

export const CLUSTER = "test-cluster";
export const TOKEN = "peer-secret";

export interface TestNode {
  id: NodeId;
  transport: PeerTransport;
  port: number;
  address: string;
  received: Message[];
  logs: string[];
  snapshotOutcomes: [NodeId, boolean][];
  unreachable: NodeId[];
}

export async function startNode(
  id: NodeId,
  overrides: Partial<PeerTransportOptions> = {},
): Promise<TestNode> {
  const received: Message[] = [];
  const logs: string[] = [];
  const snapshotOutcomes: [NodeId, boolean][] = [];
  const unreachable: NodeId[] = [];
  const transport = new PeerTransport({
    nodeId: id,
    clusterId: CLUSTER,
    token: TOKEN,
    listen: { hostname: "127.0.0.1", port: 0 },
    onMessage: (message) => received.push(message),
    onSnapshotSent: (to, ok) => snapshotOutcomes.push([to, ok]),
    onPeerUnreachable: (to) => unreachable.push(to),
    log: (level, line) => logs.push(`${level}: ${line}`),
    ...overrides,
  });
  const { port } = await transport.start();
  return { id, transport, port, address: `127.0.0.1:${port}`, received, logs, snapshotOutcomes, unreachable };
}

/** Tells every node where every other node listens. */
export function connectAll(nodes: TestNode[]): void {
  for (const node of nodes) {
    for (const peer of nodes) if (peer !== node) node.transport.setPeer(peer.id, peer.address);
  }
}

export function heartbeat(from: NodeId, to: NodeId, term: number, context?: string): Message {
  return { type: "heartbeat", from, to, term, commit: term, context };
}

/** Polls `condition` until it holds; fails with `what` and the current state after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: () => string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port with nothing listening on it (bound, then released). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}
