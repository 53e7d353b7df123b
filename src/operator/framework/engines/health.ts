/**
 * The operator's liveness and readiness endpoints, for a Deployment's probes:
 *   GET /healthz  200 while the process works: started, not stopped, and (with leader election) the
 *                 election loop still turns; 503 otherwise, so the kubelet restarts a wedged replica.
 *   GET /readyz   200 once started and, with leader election, while the API server answers the
 *                 election within a lease duration (a standby replica is ready too: it is needed for
 *                 a fast takeover); 503 otherwise.
 * Both answer JSON saying why.
 */
import type { Logger } from "./logging.ts";

export interface HealthOptions {
  port: number;
  /** Default 0.0.0.0 (probes come from the kubelet, at the pod IP). */
  hostname?: string;
}

export interface HealthState {
  live: boolean;
  ready: boolean;
  detail: Record<string, unknown>;
}

export function serveHealth(
  options: HealthOptions,
  state: () => HealthState,
  logger: Logger,
): Deno.HttpServer {
  return Deno.serve({
    port: options.port,
    hostname: options.hostname ?? "0.0.0.0",
    onListen: ({ hostname, port }) =>
      logger.info(`health probes on http://${hostname}:${port}/healthz and /readyz`),
  }, (request) => {
    const path = new URL(request.url).pathname;
    if (path !== "/healthz" && path !== "/readyz") {
      return Response.json({ error: "not found: GET /healthz or /readyz" }, { status: 404 });
    }
    const now = state();
    const ok = path === "/healthz" ? now.live : now.ready;
    return Response.json({ ok, ...now.detail }, { status: ok ? 200 : 503 });
  });
}
