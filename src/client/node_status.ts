/**
 * One node's own view, GET /status, for supervisors and operators that poll every node: the
 * parsed document, or undefined when the node does not answer in time (down, paused, starting).
 * Callers read it through their own type; the shape is in wire_types.ts and the server's
 * observability.ts.
 */
export async function fetchNodeStatus<T = Record<string, unknown>>(
  url: string,
  timeoutMs = 1_000,
  /** For HTTPS: a client that trusts the cluster CA. */
  httpClient?: Deno.HttpClient,
): Promise<T | undefined> {
  try {
    const response = await fetch(`${url}/status`, {
      signal: AbortSignal.timeout(timeoutMs),
      ...(httpClient ? { client: httpClient } : {}),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return await response.json() as T;
  } catch {
    return undefined;
  }
}
