/**
 * The Porcupine key-value fixtures (../shared/data/porcupine-kv beside the repository): every -ok file is
 * linearizable, every -bad file is not. CI clones the repository elsewhere; without the fixtures these
 * tests are skipped, loudly.
 */
import assert from "node:assert/strict";
import { checkHistory } from "./checker.ts";
import { kvModel } from "./kv_model.ts";
import { kvWholeModel } from "./kv_whole_model.ts";
import { loadHistoryFile } from "./load_history.ts";

const FIXTURES = new URL("../../../shared/data/porcupine-kv/", import.meta.url);
const NAMES = ["c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"];

function fixturesPresent(): boolean {
  try {
    return Deno.statSync(new URL("c01-ok.txt", FIXTURES)).isFile;
  } catch {
    return false;
  }
}

const present = fixturesPresent();
if (!present) {
  console.error(
    `!!! SKIPPING the Porcupine fixture tests: ${FIXTURES.pathname} is missing (it sits beside the repo)`,
  );
}

Deno.test({
  name: "Porcupine fixtures: -ok files are linearizable, -bad files are not",
  ignore: !present,
  async fn(t) {
    for (const name of NAMES) {
      await t.step(name, async () => {
        const { history } = await loadHistoryFile(new URL(`${name}.txt`, FIXTURES).pathname);
        const result = await checkHistory(history, { model: kvModel, timeoutMs: 30_000 });
        assert.equal(result.verdict, name.endsWith("-ok") ? "linearizable" : "not linearizable");
        console.log(
          `  ${name}: ${history.operations.length} ops, ${result.verdict}, ${result.elapsedMs.toFixed(0)} ms`,
        );
      });
    }
  },
});

Deno.test({
  name: "Porcupine fixtures: checking without partitions gives the same verdicts (c01)",
  ignore: !present,
  async fn() {
    for (const name of ["c01-ok", "c01-bad"]) {
      const { history } = await loadHistoryFile(new URL(`${name}.txt`, FIXTURES).pathname);
      const partitioned = await checkHistory(history, { model: kvModel, workers: 0 });
      const whole = await checkHistory(history, { model: kvWholeModel, workers: 0 });
      assert.equal(whole.verdict, partitioned.verdict, name);
    }
  },
});
