/**
 * The raft-kv HTTP application: client API, admin API under /admin, health, status, metrics.
 * Every answer carries X-Raft-Node and X-Raft-Leader; every error is JSON.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { bodyLimit } from "hono/body-limit";
import type { NodeHolder } from "./node_holder.ts";
import { clientApi } from "./client_api.ts";
import { batchApi } from "./batch_api.ts";
import { adminApi } from "./admin_api.ts";
import { bootstrapApi, type BootstrapTarget } from "../security/bootstrap_api.ts";
import { observabilityApi } from "./observability.ts";
import { messageTraceApi } from "./message_trace.ts";
import { errorResponse, HttpError } from "./http_errors.ts";
import { ServerMetrics } from "./metrics.ts";
import { clientAuth } from "../security/auth_middleware.ts";

/**
 * `metrics`: the registry /metrics serves (the server passes the one whose probes it installed).
 * `serves`: with --listen-admin the server runs two apps, one without /admin and one with /admin only.
 */
export function createApp(
  holder: NodeHolder,
  metrics = new ServerMetrics(holder),
  serves: { client: boolean; admin: boolean } = { client: true, admin: true },
): Hono {
  const app = new Hono();
  const started = performance.now();

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    const node = holder.node;
    if (node && !c.res.headers.has("x-raft-node")) c.res.headers.set("x-raft-node", String(node.id));
    if (node) c.res.headers.set("x-raft-leader", String(node.leader));
    metrics.recordRequest(routePath(c), c.req.method, c.res.status, (performance.now() - t0) / 1000);
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

  // Bodies are read only up to a limit, with or without Content-Length: a chunked upload past it
  // is answered 413 as soon as it crosses the limit, never buffered whole (Hono's bodyLimit counts
  // its bytes as they come). A body with a Content-Length is judged by that header alone: HTTP/1.1
  // framing stops it there. Hono's middleware first reads `c.req.raw.body`, which makes Deno build
  // a ReadableStream for every request and deliver the body through it instead of in one piece:
  // 6-9 us of CPU per write (a bare Hono server here, 16 clients, 500 B values: 38-44 -> 32-35 us
  // per request), a tenth of what a write costs the leader.
  const limit = (maxSize: number, what: string): MiddlewareHandler => {
    const onError = (c: Context) =>
      errorResponse(
        c,
        new HttpError(413, "body_too_large", `the request body is over ${maxSize} bytes (${what})`),
      );
    const counted = bodyLimit({ maxSize, onError });
    return (c, next) => {
      const headers = c.req.raw.headers;
      const length = headers.get("content-length");
      if (length === null || headers.has("transfer-encoding")) return counted(c, next);
      return Number.parseInt(length, 10) > maxSize ? Promise.resolve(onError(c)) : next();
    };
  };
  const valueBytes = holder.config.maxValueBytes;
  app.use("/kv/*", limit(valueBytes * 2 + 4096, `values are limited to ${valueBytes} bytes`));
  app.use("/admin/*", limit(1 << 20, "admin requests are small JSON documents"));
  if (holder.auth) app.use("*", clientAuth(holder.auth));

  if (serves.client) {
    app.route("/", observabilityApi(holder, metrics, started));
    app.route("/", messageTraceApi(holder));
    app.route("/", clientApi(holder));
    app.route("/", batchApi(holder));
  }
  if (serves.admin) {
    // Open, before the admin API's token check: see bootstrap_api.ts for why that is safe.
    app.route("/admin/bootstrap", bootstrapApi(() => bootstrapTarget(holder)));
    app.route("/admin", adminApi(holder));
  }
  return app;
}

function bootstrapTarget(holder: NodeHolder): BootstrapTarget | undefined {
  const memberTls = holder.memberTls;
  if (!memberTls) return undefined;
  return {
    memberTls,
    adminToken: holder.config.adminToken,
    clusterId: holder.config.clusterId,
    currentId: () => holder.identity?.nodeId,
    assign: async (nodeId, bootstrap) => {
      const { changed } = await holder.assign(nodeId, holder.config.clusterId, bootstrap);
      return { changed, incarnation: holder.node?.incarnation };
    },
  };
}
