import assert from "node:assert/strict";
import { type LocalClusterState, readState, writeState } from "./state.ts";

Deno.test("the state file holds tokens: only its owner may read it, even over a looser leftover", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv-state-" });
  try {
    // A temp file left by a crash mid-write, readable by all: the new state must not inherit that.
    await Deno.writeTextFile(`${dir}/cluster.json.tmp`, "{}", { mode: 0o644 });
    const state = {
      version: 1,
      clusterId: "c",
      adminToken: "secret-admin",
      peerToken: "secret-peer",
    } as unknown as LocalClusterState;
    await writeState(dir, state);
    assert.equal((await Deno.stat(`${dir}/cluster.json`)).mode! & 0o777, 0o600);
    assert.equal((await readState(dir))?.adminToken, "secret-admin");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
