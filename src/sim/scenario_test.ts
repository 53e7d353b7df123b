import assert from "node:assert/strict";
import { runScenario } from "./scenario.ts";

const dir = new URL("./scenarios/", import.meta.url);

Deno.test("protocol scenarios (src/sim/scenarios/*.txt)", async (t) => {
  const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".txt")).map((e) => e.name).sort();
  assert.ok(files.length >= 10, `expected the scenario scripts, found ${files.length}`);
  for (const name of files) {
    await t.step(name, () => {
      runScenario(Deno.readTextFileSync(new URL(name, dir)));
    });
  }
});

Deno.test("a failing expectation names the line and shows the trace", () => {
  assert.throws(
    () => runScenario("bootstrap 1 2 3\ncampaign 1\nstabilize\nexpect leader 2\n"),
    (e: Error) => e.message.includes('line 4 "expect leader 2"') && e.message.includes("last trace lines"),
  );
});
