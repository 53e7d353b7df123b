/** A kubeconfig file for one user of a localkube cluster (token auth, CA inline). */
export function kubeconfigYaml(
  options: { server: string; caPem: string; token: string; user: string },
): string {
  // JSON is valid YAML and needs no escaping rules of its own.
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "localkube",
        cluster: { server: options.server, "certificate-authority-data": btoa(options.caPem) },
      }],
      users: [{ name: options.user, user: { token: options.token } }],
      contexts: [{
        name: "localkube",
        context: { cluster: "localkube", user: options.user, namespace: "default" },
      }],
      "current-context": "localkube",
    },
    null,
    2,
  ) + "\n";
}
