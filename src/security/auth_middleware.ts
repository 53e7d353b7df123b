/**
 * Authentication and authorization in front of every route: 401 without a valid credential, 403
 * without the permission, before any handler runs (so a refused request changes nothing).
 * Health, readiness, status and metrics stay open (probes, supervisors, Prometheus); /admin keeps
 * its own admin token, and also accepts an admin principal.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type AuthPolicy, type Principal, principalOfCertificate, refusal } from "./auth_policy.ts";
import { certificateSubjectOf } from "./certificate_subject.ts";
import type { Role } from "./roles.ts";

/** Probes, status and metrics carry no key or value: open to whoever reaches the port (over TLS). */
const OPEN_PATHS = new Set(["/healthz", "/readyz", "/status", "/metrics"]);
/** The message trace shows the cluster's traffic: admin only. */
const ADMIN_PATHS = new Set(["/trace"]);
const PRINCIPAL = "raftkv.principal";

/** The authenticated caller of this request (undefined when auth is off or not needed). */
export function principalOf(c: Context): Principal | undefined {
  return c.get(PRINCIPAL as never) as Principal | undefined;
}

function bearerToken(c: Context): string | undefined {
  const header = c.req.header("authorization") ?? "";
  return header.startsWith("Bearer ") ? header.slice(7) : undefined;
}

function keyOf(pathname: string): string | undefined {
  if (!pathname.startsWith("/kv/")) return undefined;
  try {
    return decodeURIComponent(pathname.slice(4));
  } catch {
    return pathname.slice(4);
  }
}

function deny(c: Context, status: 401 | 403, code: string, message: string): Response {
  if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="raft-kv"');
  return c.json({ error: { code, message } }, status);
}

export function clientAuth(policy: AuthPolicy): MiddlewareHandler {
  return async (c, next) => {
    const pathname = new URL(c.req.url).pathname;
    if (OPEN_PATHS.has(pathname)) return await next();
    const token = bearerToken(c);
    const subject = certificateSubjectOf(c.env);
    const principal = (token !== undefined ? policy.byToken(token) : undefined) ??
      (subject ? principalOfCertificate(subject) : undefined);
    if (pathname === "/admin" || pathname.startsWith("/admin/")) {
      // The admin API checks its own token; an admin principal is let through there as well.
      if (principal?.role === "admin") c.set(PRINCIPAL as never, principal as never);
      return await next();
    }
    if (!principal) {
      return deny(
        c,
        401,
        "unauthorized",
        token !== undefined
          ? "the bearer token is not known to this cluster"
          : "this cluster needs a credential: Authorization: Bearer <token>, or a client certificate from its CA",
      );
    }
    const needed: Role = ADMIN_PATHS.has(pathname)
      ? "admin"
      : c.req.method === "GET" || c.req.method === "HEAD"
      ? "read-only"
      : "read-write";
    const why = refusal(principal, needed, keyOf(pathname));
    if (why) return deny(c, 403, "forbidden", why);
    c.set(PRINCIPAL as never, principal as never);
    await next();
  };
}
