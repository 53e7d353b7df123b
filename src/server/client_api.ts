/**
 * The client API: POST|PUT /kv/:key, GET /kv/:key, DELETE /kv/:key. Any node answers: writes
 * go through the leader (a follower forwards them), linearizable reads are confirmed through
 * ReadIndex on whichever node received them, and `?consistency=stale` reads local state.
 * X-Client-Id + X-Request-Seq make a retried write apply once.
 */
import { type Context, Hono } from "hono";
import type { KvCommand } from "../kv/commands.ts";
import type { ApplyOutcome } from "../kv/state_machine.ts";
import type { NodeHolder } from "./node_holder.ts";
import { StageClock } from "../kv/write_stages.ts";
import { badRequest, conflict, HttpError, notFound } from "./http_errors.ts";
import { forwardToLeader } from "./forward.ts";
import { leaderHint, notServing, notServingReason } from "./leader_hint.ts";

const MAX_KEY_BYTES = 512;
const encoder = new TextEncoder();

/** Hono has already URL-decoded the path parameter: the key arrives as the client meant it. */
export function validKey(key: string): string {
  if (key === "." || key === "..") throw badRequest('the keys "." and ".." cannot travel in a URL path');
  const bytes = encoder.encode(key).length;
  if (bytes === 0 || bytes > MAX_KEY_BYTES) {
    throw badRequest(`keys are 1..${MAX_KEY_BYTES} bytes, this one is ${bytes}`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw badRequest("keys may not contain control characters");
  return key;
}

/** The client's session, if it sent one: both headers or neither. */
export function session(
  clientId: string | undefined,
  seqText: string | undefined,
): { client?: string; seq?: number } {
  if (clientId === undefined && seqText === undefined) return {};
  const seq = Number(seqText);
  if (!clientId || clientId.length > 128 || !Number.isSafeInteger(seq) || seq <= 0) {
    throw badRequest("X-Client-Id (1..128 chars) and X-Request-Seq (a positive integer) go together");
  }
  return { client: clientId, seq };
}

function writeBody(text: string, maxValueBytes: number): { value: string; prevValue?: string | null } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('the body must be JSON like {"value": "..."}');
  }
  if (typeof body !== "object" || body === null || typeof (body as { value?: unknown }).value !== "string") {
    throw badRequest('the body must be an object with a string "value", like {"value": "..."}');
  }
  const { value, prevValue } = body as { value: string; prevValue?: unknown };
  if (prevValue !== undefined && prevValue !== null && typeof prevValue !== "string") {
    throw badRequest('"prevValue" must be a string (or null: only if the key is absent)');
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most values are surely within the limit uncounted.
  const size = value.length * 3 <= maxValueBytes ? 0 : encoder.encode(value).length;
  if (size > maxValueBytes) {
    throw new HttpError(413, "value_too_large", `the value is ${size} bytes; the limit is ${maxValueBytes}`);
  }
  return prevValue === undefined ? { value } : { value, prevValue: prevValue as string | null };
}

function resultOf(outcome: ApplyOutcome, key: string): Record<string, unknown> {
  if (outcome.kind === "stale") {
    throw conflict(
      "stale_sequence",
      `this client already completed request ${outcome.lastSeq}; a retry must reuse the latest sequence number`,
    );
  }
  if (outcome.kind === "invalid") {
    throw new HttpError(500, "internal", "the command was not understood by the state machine");
  }
  const r = outcome.result;
  switch (r.op) {
    case "put":
      return { key, index: r.index };
    case "delete":
      if (!r.deleted) throw notFound(`key "${key}" does not exist`, { index: r.index });
      return { key, deleted: true, index: r.index };
    case "cas":
      if (!r.ok) {
        throw conflict("cas_mismatch", `key "${key}" does not hold the expected value`, {
          current: r.current,
        });
      }
      return { key, index: r.index };
    case "putMany":
      return { index: r.index, count: r.count };
  }
}

export function clientApi(holder: NodeHolder): Hono {
  const app = new Hono();
  const config = holder.config;

  const write = async (c: Context, makeCommand: (body?: string) => KvCommand) => {
    const received = performance.now();
    const node = holder.require();
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > config.maxValueBytes * 2 + 4096) {
      throw new HttpError(
        413,
        "value_too_large",
        `the body is ${length} bytes; values are limited to ${config.maxValueBytes}`,
      );
    }
    const text = c.req.method === "DELETE" ? undefined : await c.req.text();
    const command = makeCommand(text);
    // Deletes free space, so a full disk refuses only what adds data (as etcd's NOSPACE alarm).
    if (command.op !== "delete") holder.diskAlarm?.refuseWrites();
    if (!node.isLeader) {
      const why = notServingReason(node);
      if (why && !leaderHint(node).clientUrl) throw notServing(node, why);
      return forwardToLeader(c, node, text, config.requestTimeoutMs + 1000);
    }
    if (command.op !== "delete") holder.clusterAlarms.refuseWrites();
    const timing: { received: number; applied?: number } = { received };
    const body = resultOf(await node.write(command, timing), command.key);
    if (command.op !== "delete") body.value = command.value;
    const response = c.json(body);
    StageClock.answered(received, timing.applied!);
    return response;
  };

  const put = (c: Context) =>
    write(c, (text) => {
      const key = validKey(c.req.param("key")!);
      const { value, prevValue } = writeBody(text ?? "", config.maxValueBytes);
      const s = session(c.req.header("x-client-id"), c.req.header("x-request-seq"));
      return prevValue === undefined
        ? { op: "put", key, value, ...s }
        : { op: "cas", key, value, prev: prevValue, ...s };
    });

  app.post("/kv/:key", put);
  app.put("/kv/:key", put);
  app.delete("/kv/:key", (c) =>
    write(c, () => ({
      op: "delete",
      key: validKey(c.req.param("key")),
      ...session(c.req.header("x-client-id"), c.req.header("x-request-seq")),
    })));

  app.get("/kv/:key", async (c) => {
    const node = holder.require();
    const key = validKey(c.req.param("key"));
    const consistency = c.req.query("consistency") ?? "linearizable";
    if (consistency !== "linearizable" && consistency !== "stale") {
      throw badRequest(`consistency must be "linearizable" (default) or "stale", got "${consistency}"`);
    }
    // A node that lost its storage (or left the configuration) would wait for an index it may
    // never apply: it says so at once instead.
    const why = consistency === "linearizable" || node.isQuarantined ? notServingReason(node) : undefined;
    if (why) throw notServing(node, why);
    if (consistency === "linearizable") await node.linearizableBarrier();
    const value = node.read(key, consistency === "stale");
    if (value === undefined) throw notFound(`key "${key}" does not exist`, { index: node.appliedIndex });
    // index: what this node has applied (the read is at least this fresh); modIndex: the write that set it.
    return c.json({ key, value, index: node.appliedIndex, modIndex: node.modIndex(key) ?? 0 });
  });

  return app;
}
