import assert from "node:assert/strict";
import { freePorts, portInUse, portsOf } from "./ports.ts";
import type { LocalClusterState } from "./state.ts";

Deno.test("freePorts: distinct ports, none of the avoided ones, each free once returned", () => {
  const first = freePorts(100);
  assert.equal(new Set(first).size, 100);
  const second = freePorts(100, new Set(first));
  assert.equal(new Set(second).size, 100);
  assert.deepEqual(second.filter((p) => first.includes(p)), []);
  for (const port of second) assert.equal(portInUse(port), false, `port ${port} is still held`);
});

Deno.test("portsOf: every slot of an auto-port cluster gets two ports of its own", () => {
  // Picked one bind-to-port-0 at a time, 1,200 ports out of ~28,000 ephemeral ones repeat with
  // near certainty (the old allocator once gave a node the same client and peer port).
  const state = { ports: "auto", slotPorts: {} } as unknown as LocalClusterState;
  const all: number[] = [];
  for (let slot = 0; slot < 600; slot++) {
    const { client, peer } = portsOf(state, slot);
    all.push(client, peer);
  }
  assert.equal(new Set(all).size, all.length, "a port was handed out twice");
  assert.deepEqual(portsOf(state, 7), state.slotPorts["7"], "a slot keeps its ports");
});

Deno.test("portsOf: fixed bases put slot n on base + n", () => {
  const state = { ports: { client: 2379, peer: 2380 + 100 }, slotPorts: {} } as unknown as LocalClusterState;
  assert.deepEqual(portsOf(state, 2), { client: 2381, peer: 2482 });
});
