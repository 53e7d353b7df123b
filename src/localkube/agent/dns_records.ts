/**
 * Cluster DNS names computed from Services and Pods, as CoreDNS would serve them. Under the node
 * agent every Service resolves to its pods' addresses (there is no kube-proxy, so a ClusterIP would
 * lead nowhere); on the real node (`serviceIps: true`) a Service with a ClusterIP resolves to it,
 * and only headless Services to their pods:
 *   <service>.<ns>.svc.cluster.local            -> the ready selected pods' IPs
 *   <hostname>.<service>.<ns>.svc.cluster.local -> that pod's IP, for a selected pod whose
 *                                                  spec.subdomain is the service (StatefulSet pods)
 * Built from the objects, not from EndpointSlices, because the API refuses loopback addresses in
 * EndpointSlices and localkube's pods live on 127.0.0.0/8. Ready means the pod's Ready condition,
 * or any pod with an IP when the Service has `publishNotReadyAddresses: true`, as in a real cluster.
 */

export const CLUSTER_DOMAIN = "cluster.local";

export interface ServiceLike {
  metadata: { name: string; namespace?: string };
  spec?: { selector?: Record<string, string> | null; publishNotReadyAddresses?: boolean; clusterIP?: string };
}

export interface PodLike {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { hostname?: string; subdomain?: string };
  status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> };
}

export class DnsRecords {
  readonly #byName = new Map<string, Set<string>>();
  /** `<hostname>.<service>` -> full names, to answer the short form a pod of the same namespace uses. */
  readonly #byShortName = new Map<string, Set<string>>();

  /**
   * `fixed` adds names that are no Service's pods, e.g. the apiserver as `kubernetes.default`;
   * `serviceIps` answers a Service's ClusterIP for its own name (kube-proxy runs).
   */
  static fromCluster(
    services: Iterable<ServiceLike>,
    pods: Iterable<PodLike>,
    fixed: Record<string, string[]> = {},
    options: { serviceIps?: boolean } = {},
  ): DnsRecords {
    const records = new DnsRecords();
    const podsByNamespace = new Map<string, PodLike[]>();
    for (const pod of pods) {
      const namespace = pod.metadata.namespace ?? "default";
      if (!pod.status?.podIP || pod.metadata.deletionTimestamp) continue;
      podsByNamespace.set(namespace, [...podsByNamespace.get(namespace) ?? [], pod]);
    }
    for (const service of services) {
      const namespace = service.metadata.namespace ?? "default";
      const serviceName = `${service.metadata.name}.${namespace}.svc.${CLUSTER_DOMAIN}`;
      records.#add(serviceName);
      const clusterIp = service.spec?.clusterIP;
      const virtual = options.serviceIps && clusterIp && clusterIp !== "None";
      if (virtual) records.#add(serviceName, clusterIp);
      const selector = Object.entries(service.spec?.selector ?? {});
      if (selector.length === 0) continue;
      for (const pod of podsByNamespace.get(namespace) ?? []) {
        if (!selector.every(([key, value]) => pod.metadata.labels?.[key] === value)) continue;
        const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        if (!ready && !service.spec?.publishNotReadyAddresses) continue;
        const ip = pod.status!.podIP!;
        if (!virtual) records.#add(serviceName, ip);
        if (!virtual && pod.spec?.hostname && pod.spec.subdomain === service.metadata.name) {
          records.#add(`${pod.spec.hostname}.${serviceName}`, ip);
          records.#addShort(
            `${pod.spec.hostname}.${service.metadata.name}`,
            `${pod.spec.hostname}.${serviceName}`,
          );
        }
      }
    }
    for (const [name, addresses] of Object.entries(fixed)) {
      for (const address of addresses) records.#add(`${name}.svc.${CLUSTER_DOMAIN}`, address);
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
   * unknown (NXDOMAIN). A known Service with no ready pod gives an empty list (NODATA).
   * Accepted forms: the full name, the name ending in `.svc`, `<service>.<ns>`, `<hostname>.<service>.<ns>`
   * and `<hostname>.<service>` (this last one is searched in every namespace: the query does not say
   * which namespace it comes from).
   */
  lookup(name: string): string[] | undefined {
    const wanted = name.toLowerCase().replace(/\.$/, "");
    const full = wanted.endsWith(`.svc.${CLUSTER_DOMAIN}`)
      ? wanted
      : wanted.endsWith(".svc")
      ? `${wanted}.${CLUSTER_DOMAIN}`
      : `${wanted}.svc.${CLUSTER_DOMAIN}`;
    const found = this.#byName.get(full);
    if (found) return [...found].sort();
    const fullNames = this.#byShortName.get(wanted);
    if (!fullNames) return undefined;
    const addresses = new Set<string>();
    for (const fullName of fullNames) for (const a of this.#byName.get(fullName) ?? []) addresses.add(a);
    return [...addresses].sort();
  }
}
