/**
 * Peer host name resolution. Pods under our local Kubernetes resolve names through the DNS
 * server in LOCALKUBE_DNS="ip:port", which the system resolver does not know about.
 */

export type ResolveHost = (host: string) => Promise<string>;

/** Names that need no lookup: IP literals and localhost. */
function isLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":") || host === "localhost";
}

const passThrough: ResolveHost = (host) => Promise.resolve(host);

/**
 * A resolver that asks the DNS server at `nameServer` for A records, caching answers for
 * `cacheMs` (short: a rescheduled pod keeps its name but gets a new IP).
 */
export function dnsResolver(nameServer: { ipAddr: string; port: number }, cacheMs = 2_000): ResolveHost {
  const cache = new Map<string, { ip: string; expires: number }>();
  return async (host) => {
    if (isLiteral(host)) return host;
    const cached = cache.get(host);
    if (cached && cached.expires > Date.now()) return cached.ip;
    let records: string[];
    try {
      records = await Deno.resolveDns(host, "A", { nameServer });
    } catch (error) {
      throw new Error(
        `cannot resolve "${host}" through DNS server ${nameServer.ipAddr}:${nameServer.port}: ` +
          `${(error as Error).message} (is the pod's Service up, and LOCALKUBE_DNS right?)`,
      );
    }
    if (records.length === 0) {
      throw new Error(`DNS server ${nameServer.ipAddr}:${nameServer.port} has no A record for "${host}"`);
    }
    cache.set(host, { ip: records[0], expires: Date.now() + cacheMs });
    return records[0];
  };
}

/**
 * The resolver for this process: through LOCALKUBE_DNS when it is set, otherwise names pass
 * through to Deno.connect (and so to the system resolver). Throws on a malformed LOCALKUBE_DNS.
 */
export function resolverFromEnv(dnsAddress = Deno.env.get("LOCALKUBE_DNS")): ResolveHost {
  if (!dnsAddress) return passThrough;
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(dnsAddress.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new Error(`LOCALKUBE_DNS must be "ipv4:port" (e.g. 10.96.0.10:53), got "${dnsAddress}"`);
  }
  return dnsResolver({ ipAddr: match[1], port });
}
