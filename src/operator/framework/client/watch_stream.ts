import * as k8s from "@kubernetes/client-node";

/** The slice of undici's Dispatcher API used here (client-node hands out undici Agents). */
interface Dispatcher {
  request(options: {
    origin: string;
    path: string;
    method: "GET";
    headers: Record<string, string>;
    signal: AbortSignal;
  }): Promise<{ statusCode: number; body: AsyncIterable<Uint8Array> & { text(): Promise<string> } }>;
}

/** A watch request that failed before streaming: HTTP status and the server's message. */
export class WatchHttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = "WatchHttpError";
  }
}

/** The watch saw no byte (event or bookmark) for longer than the inactivity timeout. */
export class WatchInactivityError extends Error {
  constructor(inactivityMs: number) {
    super(`no data on the watch for ${inactivityMs} ms: assuming a half-open connection`);
    this.name = "WatchInactivityError";
  }
}

/**
 * Streams one watch request, calling `onLine` with each parsed JSON line. Resolves with null when the
 * server ends the stream, with the error otherwise. It talks to client-node's undici dispatcher
 * directly: client-node's own Watch cannot be aborted under Deno 2.9 (aborting its fetch signal
 * never ends the stream), which would defeat both the stop and the inactivity timeout.
 */
export async function streamWatch(
  kubeConfig: k8s.KubeConfig,
  url: URL,
  options: { inactivityMs: number; signal: AbortSignal },
  onLine: (line: unknown) => void,
): Promise<unknown> {
  const context = new k8s.RequestContext(url.toString(), k8s.HttpMethod.GET);
  await kubeConfig.applySecurityAuthentication(context);
  const dispatcher = context.getDispatcher() as Dispatcher | undefined;
  if (!dispatcher) {
    return new Error(
      `no connection pool for ${url.origin}: build the config with KubeConfigH1 (kube_config.ts), ` +
        `which always creates one`,
    );
  }
  const abort = new AbortController();
  let inactive = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      inactive = true;
      abort.abort();
    }, options.inactivityMs);
  };
  const stop = () => abort.abort();
  options.signal.addEventListener("abort", stop, { once: true });
  try {
    touch();
    const response = await dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: "GET",
      headers: context.getHeaders(),
      signal: abort.signal,
    });
    if (response.statusCode !== 200) {
      const text = await response.body.text();
      let message = text;
      try {
        message = JSON.parse(text).message ?? text;
      } catch { /* not a Status object */ }
      return new WatchHttpError(
        response.statusCode,
        `watch ${url.pathname}: HTTP ${response.statusCode}: ${message}`,
      );
    }
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of response.body) {
      touch();
      pending += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line) onLine(JSON.parse(line));
      }
    }
    return null;
  } catch (error) {
    if (inactive) return new WatchInactivityError(options.inactivityMs);
    return error;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", stop);
  }
}
