/**
 * The live view's HTTP app (Hono): the page and its bundled script, the cluster feed
 * (GET /api/snapshot, GET /api/live as server-sent events), the local cluster's controls
 * (POST /api/local/...), experiment runs and simulator traces for replay, and the Kubernetes
 * panel. Every error is JSON `{ok: false, message}` naming what went wrong.
 */
import { Hono } from "hono";
import type { LiveFeed } from "./live_feed.ts";
import { ActionError, type LocalClusterLink, type NodeCommand } from "./local_cluster.ts";
import { ExperimentNotFound, type ExperimentRuns } from "./experiment_runs.ts";
import type { KubeClusterSource } from "./kube_source.ts";
import type { ActionResult } from "./view_types.ts";
import type { SimTraceFile } from "./replay_types.ts";

export interface UiDependencies {
  script: string;
  feed: LiveFeed;
  /** Present when the view watches a local cluster (not --kube). */
  local?: LocalClusterLink;
  kube?: KubeClusterSource;
  experiments: ExperimentRuns;
  /** Simulator traces named on the command line (--sim-trace), opened from the page's list. */
  simTraces: Array<{ name: string; trace: SimTraceFile }>;
}

const WEB = new URL("./web/", import.meta.url);

class BadRequest extends Error {}

async function body(c: { req: { json(): Promise<unknown> } }): Promise<Record<string, unknown>> {
  try {
    const v = await c.req.json();
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* below */ }
  throw new BadRequest("the body must be a JSON object");
}

function id(value: unknown, field = "id"): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new BadRequest(`"${field}" must be a node id (a positive integer)`);
  }
  return n;
}

function optionalId(value: unknown, field: string): number | undefined {
  return value === undefined || value === null || value === "" ? undefined : id(value, field);
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") {
    throw new BadRequest(`"${field}" must be a non-empty string`);
  }
  return value;
}

/** "1,2|3,4,5" or [[1,2],[3,4,5]]. */
function groups(value: unknown): number[][] {
  const raw = typeof value === "string"
    ? value.split("|").map((g) => g.split(",").map((s) => s.trim()).filter(Boolean))
    : value;
  if (!Array.isArray(raw) || !raw.every(Array.isArray)) {
    throw new BadRequest('"groups" must look like "1,2|3" (node ids, groups separated by |)');
  }
  return raw.map((g: unknown[]) => g.map((v) => id(v, "groups")));
}

export function createUiApp(deps: UiDependencies): Hono {
  const app = new Hono();
  app.onError((e, c) => {
    const status = e instanceof BadRequest || e instanceof ActionError
      ? 400
      : e instanceof ExperimentNotFound
      ? 404
      : 502;
    return c.json({ ok: false, message: e.message } satisfies ActionResult, status);
  });
  app.notFound((c) => c.json({ ok: false, message: `no ${c.req.method} ${c.req.path} here` }, 404));

  const file = (name: string, type: string) => async () =>
    new Response(await Deno.readFile(new URL(name, WEB)), { headers: { "content-type": type } });
  app.get("/", file("index.html", "text/html; charset=utf-8"));
  app.get("/style.css", file("style.css", "text/css; charset=utf-8"));
  app.get("/app.js", (c) => c.body(deps.script, 200, { "content-type": "text/javascript; charset=utf-8" }));

  app.get("/api/config", (c) =>
    c.json({
      mode: deps.kube ? "kube" : "local",
      stateDir: deps.local?.stateDir,
      kube: deps.kube ? { name: deps.kube.name, namespace: deps.kube.namespace } : undefined,
      resultsDir: deps.experiments.dir,
      simTraces: deps.simTraces.map((t, i) => ({ index: i, name: t.name, events: t.trace.events.length })),
    }));
  app.get("/api/snapshot", async (c) => c.json(await deps.feed.snapshot()));
  app.get("/api/live", (c) => {
    const stream = deps.feed.subscribe();
    c.req.raw.signal.addEventListener("abort", () => stream.cancel().catch(() => {}));
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  });

  const local = () => {
    if (!deps.local) {
      throw new BadRequest("this view watches a Kubernetes cluster: the local controls are off");
    }
    return deps.local;
  };
  const done = (message: string) => ({ ok: true, message } satisfies ActionResult);
  app.post(
    "/api/local/nodes/:id/:command",
    async (c) =>
      c.json(done(await local().command(id(c.req.param("id")), c.req.param("command") as NodeCommand))),
  );
  app.post("/api/local/kill-leader", async (c) => {
    const leader = (await deps.feed.snapshot()).leader;
    if (!leader) throw new ActionError("no leader answers right now: nothing to kill");
    return c.json(done(await local().command(leader, "kill")));
  });
  app.post(
    "/api/local/scale",
    async (c) => c.json(done(await local().scale(Number((await body(c)).replicas)))),
  );
  app.post(
    "/api/local/partition",
    async (c) => c.json(done(await local().partition(groups((await body(c)).groups)))),
  );
  app.post("/api/local/isolate-leader", async (c) => {
    const leader = (await deps.feed.snapshot()).leader;
    if (!leader) throw new ActionError("no leader answers right now: nothing to isolate");
    return c.json(done(await local().partition([[leader]])));
  });
  app.post("/api/local/delay", async (c) => {
    const b = await body(c);
    return c.json(done(await local().delay(id(b.id), Number(b.ms))));
  });
  app.post("/api/local/heal", async (c) => c.json(done(await local().heal())));
  app.post("/api/local/write", async (c) => {
    const b = await body(c);
    if (typeof b.value !== "string") throw new BadRequest('"value" must be a string');
    return c.json(done(await local().write(text(b.key, "key"), b.value, optionalId(b.node, "node"))));
  });
  app.post("/api/local/read", async (c) => {
    const b = await body(c);
    return c.json(done(await local().read(text(b.key, "key"), b.stale === true, optionalId(b.node, "node"))));
  });

  app.get("/api/experiments", async (c) => c.json(await deps.experiments.list()));
  app.get("/api/experiments/:name", async (c) => c.json(await deps.experiments.load(c.req.param("name"))));
  app.get("/api/experiments/:name/report", async (c) => {
    const path = await deps.experiments.reportPath(c.req.param("name"));
    if (!path) {
      throw new ExperimentNotFound(
        `run "${c.req.param("name")}" has no HTML report in ${deps.experiments.dir}`,
      );
    }
    return c.body(await Deno.readTextFile(path), 200, { "content-type": "text/html; charset=utf-8" });
  });
  app.get("/api/sim-traces/:index", (c) => {
    const trace = deps.simTraces[Number(c.req.param("index"))];
    if (!trace) {
      throw new ExperimentNotFound(`no simulator trace #${c.req.param("index")} was given with --sim-trace`);
    }
    return c.json(trace.trace);
  });

  app.get("/api/kube", async (c) => {
    if (!deps.kube) throw new BadRequest("start the view with --kube NAME to see a RaftCluster");
    const { object: _, ...snapshot } = await deps.kube.kube();
    return c.json(snapshot);
  });
  return app;
}
