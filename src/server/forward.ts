/**
 * Forwarding to the leader: a follower that receives a write (or an admin change) passes the
 * request on to the leader's client URL from the member directory and relays the answer, so
 * any node answers. One hop only: a forwarded request that lands on a non-leader gets a 503.
 */
import type { Context } from "hono";
import type { RaftKvNode } from "../kv/raft_kv_node.ts";
import { HttpError, unavailable } from "./http_errors.ts";
import { describeLeader, leaderHint } from "./leader_hint.ts";
import { memberFetch } from "../security/cluster_fetch.ts";

const FORWARDED_HEADER = "x-raft-forwarded-by";
const PASSED_REQUEST_HEADERS = [
  "content-type",
  "x-client-id",
  "x-request-seq",
  "authorization",
  // who sent an admin call and what for (the admin call log records them where the change is made)
  "x-raft-admin-caller",
  "x-raft-admin-step",
];
const PASSED_RESPONSE_HEADERS = ["content-type", "retry-after", "x-raft-leader", "x-raft-node"];

export async function forwardToLeader(
  c: Context,
  node: RaftKvNode,
  body: string | undefined,
  timeoutMs: number,
) {
  const hint = leaderHint(node);
  const leader = hint.id;
  if (!leader) {
    throw unavailable("no_leader", `${describeLeader(hint)} (an election may be under way); retry`);
  }
  if (c.req.header(FORWARDED_HEADER)) {
    throw unavailable(
      "not_leader",
      `forwarded here by node ${
        c.req.header(FORWARDED_HEADER)
      }, but node ${node.id} is not the leader either`,
    );
  }
  const target = hint.clientUrl;
  if (!target) {
    throw unavailable(
      "leader_url_unknown",
      `${describeLeader(hint)}, so it cannot forward: send the request to another node`,
    );
  }
  const url = new URL(c.req.url);
  const headers = new Headers({ [FORWARDED_HEADER]: String(node.id) });
  for (const name of PASSED_REQUEST_HEADERS) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  let response: Response;
  try {
    // The leader's advertised name stays in the URL: with TLS its certificate is checked against it.
    response = await memberFetch(`${new URL(target).origin}${url.pathname}${url.search}`, {
      method: c.req.method,
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    // Deno says "fetch failed" and puts the reason (e.g. "client error (Connect)") in `cause`.
    const error = e as Error & { cause?: unknown };
    const why = error.cause ? `${error.message}: ${String(error.cause)}` : error.message;
    // A forwarded write may have been appended, replicated and committed even if the leader died
    // at once, so the honest answer is "outcome unknown", never "not applied". Not even a refused
    // connect proves otherwise: Deno's fetch retries a request whose pooled connection died and
    // then reports only the failed connect.
    if (c.req.method === "GET") {
      throw unavailable("leader_unreachable", `leader ${leader} at ${target} could not be reached: ${why}`);
    }
    throw new HttpError(
      504,
      "timeout",
      `leader ${leader} at ${target} did not answer (${why}); the request may have been applied: ` +
        `retry with the same X-Request-Seq`,
    );
  }
  const out = new Headers({ [FORWARDED_HEADER]: String(node.id) });
  for (const name of PASSED_RESPONSE_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) out.set(name, value);
  }
  return new Response(await response.arrayBuffer(), { status: response.status, headers: out });
}
