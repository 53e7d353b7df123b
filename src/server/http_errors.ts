/**
 * Every error a client sees is JSON {"error": {"code", "message", ...}} with a status that says
 * what to do: 4xx fix the request, 503 retry later (Retry-After), 504 the outcome is unknown.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { NotLeaderError, ProposalDroppedError } from "../raft/mod.ts";
import { ConfChangeError } from "../raft/mod.ts";
import { NodeStoppedError, RetryableError, UnknownOutcomeError } from "../kv/errors.ts";

export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, "bad_request", message);
export const notFound = (message: string, extra: Record<string, unknown> = {}) =>
  new HttpError(404, "not_found", message, extra);
export const conflict = (code: string, message: string, extra: Record<string, unknown> = {}) =>
  new HttpError(409, code, message, extra);
export const unavailable = (code: string, message: string, retryAfterSeconds = 1) =>
  new HttpError(503, code, message, {}, retryAfterSeconds);

/** Maps an error from the node (or our own HttpError) to the response a client should see. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof NotLeaderError) {
    return unavailable(
      "no_leader",
      error.leader ? `node ${error.leader} is the leader` : "no leader elected yet; retry",
    );
  }
  if (error instanceof ProposalDroppedError || error instanceof RetryableError) {
    return unavailable("retry", error.message);
  }
  if (error instanceof UnknownOutcomeError) return new HttpError(504, "timeout", error.message);
  if (error instanceof NodeStoppedError) return unavailable("stopped", error.message, 2);
  if (error instanceof ConfChangeError) return conflict("invalid_change", error.message);
  return new HttpError(500, "internal", `internal error: ${(error as Error)?.message ?? String(error)}`);
}

export function errorResponse(c: Context, error: unknown): Response {
  const e = toHttpError(error);
  if (e.retryAfterSeconds !== undefined) c.header("Retry-After", String(e.retryAfterSeconds));
  return c.json({ error: { code: e.code, message: e.message, ...e.extra } }, e.status);
}
