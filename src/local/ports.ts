/** Ports of the local cluster: fixed bases (slot n on base + n) or free ports picked per slot. */
import type { LocalClusterState } from "./state.ts";

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export function portInUse(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return false;
  } catch {
    return true;
  }
}

/** The ports of `slot`, allocated (and recorded in the state) on first use. */
export function portsOf(state: LocalClusterState, slot: number): { client: number; peer: number } {
  const known = state.slotPorts[String(slot)];
  if (known) return known;
  const ports = state.ports === "auto"
    ? { client: freePort(), peer: freePort() }
    : { client: state.ports.client + slot, peer: state.ports.peer + slot };
  state.slotPorts[String(slot)] = ports;
  return ports;
}
