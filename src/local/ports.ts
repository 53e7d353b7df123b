/** Ports of the local cluster: fixed bases (slot n on base + n) or free ports picked per slot. */
import type { LocalClusterState } from "./state.ts";

/**
 * `count` distinct TCP ports on 127.0.0.1 that were free a moment ago, none of them in `avoid`.
 * All are held open until every one is picked: binding port 0 twice in a row, closing in between,
 * may hand out the same port twice (seen: a node given one port for both its client and its peer
 * listener, failing to start with "address already in use" forever). Another process may still take
 * a port before ours binds it, so callers that can retry on "address already in use".
 */
export function freePorts(count: number, avoid: ReadonlySet<number> = new Set()): number[] {
  const held: Deno.Listener[] = [];
  const ports: number[] = [];
  try {
    // A port in `avoid` is held too (so the next bind cannot return it) but not handed out.
    for (let tries = 0; ports.length < count; tries++) {
      if (tries > count + 1000) throw new Error(`could not find ${count} free ports on 127.0.0.1`);
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      held.push(listener);
      const port = (listener.addr as Deno.NetAddr).port;
      if (!avoid.has(port)) ports.push(port);
    }
  } finally {
    for (const listener of held) listener.close();
  }
  return ports;
}

export function freePort(): number {
  return freePorts(1)[0];
}

export function portInUse(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return false;
  } catch {
    return true;
  }
}

/** The ports of `slot`, allocated (and recorded in the state) on first use, never another slot's. */
export function portsOf(state: LocalClusterState, slot: number): { client: number; peer: number } {
  const known = state.slotPorts[String(slot)];
  if (known) return known;
  let ports: { client: number; peer: number };
  if (state.ports === "auto") {
    const taken = new Set(Object.values(state.slotPorts).flatMap((p) => [p.client, p.peer]));
    const [client, peer] = freePorts(2, taken);
    ports = { client, peer };
  } else {
    ports = { client: state.ports.client + slot, peer: state.ports.peer + slot };
  }
  state.slotPorts[String(slot)] = ports;
  return ports;
}
