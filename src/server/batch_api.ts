/**
 * POST /kv-batch {"puts": [{"key": "...", "value": "..."}, ...]}: many puts in one Raft entry,
 * applied together and in order (bulk loading; etcd's equivalent is a Txn of puts). Each key and
 * value is checked as PUT /kv/:key checks it; the whole batch is refused if any is not valid.
 * X-Client-Id + X-Request-Seq make a retried batch apply once. A follower forwards it to the leader.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { KvBatchCommand } from "../kv/commands.ts";
import type { NodeHolder } from "./node_holder.ts";
import { badRequest, HttpError } from "./http_errors.ts";
import { forwardToLeader } from "./forward.ts";
import { leaderHint, notServing, notServingReason } from "./leader_hint.ts";
import { errorResponse } from "./http_errors.ts";
import { session, validKey } from "./client_api.ts";
import { principalOf } from "../security/auth_middleware.ts";
import { refusal } from "../security/auth_policy.ts";

/** Puts per batch: one log entry of at most this many values (a few MB with typical values). */
export const MAX_BATCH_PUTS = 10_000;
/** Largest batch body: large enough for 10,000 small values, small enough for one log entry. */
export const MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();

/** The keys and values of a batch body; throws a 400 naming the first thing wrong. */
export function parseBatch(text: string, maxValueBytes: number): { keys: string[]; values: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('the body must be JSON like {"puts": [{"key": "k", "value": "v"}]}');
  }
  const puts = (body as { puts?: unknown } | null)?.puts;
  if (!Array.isArray(puts) || puts.length === 0) {
    throw badRequest('the body must be an object with a non-empty array "puts" of {"key", "value"}');
  }
  if (puts.length > MAX_BATCH_PUTS) {
    throw badRequest(`a batch holds at most ${MAX_BATCH_PUTS} puts, this one ${puts.length}`);
  }
  const keys: string[] = [], values: string[] = [];
  puts.forEach((put: unknown, i) => {
    const { key, value } = (put ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== "string" || typeof value !== "string") {
      throw badRequest(`puts[${i}] must be an object with a string "key" and a string "value"`);
    }
    try {
      keys.push(validKey(key));
    } catch (e) {
      throw badRequest(`puts[${i}]: ${(e as Error).message}`);
    }
    const size = encoder.encode(value).length;
    if (size > maxValueBytes) {
      throw new HttpError(
        413,
        "value_too_large",
        `puts[${i}]: the value is ${size} bytes; the limit is ${maxValueBytes}`,
      );
    }
    values.push(value);
  });
  return { keys, values };
}

export function batchApi(holder: NodeHolder): Hono {
  const app = new Hono();
  const config = holder.config;
  app.use(
    "/kv-batch",
    bodyLimit({
      maxSize: MAX_BATCH_BODY_BYTES,
      onError: (c) =>
        errorResponse(
          c,
          new HttpError(413, "body_too_large", `a batch body is at most ${MAX_BATCH_BODY_BYTES} bytes`),
        ),
    }),
  );
  app.post("/kv-batch", async (c) => {
    const node = holder.require();
    const text = await c.req.text();
    const { keys, values } = parseBatch(text, config.maxValueBytes);
    // The auth middleware sees no key in this path: each key is checked against the caller's
    // prefix here, before anything is proposed (a refused batch changes nothing).
    const principal = principalOf(c);
    if (principal) {
      for (const key of keys) {
        const why = refusal(principal, "read-write", key);
        if (why) throw new HttpError(403, "forbidden", why);
      }
    }
    const command: KvBatchCommand = {
      op: "putMany",
      keys,
      values,
      ...session(c.req.header("x-client-id"), c.req.header("x-request-seq")),
    };
    holder.diskAlarm?.refuseWrites();
    if (!node.isLeader) {
      const why = notServingReason(node);
      if (why && !leaderHint(node).clientUrl) throw notServing(node, why);
      return forwardToLeader(c, node, text, config.requestTimeoutMs + 1000);
    }
    holder.clusterAlarms.refuseWrites();
    const outcome = await node.write(command);
    if (outcome.kind === "stale") {
      throw new HttpError(
        409,
        "stale_sequence",
        `this client already completed request ${outcome.lastSeq}; a retry must reuse the latest sequence number`,
      );
    }
    if (outcome.kind === "invalid" || outcome.result.op !== "putMany") {
      throw new HttpError(500, "internal", "the batch was not understood by the state machine");
    }
    return c.json({ count: outcome.result.count, index: outcome.result.index });
  });
  return app;
}
