import assert from "node:assert/strict";
import { withTeardown } from "./e2e_support.ts";

Deno.test("withTeardown: a stray rejected promise fails the test only after the teardown ran", async () => {
  const stopped: string[] = [];
  await assert.rejects(
    withTeardown(async (teardown) => {
      teardown.add("first", () => Promise.resolve(void stopped.push("first")));
      teardown.add("second", () => Promise.resolve(void stopped.push("second")));
      // What the workload did with an empty endpoint list: a background promise that rejects.
      void Promise.reject(new TypeError("Cannot read properties of undefined"));
      await new Promise((r) => setTimeout(r, 20));
    }),
    /unhandled rejection\(s\) during the test: TypeError: Cannot read properties of undefined/,
  );
  assert.deepEqual(stopped, ["second", "first"]);
});

Deno.test("withTeardown: a failing body and a failing stop step still run every other stop step", async () => {
  const stopped: string[] = [];
  await assert.rejects(
    withTeardown((teardown) => {
      teardown.add("kept", () => Promise.resolve(void stopped.push("kept")));
      teardown.add("broken", () => Promise.reject(new Error("no such process")));
      return Promise.reject(new Error("step failed"));
    }),
    /step failed/,
  );
  assert.deepEqual(stopped, ["kept"]);
});
