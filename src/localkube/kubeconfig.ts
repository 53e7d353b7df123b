/** What a kubeconfig user authenticates with: a bearer token, or a client certificate's files. */
export type KubeconfigCredentials = { token: string } | { clientCertificate: string; clientKey: string };

/**
 * A kubeconfig file for one user of a localkube cluster (CA inline). Users of the API (tests, the
 * operator, pods) authenticate with tokens; the node's kubelet and kube-proxy with certificates.
 */
export function kubeconfigYaml(
  options: { server: string; caPem: string; user: string; namespace?: string } & KubeconfigCredentials,
): string {
  const user = "token" in options
    ? { token: options.token }
    : { "client-certificate": options.clientCertificate, "client-key": options.clientKey };
  const context: Record<string, string> = { cluster: "localkube", user: options.user };
  if (options.namespace) context.namespace = options.namespace;
  // JSON is valid YAML and needs no escaping rules of its own.
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "localkube",
        cluster: { server: options.server, "certificate-authority-data": btoa(options.caPem) },
      }],
      users: [{ name: options.user, user }],
      contexts: [{ name: "localkube", context }],
      "current-context": "localkube",
    },
    null,
    2,
  ) + "\n";
}
