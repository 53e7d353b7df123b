/**
 * Cluster DNS names computed from EndpointSlices, the way CoreDNS's kubernetes plugin does it, but
 * with pod IPs for every Service (there is no kube-proxy, so a ClusterIP would lead nowhere):
 *   <service>.<ns>.svc.cluster.local          -> the ready endpoints' addresses
 *   <hostname>.<service>.<ns>.svc.cluster.local -> that endpoint's address (StatefulSet pods of a
 *                                                 headless Service: hostname = pod name)
 * "Ready" follows the EndpointSlice, so `publishNotReadyAddresses: true` publishes pods before they
 * are ready, as in a real cluster.
 */

export const CLUSTER_DOMAIN = "cluster.local";

export interface EndpointSliceLike {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: Array<{ addresses?: string[]; hostname?: string; conditions?: { ready?: boolean } }> | null;
}

export class DnsRecords {
  readonly #byName = new Map<string, Set<string>>();
  /** `<hostname>.<service>` -> full names, to answer the short form a pod of the same namespace uses. */
  readonly #byShortName = new Map<string, Set<string>>();

  static fromEndpointSlices(slices: Iterable<EndpointSliceLike>): DnsRecords {
    const records = new DnsRecords();
    for (const slice of slices) {
      const namespace = slice.metadata?.namespace;
      const service = slice.metadata?.labels?.["kubernetes.io/service-name"];
      if (!namespace || !service) continue;
      const serviceName = `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`;
      records.#add(serviceName);
      for (const endpoint of slice.endpoints ?? []) {
        // The API says a missing ready condition means "ready".
        if (endpoint.conditions?.ready === false) continue;
        for (const address of endpoint.addresses ?? []) {
          records.#add(serviceName, address);
          if (endpoint.hostname) {
            records.#add(`${endpoint.hostname}.${serviceName}`, address);
            records.#addShort(`${endpoint.hostname}.${service}`, `${endpoint.hostname}.${serviceName}`);
          }
        }
      }
    }
    return records;
  }

  #add(name: string, address?: string) {
    let set = this.#byName.get(name);
    if (!set) this.#byName.set(name, set = new Set());
    if (address) set.add(address);
  }

  #addShort(short: string, full: string) {
    let set = this.#byShortName.get(short);
    if (!set) this.#byShortName.set(short, set = new Set());
    set.add(full);
  }

  /**
   * Addresses for `name` (any case, with or without a trailing dot), or undefined when the name is
   * unknown (NXDOMAIN). A known Service with no ready endpoint gives an empty list (NODATA).
   * Accepted forms: the full name, the name ending in `.svc`, `<service>.<ns>`, `<hostname>.<service>.<ns>`
   * and `<hostname>.<service>` (this last one is searched in every namespace: the query does not say
   * which namespace it comes from).
   */
  lookup(name: string): string[] | undefined {
    const wanted = name.toLowerCase().replace(/\.$/, "");
    const candidates = wanted.endsWith(`.svc.${CLUSTER_DOMAIN}`)
      ? [wanted]
      : wanted.endsWith(".svc")
      ? [`${wanted}.${CLUSTER_DOMAIN}`]
      : [`${wanted}.svc.${CLUSTER_DOMAIN}`];
    for (const candidate of candidates) {
      const found = this.#byName.get(candidate);
      if (found) return [...found].sort();
    }
    const fullNames = this.#byShortName.get(wanted);
    if (!fullNames) return undefined;
    const addresses = new Set<string>();
    for (const full of fullNames) for (const a of this.#byName.get(full) ?? []) addresses.add(a);
    return [...addresses].sort();
  }
}
