/**
 * HTTPS to an address while verifying the certificate against a host *name*. Deno's fetch connects
 * to the host of the URL and has no way to connect elsewhere; under localkube cluster names resolve
 * only through LOCALKUBE_DNS, and a pod's IP changes when it restarts, so node certificates name the
 * stable DNS names and callers connect to an IP they looked up. node:https can: it dials `connectTo`
 * and sends and checks `servername` (SNI and the certificate's names).
 */
import https from "node:https";
import type { IncomingMessage } from "node:http";

export interface NamedTls {
  /** The CAs to trust. */
  ca: string[];
  /** A client certificate to present (a member's node certificate). */
  cert?: string;
  key?: string;
  /**
   * false: do not verify the server at all. Only for the certificate handshake with a member that
   * has no certificate yet (bootstrap_api.ts), where nothing secret is sent.
   */
  verify?: boolean;
}

export interface NamedFetchInit {
  method?: string;
  headers?: HeadersInit;
  body?: string;
  signal?: AbortSignal;
  /** The address to dial instead of the URL's host (which stays the name checked). */
  connectTo?: string;
  tls: NamedTls;
}

/** A small fetch over node:https: string bodies, the whole answer read into a Response. */
export function namedFetch(url: string, init: NamedFetchInit): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== "https:") {
    return Promise.reject(new TypeError(`namedFetch is for https URLs, got ${url}`));
  }
  const name = target.hostname.replace(/^\[|\]$/g, "");
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => headers[key] = value);
  headers.host = target.host;
  if (init.body !== undefined) headers["content-length"] = String(new TextEncoder().encode(init.body).length);
  const isIp = /^[0-9.]+$|:/.test(name);
  return new Promise<Response>((resolve, reject) => {
    if (init.signal?.aborted) return reject(init.signal.reason ?? new DOMException("aborted", "AbortError"));
    const request = https.request({
      host: init.connectTo ?? name,
      port: Number(target.port || 443),
      path: `${target.pathname}${target.search}`,
      method: init.method ?? "GET",
      headers,
      ...(isIp ? {} : { servername: name }),
      ca: init.tls.ca,
      ...(init.tls.cert && init.tls.key ? { cert: init.tls.cert, key: init.tls.key } : {}),
      rejectUnauthorized: init.tls.verify !== false,
      agent: false,
    }, (response: IncomingMessage) => {
      const chunks: Uint8Array[] = [];
      response.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const out = new Headers();
        for (const [key, value] of Object.entries(response.headers)) {
          if (value !== undefined) out.set(key, Array.isArray(value) ? value.join(", ") : String(value));
        }
        const status = response.statusCode ?? 502;
        const body = status === 204 || status === 304 ? null : new Blob(chunks as BlobPart[]);
        resolve(new Response(body, { status, headers: out }));
      });
    });
    const onAbort = () => request.destroy(init.signal?.reason ?? new DOMException("aborted", "AbortError"));
    init.signal?.addEventListener("abort", onAbort, { once: true });
    request.on("close", () => init.signal?.removeEventListener("abort", onAbort));
    request.on(
      "error",
      (error: Error) => reject(new TypeError(`fetch failed: ${error.message}`, { cause: error })),
    );
    if (init.body !== undefined) request.write(init.body);
    request.end();
  });
}
