import assert from "node:assert/strict";
import { onCreate, onUpdate, resource } from "./intents/decorators.ts";
import type { HandlerContext } from "./intents/handler_context.ts";
import { readLastHandled } from "./actions/progress.ts";
import { WIDGETS } from "./testing/widgets.ts";
import { withFakeCluster } from "./testing/operator_fixture.ts";
import { delay, waitFor } from "./testing/wait.ts";

@resource({ ...WIDGETS, namespace: "default" })
class Scaler {
  seen: string[] = [];
  @onCreate()
  created(ctx: HandlerContext) {
    this.seen.push(`create ${ctx.name}`);
  }
  @onUpdate("spec.replicas")
  scaled(ctx: HandlerContext) {
    this.seen.push(`scale ${ctx.name} ${ctx.old}->${ctx.new}`);
  }
}

const LIST_PATH = /\/widgets$/;

Deno.test("watch health", async (t) => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const scaler = new Scaler();
    const operator = await startOperator([scaler], {
      settings: { watch: { inactivityMs: 600, timeoutSeconds: 30 } },
    });
    fake.create(WIDGETS, { metadata: { name: "w1", namespace: "default" }, spec: { replicas: 1 } });
    await waitFor("create handled", () => readLastHandled(fake.get(WIDGETS, "default", "w1")!));
    const scaleTo = async (n: number, from: number) => {
      fake.patch(WIDGETS, "default", "w1", { spec: { replicas: n } });
      await waitFor(`scale to ${n}`, () => scaler.seen.includes(`scale w1 ${from}->${n}`));
      await settled(n);
    };
    // The cycle is over (diff base written) and its write echoed: the operator is idle.
    const settled = async (replicas: number) => {
      await waitFor("the cycle's end", () => {
        const lastHandled = readLastHandled(fake.get(WIDGETS, "default", "w1")!) as {
          spec?: { replicas?: number };
        };
        return lastHandled?.spec?.replicas === replicas;
      });
      await delay(100);
    };

    await t.step("a closed watch resumes from the last resourceVersion, without listing again", async () => {
      const lists = operator.stats.lists;
      const watches = fake.watchConnections;
      fake.closeWatches();
      await waitFor("a new watch", () => fake.watchConnections > watches);
      await scaleTo(2, 1);
      assert.equal(operator.stats.lists, lists);
      const resumed = fake.requests.filter((r) => r.query.get("watch") === "true").at(-1)!;
      assert.notEqual(resumed.query.get("resourceVersion"), "0");
      assert.equal(resumed.query.get("allowWatchBookmarks"), "true");
    });

    await t.step("a bookmark moves the resume point", async () => {
      fake.create(WIDGETS, { metadata: { name: "elsewhere", namespace: "other" } }); // not watched
      fake.bookmark();
      await new Promise((r) => setTimeout(r, 100));
      fake.closeWatches();
      await waitFor("a watch resumed at the bookmark", () => {
        const last = fake.requests.filter((r) => r.query.get("watch") === "true").at(-1)!;
        return Number(last.query.get("resourceVersion")) >= Number(
          fake.get(WIDGETS, "other", "elsewhere")!.metadata.resourceVersion,
        );
      });
    });

    await t.step("410 Gone: lists again and catches up with what happened meanwhile", async () => {
      const lists = operator.stats.lists;
      fake.stallOpenWatches(); // the change below must not travel on the open watch
      fake.compact();
      fake.patch(WIDGETS, "default", "w1", { spec: { replicas: 3 } });
      fake.closeWatches();
      await waitFor("scale after relist", () => scaler.seen.includes("scale w1 2->3"));
      assert.equal(operator.stats.lists, lists + 1);
      await settled(3);
    });

    await t.step("API errors: reconnects with backoff and recovers", async () => {
      const errors = operator.stats.watchErrors;
      fake.compact();
      fake.failNext("GET", LIST_PATH, 503, 3);
      fake.closeWatches();
      await scaleTo(4, 3);
      assert.ok(operator.stats.watchErrors >= errors + 3, `${operator.stats.watchErrors - errors} errors`);
    });

    await t.step("a silent (half-open) watch is dropped after the inactivity timeout", async () => {
      const timeouts = operator.stats.watchInactivityTimeouts;
      fake.stallOpenWatches();
      fake.patch(WIDGETS, "default", "w1", { spec: { replicas: 5 } });
      await waitFor("scale through a new watch", () => scaler.seen.includes("scale w1 4->5"), 10_000);
      assert.ok(operator.stats.watchInactivityTimeouts > timeouts);
    });

    assert.equal(scaler.seen.filter((s) => s.startsWith("create")).length, 1, "relists repeat nothing");
  });
});
