/**
 * How the operator calls a member with TLS on: at the pod's IP (a pod's DNS name resolves only
 * inside the cluster, and the operator may run outside it), checking the certificate against the
 * pod's DNS name, which the member's certificate names (pod IPs change at every restart).
 */
import { namedFetch } from "../../security/named_fetch.ts";

export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: HeadersInit; body?: string; signal?: AbortSignal },
) => Promise<Response>;

export class PodClient {
  /** Pod IP -> the pod's DNS name, from the latest pod list. */
  readonly #names = new Map<string, string>();

  /** `previous`: a client of the same cluster whose pod names carry over (the CA bundle changed). */
  constructor(readonly caBundle: string[], previous?: PodClient) {
    if (previous) { for (const [ip, name] of previous.#names) this.#names.set(ip, name); }
  }

  remember(ip: string, dnsName: string): void {
    this.#names.set(ip, dnsName);
  }

  /** A fetch that verifies the member (`verify: false` only for the certificate handshake). */
  fetcher(verify = true): FetchLike {
    return (url, init = {}) => {
      const target = new URL(url);
      const ip = target.hostname.replace(/^\[|\]$/g, "");
      const name = this.#names.get(ip);
      if (!name) return Promise.reject(new TypeError(`fetch failed: no pod known at ${ip}`));
      target.hostname = name;
      return namedFetch(target.toString(), {
        ...init,
        connectTo: ip,
        tls: { ca: this.caBundle, verify },
      });
    };
  }
}
