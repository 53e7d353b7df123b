/**
 * What the live view is for: a student partitions a cluster running a deliberately broken mode
 * and watches it break. bug1's schedule, driven through the view's own controls (its HTTP API,
 * as the page's buttons post it) on a real `unsafe-early-vote` cluster: cut the leader off from
 * the members about to join, add them (as voters at once: the unsafe mode), cut node 3 off from
 * the leader while it commits, then split {1,2} | {3,4,5}. The stale node wins with the empty
 * members' votes and commits over acknowledged entries; the page says so, and a linearizable read
 * on node 3 misses an acknowledged write.
 */
import assert from "node:assert/strict";
import type { Browser } from "puppeteer-core";
import { isAlive, readState } from "../local/state.ts";
import { deno, launchChromium, sleep, startUi, waitFor } from "./test_support.ts";
import type { ActionResult, ClusterSnapshot } from "./view_types.ts";

Deno.test("unsafe-early-vote: the view shows a stale node taking over and committed logs disagreeing", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "raftkv-ui-unsafe-test-" });
  const pids = new Set<number>();
  let ui: Awaited<ReturnType<typeof startUi>> | undefined;
  let browser: Browser | undefined;
  try {
    await deno([
      "task",
      "local",
      "up",
      "--auto-ports",
      "--fault-injection",
      "--safety-mode",
      "unsafe-early-vote",
      "--state-dir",
      stateDir,
    ], "deno task local up");
    const state = (await readState(stateDir))!;
    for (const pid of [state.supervisor?.pid, ...state.nodes.map((n) => n.pid)]) if (pid) pids.add(pid);
    ui = await startUi(["--state-dir", stateDir, "--results", stateDir]);
    pids.add(ui.process.pid);
    const api = async (path: string, body: unknown): Promise<string> => {
      const r = await fetch(new URL(`api/local/${path}`, ui!.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await r.json() as ActionResult;
      assert.ok(answer.ok, `${path}: ${answer.message}`);
      return answer.message;
    };
    const snapshot = async () =>
      await (await fetch(new URL("api/snapshot", ui!.url))).json() as ClusterSnapshot;
    const leader = await waitFor("a leader", async () => (await snapshot()).leader, 15_000);
    const stale = [1, 2, 3].find((id) => id !== leader && id !== 2) ?? 3;
    const partner = [1, 2, 3].find((id) => id !== leader && id !== stale)!;

    assert.match(await api("partition", { groups: `${leader}|4,5` }), /not started yet/);
    await api("scale", { replicas: 5 });
    await waitFor("five voters in the stale node's configuration", async () => {
      const m = (await snapshot()).members.find((x) => x.id === stale);
      return m?.status?.conf?.voters.length === 5;
    }, 30_000);
    await api("partition", { groups: `${stale}|${leader}` });
    for (let i = 0; i < 3; i++) await api("write", { key: "acked", value: `v${i}`, node: leader });
    await api("partition", { groups: `${leader},${partner}|${stale},4,5` });
    const taken = await waitFor(`n${stale} to lead the {${stale},4,5} side`, async () => {
      const s = await snapshot();
      return s.members.find((m) => m.id === stale)?.status?.role === "leader" ? s : undefined;
    }, 20_000);
    console.log(`  n${stale} leads term ${taken.members.find((m) => m.id === stale)!.status!.term}`);
    // The acknowledged write is gone for a linearizable read on the stale side.
    assert.match(await api("read", { key: "acked", node: stale }), /get acked \(linearizable\): not found/);

    browser = await launchChromium();
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1150 });
    await page.goto(ui.url, { waitUntil: "domcontentloaded" });
    const text = await waitFor("the page to flag the divergence", async () => {
      const el = await page.$("#divergence");
      return el ? await el.evaluate((e) => e.textContent ?? "") : undefined;
    }, 15_000);
    assert.match(text, /committed logs disagree at index \d+: .* State Machine Safety is broken/);
    assert.match(await page.$eval("#live-summary", (el) => el.textContent ?? ""), /unsafe-early-vote/);
    const shots = Deno.env.get("RAFTKV_UI_SCREENSHOTS");
    if (shots) await page.screenshot({ path: `${shots}/live-unsafe.png` });
  } finally {
    await browser?.close().catch(() => {});
    const snapshot = await fetch(`${ui?.url}api/snapshot`).then((r) => r.json()).catch(() => undefined);
    for (const m of snapshot?.members ?? []) if (m.pid) pids.add(m.pid);
    if (ui) {
      ui.process.kill("SIGTERM");
      const status = await Promise.race([ui.process.status, sleep(5000).then(() => undefined)]);
      if (!status) ui.process.kill("SIGKILL");
      await ui.process.status;
    }
    await deno(["task", "local", "down", "--state-dir", stateDir], "deno task local down").catch((e) =>
      console.error(e)
    );
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
  await sleep(300);
  const left = [...pids].filter((pid) => isAlive(pid));
  assert.deepEqual(left, [], `processes left running: ${left}`);
});
