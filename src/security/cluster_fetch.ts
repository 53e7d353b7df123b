/**
 * The HTTP client a node uses to call other members (forwarding to the leader, alarm and status
 * polls): with TLS it trusts the cluster CA and presents this node's certificate.
 */
import type { TlsMaterial } from "./tls_files.ts";

let client: Deno.HttpClient | undefined;

/** Called once at start-up by a node that runs with TLS. */
export function useClusterTls(material: TlsMaterial): void {
  client?.close();
  client = Deno.createHttpClient({ caCerts: material.ca, cert: material.cert, key: material.key });
}

/** Spread into a fetch init: `fetch(url, { ...memberFetchInit(), signal })`. */
export function memberFetchInit(): { client?: Deno.HttpClient } {
  return client ? { client } : {};
}
