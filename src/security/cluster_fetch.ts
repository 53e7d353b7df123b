/**
 * The HTTP client a node uses to call other members (forwarding to the leader, alarm and status
 * polls): with TLS it trusts the cluster CA and presents this node's certificate.
 *
 * Member URLs carry stable DNS names (a pod's IP changes when it restarts). `memberFetch` resolves the
 * name (LOCALKUBE_DNS under localkube) but, with TLS, keeps checking the certificate against the
 * name (named_fetch.ts), so node certificates need no pod IPs.
 */
import type { TlsMaterial } from "./tls_files.ts";
import { resolverFromEnv } from "../transport/mod.ts";

let client: Deno.HttpClient | undefined;
let material: TlsMaterial | undefined;
const resolveHost = resolverFromEnv();

/** Called at start-up by a node that runs with TLS (and again when its certificate is issued). */
export function useClusterTls(next: TlsMaterial): void {
  client?.close();
  material = next;
  client = Deno.createHttpClient({ caCerts: next.ca, cert: next.cert, key: next.key });
}

/** Spread into a fetch init: `fetch(url, { ...memberFetchInit(), signal })`. */
export function memberFetchInit(): { client?: Deno.HttpClient } {
  return client ? { client } : {};
}

/** A call to another member's URL (its advertised name), over TLS when this node runs with it. */
export async function memberFetch(
  url: string,
  init: { method?: string; headers?: HeadersInit; body?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  const target = new URL(url);
  const address = await resolveHost(target.hostname);
  if (material && target.protocol === "https:") {
    // node:https loads only for members that run with TLS.
    const { namedFetch } = await import("./named_fetch.ts");
    return await namedFetch(url, {
      ...init,
      connectTo: address,
      tls: { ca: material.ca, cert: material.cert, key: material.key },
    });
  }
  target.hostname = address;
  return await fetch(target, { ...memberFetchInit(), ...init });
}
