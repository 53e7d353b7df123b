/**
 * The live view in a real browser: Debian's chromium, headless, driven by puppeteer-core, against
 * a real local cluster (`deno task local up --auto-ports --fault-injection` in a temp state dir)
 * and the real `deno task ui` server. It checks that the leader and terms are shown, kills the
 * leader and sees a new one, partitions and heals, and steps through a simulator trace written
 * by `deno task sim --trace-json`. Screenshots go to $RAFTKV_UI_SCREENSHOTS (or a temp dir).
 * Every process started here is stopped, and checked dead by pid.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "puppeteer-core";
import { deno, launchChromium, sleep, startUi, waitFor } from "./test_support.ts";
import { isAlive, readState } from "../local/state.ts";
import { HistoryRecorder } from "../check/history.ts";
import { checkAndReport } from "../../experiments/lib/check_run.ts";

/**
 * A small experiment run for the replay tab, through the real recorder and checker: a write
 * acknowledged on one side of a partition, then a read on the other side that misses it.
 */
async function writeExperimentRun(dir: string): Promise<void> {
  let now = 0;
  const recorder = new HistoryRecorder({ model: "kv", now: () => now });
  const step = (ms: number) => now += ms;
  const put = recorder.call("c0", "put", "k1", "v1");
  step(10);
  recorder.ok(put);
  recorder.note("partition {1,2} | {3,4,5}");
  step(100);
  const acked = recorder.call("c0", "put", "k1", "v2");
  step(10);
  recorder.ok(acked);
  step(50);
  const stale = recorder.call("c3", "get", "k1");
  step(10);
  recorder.ok(stale, "v1");
  recorder.note("healed");
  step(10);
  const previous = Deno.env.get("RAFTKV_RESULTS_DIR");
  Deno.env.set("RAFTKV_RESULTS_DIR", dir);
  try {
    await checkAndReport("bug1-unsafe-early-vote", recorder, {
      bug: "bug1",
      mode: "unsafe-early-vote",
      operations: { total: 3 },
      sideLeaderElected: true,
    });
  } finally {
    if (previous === undefined) Deno.env.delete("RAFTKV_RESULTS_DIR");
    else Deno.env.set("RAFTKV_RESULTS_DIR", previous);
  }
}

const leaderOf = (page: Page) =>
  page.$eval("#leader", (el) => ({
    id: Number(el.getAttribute("data-leader") || 0),
    term: Number(el.getAttribute("data-term") || 0),
    text: el.textContent ?? "",
  }));

Deno.test("the live view shows a real cluster, controls it, and replays a simulator trace", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "raftkv-ui-test-" });
  const shots = Deno.env.get("RAFTKV_UI_SCREENSHOTS") ??
    await Deno.makeTempDir({ prefix: "raftkv-ui-shots-" });
  await Deno.mkdir(shots, { recursive: true });
  const resultsDir = await Deno.makeTempDir({ prefix: "raftkv-ui-results-" });
  const simTrace = `${resultsDir}/bug1.json`;
  const pids = new Set<number>();
  let ui: Awaited<ReturnType<typeof startUi>> | undefined;
  let browser: Browser | undefined;
  try {
    await deno(
      [
        "task",
        "sim",
        "--scenario",
        "bug1",
        "--safety-mode",
        "unsafe-early-vote",
        "--seed",
        "1",
        "--trace-json",
        simTrace,
      ],
      "deno task sim --trace-json",
    );
    await deno(
      ["task", "local", "up", "--auto-ports", "--fault-injection", "--state-dir", stateDir],
      "deno task local up",
    );
    const state = (await readState(stateDir))!;
    for (const pid of [state.supervisor?.pid, ...state.nodes.map((n) => n.pid)]) if (pid) pids.add(pid);

    await writeExperimentRun(resultsDir);
    ui = await startUi(["--state-dir", stateDir, "--sim-trace", simTrace, "--results", resultsDir]);
    pids.add(ui.process.pid);
    browser = await launchChromium();
    pids.add(browser.process()!.pid!);
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push((e as Error).message));
    await page.setViewport({ width: 1400, height: 1250 });
    await page.goto(ui.url, { waitUntil: "domcontentloaded" });

    let leader = { id: 0, term: 0, text: "" };
    await t.step("the leader, every member's role and term, and messages are shown", async () => {
      leader = await waitFor("a leader on the page", async () => {
        const l = await leaderOf(page);
        return l.id > 0 && l.term > 0 ? l : undefined;
      }, 15_000);
      assert.match(leader.text, new RegExp(`leader n${leader.id}, term ${leader.term}`));
      const members = await page.$$eval(
        "#live-members .member",
        (els) => els.map((e) => ({ role: e.getAttribute("data-role"), term: e.getAttribute("data-term") })),
      );
      assert.equal(members.length, 3);
      assert.equal(members.filter((m) => m.role === "leader").length, 1);
      assert.ok(members.every((m) => Number(m.term) >= 1), `terms shown: ${JSON.stringify(members)}`);
      // The nodes' /trace streams reach the page: messages are counted and some are in the air.
      await waitFor(
        "sampled messages",
        () =>
          page.evaluate(() =>
            (globalThis as unknown as { raftKvView: { live: { messagesReceived: number } } }).raftKvView.live
              .messagesReceived > 10
          ),
        10_000,
      );
      // Log tails with configuration entries marked.
      await waitFor(
        "log tails with configuration entries",
        async () => (await page.$$eval(".member .entry.kind-conf", (els) => els.length)) >= 3,
        10_000,
      );
      await page.screenshot({ path: `${shots}/live-view.png` });
    });

    await t.step("kill leader: a new leader within seconds", async () => {
      const killedAt = performance.now();
      await page.click("#kill-leader");
      const next = await waitFor("a new leader", async () => {
        const l = await leaderOf(page);
        return l.id > 0 && l.id !== leader.id && l.term > leader.term ? l : undefined;
      }, 15_000);
      console.log(
        `  new leader n${next.id} (term ${next.term}) shown ${
          Math.round(performance.now() - killedAt)
        } ms after the click`,
      );
      assert.ok(await page.$eval("#action-log", (el) => /sent SIGKILL to node/.test(el.textContent ?? "")));
      leader = next;
      // The supervisor restarts the killed node: all three answer again.
      await waitFor(
        "three members answering",
        async () =>
          (await page.$$eval(
            "#live-members .member",
            (els) => els.filter((e) => e.getAttribute("data-role") !== "down").length,
          )) === 3,
        15_000,
      );
    });

    await t.step("partition the leader away, see the cut and a new leader; heal", async () => {
      const others = [1, 2, 3].filter((id) => id !== leader.id);
      await page.type("#partition-groups", `${leader.id}|${others.join(",")}`);
      await page.click("#partition");
      await waitFor(
        "cut links on the ring",
        async () => (await page.$$eval(".link.cut", (els) => els.length)) === 2,
        10_000,
      );
      const majority = await waitFor("a leader on the majority side", async () => {
        const l = await leaderOf(page);
        return others.includes(l.id) ? l : undefined;
      }, 15_000);
      await page.screenshot({ path: `${shots}/live-partitioned.png` });
      console.log(`  partitioned n${leader.id} away; n${majority.id} leads term ${majority.term}`);
      assert.equal(await page.$("#divergence"), null, "safe mode: committed logs never disagree");
      await page.click("#heal");
      await waitFor(
        "no cut link",
        async () => (await page.$$eval(".link.cut", (els) => els.length)) === 0,
        10_000,
      );
      await waitFor("one leader, all three members caught up", async () => {
        const roles = await page.$$eval(
          "#live-members .member",
          (els) => els.map((e) => e.getAttribute("data-role")),
        );
        return roles.filter((r) => r === "leader").length === 1 &&
          roles.filter((r) => r === "follower").length === 2;
      }, 15_000);
    });

    await t.step("pause and resume a follower; delay one", async () => {
      const follower = await page.$eval(
        '#live-members .member[data-role="follower"]',
        (el) => Number(el.getAttribute("data-node")),
      );
      // Clicked in the page: a real click's press and release may straddle a redraw of the cards.
      const press = (action: string) =>
        page.$eval(`#live-members .member[data-node="${follower}"] [data-action="${action}"]`, (el) => {
          (el as unknown as { click(): void }).click();
        });
      await press("pause");
      await waitFor(
        `n${follower} shown paused`,
        async () =>
          (await page.$eval(
            `#live-members .member[data-node="${follower}"]`,
            (el) => el.getAttribute("data-role"),
          )) ===
            "paused",
        10_000,
      );
      await press("resume");
      await waitFor(
        `n${follower} back as a follower`,
        async () =>
          (await page.$eval(
            `#live-members .member[data-node="${follower}"]`,
            (el) => el.getAttribute("data-role"),
          )) ===
            "follower",
        10_000,
      );
      await page.type("#delay-node", String(follower));
      await page.click("#delay");
      await waitFor(
        "the delay's answer",
        () =>
          page.$eval(
            "#action-log",
            (el) => /every message to and from it waits 200 ms/.test(el.textContent ?? ""),
          ),
        10_000,
      );
      await waitFor("the delay on the follower's card", () =>
        page.$eval(
          `#live-members .member[data-node="${follower}"]`,
          (el) => /faults: delay 200 ms to n/.test(el.textContent ?? ""),
        ), 15_000);
      await page.click("#heal");
    });

    await t.step("scale to 4: the planner's steps and the new member appear", async () => {
      await page.$eval("#scale-to", (el) => el.setAttribute("value", "4"));
      await page.click("#scale-to", { count: 3 });
      await page.type("#scale-to", "4");
      await page.click("#scale");
      await waitFor("four members, the planner settled again", async () => {
        const members = await page.$$eval("#live-members .member", (els) => els.length);
        const step = await page.$eval("#planner-step", (el) => el.textContent ?? "");
        return members === 4 && /steady: 4 voters/.test(step);
      }, 45_000);
      const history = await page.$eval("#live-planner table.history", (el) => el.textContent ?? "");
      for (const phase of ["AddLearners", "CatchUp", "EnterJoint", "CommitNew"]) {
        assert.match(history, new RegExp(phase));
      }
      assert.match(await page.$eval("#config-line", (el) => el.textContent ?? ""), /voters \{1,2,3,4\}/);
    });

    await t.step("write and read a key through the controls", async () => {
      await page.click("#kv-write");
      await waitFor(
        "the write's answer",
        () => page.$eval("#action-log", (el) => /put greeting=hello: committed/.test(el.textContent ?? "")),
        10_000,
      );
      await page.click("#kv-read");
      await waitFor(
        "the read's answer",
        () =>
          page.$eval(
            "#action-log",
            (el) => /get greeting \(linearizable\) = "hello"/.test(el.textContent ?? ""),
          ),
        10_000,
      );
      await waitFor(
        "a ReadIndex round on the page",
        async () => (await page.$$("#read-rounds tr")).length > 1,
        10_000,
      );
      await page.screenshot({ path: `${shots}/live-read.png` });
    });

    await t.step("replay a simulator trace step by step", async () => {
      await page.click("#tab-button-sim");
      const position = () =>
        page.$eval(
          "#sim-position",
          (el) => ({ step: Number(el.getAttribute("data-step")), text: el.textContent ?? "" }),
        );
      await waitFor(
        "the trace to load",
        async () => (await position()).text.startsWith("event 1 of"),
        10_000,
      );
      const total = Number(/of (\d+)/.exec((await position()).text)![1]);
      assert.ok(total > 100, `events: ${total}`);
      const eventText = () => page.$eval("#sim-event", (el) => el.textContent ?? "");
      // Notable event by notable event (not messages) to the first election's end.
      for (let i = 0; i < 50 && !/became leader/.test(await eventText()); i++) {
        await page.click("#sim-next-notable");
      }
      assert.match(await eventText(), /became leader/);
      const elected = (await position()).step;
      const roles = await page.$$eval(
        "#sim-members .member",
        (els) => els.map((e) => e.getAttribute("data-role")),
      );
      assert.equal(roles.length, 3);
      assert.equal(roles.filter((r) => r === "leader").length, 1, `roles at "became leader": ${roles}`);
      // One event at a time, forward and back.
      for (let i = 0; i < 3; i++) await page.click("#sim-forward");
      assert.equal((await position()).step, elected + 3);
      await page.click("#sim-back");
      assert.equal((await position()).step, elected + 2);
      await page.click("#sim-first");
      assert.equal((await position()).step, 0);
      // Jump along notable events until the partition, then to the end: nodes 4 and 5 exist by then.
      for (
        let i = 0;
        i < 400 && !/^PARTITION/.test(await page.$eval("#sim-event", (el) => el.textContent ?? ""));
        i++
      ) {
        await page.click("#sim-next-notable");
      }
      assert.match(await eventText(), /^PARTITION/);
      assert.equal(
        await page.$$eval("#sim-ring .link.cut", (els) => els.length),
        6,
        "{A,B} | {S,4,5}: 2 x 3 links cut",
      );
      await page.screenshot({ path: `${shots}/sim-replay.png` });
      await page.click("#sim-last");
      assert.equal((await position()).step, total - 1);
      assert.equal(await page.$$eval("#sim-members .member", (els) => els.length), 5);
      assert.match(await page.$eval("#sim-violations", (el) => el.textContent ?? ""), /invariant violations/);
    });
    await t.step("replay an experiment run: its faults, the checker's verdict, its report", async () => {
      await page.click("#tab-button-exp");
      await page.waitForSelector('[data-run="bug1-unsafe-early-vote"]', { timeout: 10_000 });
      await page.click('[data-run="bug1-unsafe-early-vote"]');
      await page.waitForSelector("#exp-verdict", { timeout: 10_000 });
      assert.match(await page.$eval("#exp-verdict", (el) => el.textContent ?? ""), /NOT linearizable/);
      const position = () => page.$eval("#exp-position", (el) => el.textContent ?? "");
      assert.match(await position(), /partition \{1,2\} \| \{3,4,5\}/);
      await page.click("#exp-next");
      assert.match(await position(), /healed/);
      await page.click("#exp-prev");
      assert.match(await position(), /partition/);
      assert.equal(await page.$$eval(".op.bad", (els) => els.length), 1, "the read the checker stopped at");
      const report = await page.$eval("#exp-report", (el) => el.getAttribute("href"));
      const html = await (await fetch(new URL(report!, ui!.url))).text();
      assert.match(html, /<html/i);
      await page.screenshot({ path: `${shots}/experiment-replay.png` });
    });
    assert.deepEqual(pageErrors, [], "errors in the page");
    console.log(`  screenshots in ${shots}`);
  } finally {
    await browser?.close().catch(() => {});
    // Nodes restarted after the kill have new pids: the view knows them.
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
    await Deno.remove(resultsDir, { recursive: true }).catch(() => {});
  }
  await sleep(300);
  const left = [...pids].filter((pid) => isAlive(pid));
  assert.deepEqual(left, [], `processes left running: ${left}`);
});
