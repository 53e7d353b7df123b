import assert from "node:assert/strict";
import { removeGradually, REMOVING_SUFFIX } from "./gradual_remove.ts";
import { makeEntries, openQuietly, snapshotFiles, withTempDir } from "./test_support.ts";

Deno.test("removeGradually removes a file larger than a chunk, and one smaller, leaving nothing behind", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/big`, new Uint8Array(2_500_000).fill(1));
    await Deno.writeFile(`${dir}/small`, new Uint8Array(10).fill(2));
    await removeGradually(dir, "big", 1_000_000);
    await removeGradually(dir, "small", 1_000_000);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    await assert.rejects(removeGradually(dir, "absent"), Deno.errors.NotFound);
  });
});

Deno.test("a snapshot file whose removal a crash interrupted is removed when the storage opens, not reported", async () => {
  await withTempDir(async (dir) => {
    const conf = { voters: [1], votersOutgoing: [], learners: [], learnersNext: [] };
    const { storage } = await openQuietly(dir);
    await storage.save(makeEntries(1, 30, 1), { term: 1, vote: 1, commit: 30 });
    for (const index of [10, 20, 30]) {
      await storage.saveSnapshot({ meta: { index, term: 1, conf }, data: new Uint8Array(5000).fill(index) });
    }
    await storage.close();
    // The third snapshot removed the first: two are kept.
    assert.deepEqual(await snapshotFiles(dir), [
      "snap-0000000000000020-0000000000000001.snap",
      "snap-0000000000000030-0000000000000001.snap",
    ]);
    // What a crash in the middle of removing snapshot 20 leaves: a shortened file under the temporary name.
    const name = "snap-0000000000000020-0000000000000001.snap";
    await Deno.rename(`${dir}/${name}`, `${dir}/${name}${REMOVING_SUFFIX}`);
    await Deno.truncate(`${dir}/${name}${REMOVING_SUFFIX}`, 100);
    const { storage: reopened, recovered, lines } = await openQuietly(dir);
    assert.equal(recovered.snapshot!.meta.index, 30);
    assert.deepEqual(await snapshotFiles(dir), ["snap-0000000000000030-0000000000000001.snap"]);
    assert.deepEqual(lines.filter((l) => l.includes("damaged")), []);
    await reopened.close();
  });
});
