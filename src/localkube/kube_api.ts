/**
 * A minimal Kubernetes API client on Deno's own fetch, for localkube's set-up and node agent:
 * bearer token, the apiserver's self-signed CA, HTTP/1.1 only and one pooled client. (client-node
 * is the project's client for operators; the agent needs only a handful of verbs and watches.)
 */

export interface KubeAccess {
  server: string;
  token: string;
  caPem: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export class KubeApiError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
  }
}

export type PatchType = "merge" | "strategic";
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

export class KubeApi {
  readonly #client: Deno.HttpClient;

  constructor(readonly access: KubeAccess) {
    // HTTP/1.1: a watch is then one plain chunked response, and GOAWAY handling never matters.
    this.#client = Deno.createHttpClient({ caCerts: [access.caPem], http2: false });
  }

  close(): void {
    this.#client.close();
  }

  get<T>(path: string): Promise<T> {
    return this.#call<T>("GET", path);
  }

  /** The object, or undefined when it does not exist. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>("POST", path, body);
  }

  patch<T>(path: string, body: unknown, type: PatchType = "merge"): Promise<T> {
    return this.#call<T>("PATCH", path, body, PATCH_CONTENT_TYPES[type]);
  }

  delete(path: string, options?: unknown): Promise<unknown> {
    return this.#call("DELETE", path, options);
  }

  async #call<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const response = await fetch(this.access.server + path, {
      method,
      client: this.#client,
      headers: {
        authorization: `Bearer ${this.access.token}`,
        "content-type": contentType,
        accept: "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok) throw apiError(method, path, response.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Watch events from `resourceVersion` on, until the server ends the stream or `signal` aborts. */
  async *watch<T>(path: string, resourceVersion: string, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const url = new URL(this.access.server + path);
    url.searchParams.set("watch", "true");
    url.searchParams.set("resourceVersion", resourceVersion);
    url.searchParams.set("allowWatchBookmarks", "true");
    // The server closes a watch after this long; a fresh one then also detects a dead connection.
    url.searchParams.set("timeoutSeconds", String(240 + Math.floor(Math.random() * 60)));
    const response = await fetch(url, {
      client: this.#client,
      headers: { authorization: `Bearer ${this.access.token}`, accept: "application/json" },
      signal,
    });
    if (!response.ok || !response.body) throw apiError("WATCH", path, response.status, await response.text());
    let buffered = "";
    for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield JSON.parse(line) as WatchEvent<T>;
      }
    }
  }
}

function apiError(method: string, path: string, status: number, body: string): KubeApiError {
  let reason = "";
  let message = body.slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    reason = parsed.reason ?? "";
    message = parsed.message ?? message;
  } catch {
    // not a Status object: keep the raw text
  }
  return new KubeApiError(status, reason, `${method} ${path}: HTTP ${status} ${reason}: ${message}`);
}
