/**
 * One bootstrapped node driver over the given store (the simulator's, in tests), started and
 * elected synchronously: the store must complete its writes in the call (delay 0) while it starts.
 */
import assert from "node:assert/strict";
import { type DriverHooks, NodeDriver, type NodeDriverOptions } from "../node_driver.ts";
import type { SimStore } from "../../sim/sim_store.ts";

export function startLoneNode(
  store: SimStore,
  hooks: DriverHooks,
  extra: Partial<NodeDriverOptions> = {},
  /** Runs after each election tick (a test that defers the Ready loop runs it here). */
  afterTick: () => void = () => {},
): NodeDriver {
  let driver: NodeDriver | undefined;
  NodeDriver.start(
    {
      nodeId: 1,
      self: { peer: "127.0.0.1:1", client: "http://127.0.0.1:2" },
      bootstrap: true,
      safetyMode: "safe",
      electionTicks: 5,
      snapshotEntries: 0,
      retainEntries: 0,
      random: () => 0.5,
      newIncarnation: () => "inc",
      log: () => {},
      ...extra,
    },
    store,
    hooks,
    (error, d) => {
      assert.ifError(error);
      driver = d;
    },
  );
  assert.ok(driver, "the simulator's store opens synchronously");
  for (let i = 0; i < 20 && driver.raft.status().role !== "leader"; i++) {
    driver.tick();
    afterTick();
  }
  assert.equal(driver.raft.status().role, "leader");
  return driver;
}
