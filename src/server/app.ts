/**
 * The raft-kv HTTP application: client API, admin API under /admin, health, status, metrics.
 * Every answer carries X-Raft-Node and X-Raft-Leader; every error is JSON.
 */
import { Hono } from "hono";
import { routePath } from "hono/route";
import type { NodeHolder } from "./node_holder.ts";
import { clientApi } from "./client_api.ts";
import { adminApi } from "./admin_api.ts";
import { observabilityApi } from "./observability.ts";
import { errorResponse } from "./http_errors.ts";
import { HttpStats } from "./http_stats.ts";

export function createApp(holder: NodeHolder): Hono {
  const app = new Hono();
  const http = new HttpStats();
  const started = performance.now();

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    const node = holder.node;
    if (node && !c.res.headers.has("x-raft-node")) c.res.headers.set("x-raft-node", String(node.id));
    if (node) c.res.headers.set("x-raft-leader", String(node.leader));
    http.record(routePath(c), c.req.method, c.res.status, performance.now() - t0);
  });
  app.onError((error, c) => errorResponse(c, error));
  app.notFound((c) =>
    c.json({
      error: {
        code: "no_route",
        message: `no ${c.req.method} ${new URL(c.req.url).pathname}; see the README for the API`,
      },
    }, 404)
  );

  app.route("/", observabilityApi(holder, http, started));
  app.route("/", clientApi(holder));
  app.route("/admin", adminApi(holder));
  return app;
}
