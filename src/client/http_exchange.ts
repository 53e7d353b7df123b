/**
 * One HTTP request to one node, bounded in time, with the body always read to the end (so that the
 * keep-alive connection goes back to the pool) and every failure sorted by what it tells about
 * delivery: a failed connect means the node never saw the request; anything later means it may have.
 */

export interface HttpRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
}

/** What `exchange` needs of a fetch: string bodies only. */
export type ExchangeFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<Response>;

export type Exchange =
  /** The node answered; `body` is the parsed JSON, undefined when the body was not JSON. */
  | { kind: "answer"; status: number; headers: Headers; body: unknown; text: string }
  /**
   * The last connect failed. Not proof that the node never saw the request: Deno's HTTP client
   * retries a request whose pooled connection died, and then reports only the failed connect.
   */
  | { kind: "unreachable"; reason: string }
  /** The request left, and no complete answer came back: the node may have acted on it. */
  | { kind: "lost"; reason: string };

export async function exchange(
  httpClient: Deno.HttpClient,
  baseUrl: string,
  request: HttpRequest,
  timeoutMs: number,
  /** Aborting it ends the exchange at once (the client is closing). */
  stop?: AbortSignal,
  /** Instead of fetch (e.g. the operator's, which checks a pod's certificate against its DNS name). */
  fetchFn?: ExchangeFetch,
): Promise<Exchange> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const onStop = () => abort.abort();
  stop?.addEventListener("abort", onStop, { once: true });
  const headers: Record<string, string> = { accept: "application/json", ...request.headers };
  if (request.body !== undefined) headers["content-type"] = "application/json";
  let sent = false;
  try {
    const init = {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: abort.signal,
    };
    const response = fetchFn
      ? await fetchFn(baseUrl + request.path, init)
      : await fetch(baseUrl + request.path, { ...init, client: httpClient });
    sent = true;
    const text = await response.text();
    return {
      kind: "answer",
      status: response.status,
      headers: response.headers,
      body: parseJson(text),
      text,
    };
  } catch (error) {
    if (stop?.aborted) return { kind: "lost", reason: "the client was closed before the answer" };
    if (abort.signal.aborted) return { kind: "lost", reason: `no answer within ${timeoutMs} ms` };
    const reason = describeFetchError(error);
    return !sent && isConnectFailure(error) ? { kind: "unreachable", reason } : { kind: "lost", reason };
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener("abort", onStop);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Deno puts the useful part ("tcp connect error: Connection refused") in the error's cause. */
function fetchErrorDetail(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
  return `${error instanceof Error ? error.message : String(error)} ${cause}`;
}

function isConnectFailure(error: unknown): boolean {
  const detail = fetchErrorDetail(error);
  return detail.includes("client error (Connect)") || /Requests to port \d+ are blocked/.test(detail);
}

export function describeFetchError(error: unknown): string {
  const detail = fetchErrorDetail(error);
  if (/connection refused/i.test(detail)) return "connection refused";
  if (/dns error/i.test(detail)) return "host name not found";
  if (/connection closed before message completed/i.test(detail)) {
    return "connection closed before the answer";
  }
  if (/connection reset/i.test(detail)) return "connection reset";
  const tail = detail.match(/client error \([^)]*\): (.*)$/)?.[1] ?? detail.trim();
  return tail.replace(/\s+/g, " ").slice(0, 200);
}
