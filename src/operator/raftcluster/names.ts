/**
 * How the objects of one RaftCluster are named and labelled, in one place: the StatefulSet `<name>`
 * with pods `<name>-<slot>`, the headless Service `<name>-peers` (stable DNS names for the peers),
 * the client Service `<name>`, the Secret `<name>-tokens`, and the claims `data-<name>-<slot>`.
 */

export const CLIENT_PORT = 8080;
export const PEER_PORT = 7000;
/** The admin API's own port (server --listen-admin): the NetworkPolicy opens it to the operator only. */
export const ADMIN_PORT = 8081;
/** The volumeClaimTemplate's name: a StatefulSet names each claim `<template>-<pod>`. */
export const DATA_VOLUME = "data";
export const DATA_PATH = "/data";
export const PEER_TOKEN_KEY = "peer-token";
export const ADMIN_TOKEN_KEY = "admin-token";

/** The identity of one RaftCluster object. */
export interface ClusterRef {
  name: string;
  namespace: string;
  uid: string;
}

export const statefulSetName = (c: ClusterRef) => c.name;
export const peerServiceName = (c: ClusterRef) => `${c.name}-peers`;
export const clientServiceName = (c: ClusterRef) => c.name;
export const secretName = (c: ClusterRef) => `${c.name}-tokens`;
/** The operator's CA (certificate and key; never mounted in a pod). */
export const caSecretName = (c: ClusterRef) => `${c.name}-ca`;
/** The CA bundle the members trust (certificates only), mounted in every pod. */
export const trustSecretName = (c: ClusterRef) => `${c.name}-trust`;
/** The members' auth file: token digests only. */
export const authSecretName = (c: ClusterRef) => `${c.name}-auth`;
/** One role's client token, for users of that role. */
export const userTokenSecretName = (c: ClusterRef, role: string) => `${c.name}-token-${role}`;
export const disruptionBudgetName = (c: ClusterRef) => c.name;
export const networkPolicyName = (c: ClusterRef) => c.name;

/**
 * The suffix of the peer Service: a RaftCluster may not be named `<other>-peers`, or its client
 * Service would be another cluster's peer Service (the CRD refuses such names).
 */
export const PEER_SERVICE_SUFFIX = "-peers";
/** StatefulSet names longer than this leave no room for the pods' controller-revision-hash label. */
export const MAX_CLUSTER_NAME_LENGTH = 52;
export const podName = (c: ClusterRef, slot: number) => `${c.name}-${slot}`;
export const claimName = (c: ClusterRef, slot: number) => `${DATA_VOLUME}-${c.name}-${slot}`;

/**
 * Checked by every node on every peer connection. The uid part keeps a RaftCluster recreated under
 * the same name from ever talking to storage left over from its predecessor.
 */
export const clusterId = (c: ClusterRef) => `${c.namespace}.${c.name}.${c.uid.slice(0, 8)}`;

/** Labels that select the cluster's pods (the StatefulSet selector: never change them). */
export function selectorLabels(c: ClusterRef): Record<string, string> {
  return { "app.kubernetes.io/name": "raft-kv", "app.kubernetes.io/instance": c.name };
}

/** Every object's labels: the selector plus what `kubectl get pods -l app=raft-kv` and dashboards expect. */
export function labels(c: ClusterRef): Record<string, string> {
  return {
    app: "raft-kv",
    ...selectorLabels(c),
    "app.kubernetes.io/component": "server",
    "app.kubernetes.io/part-of": "raft-kv",
    "app.kubernetes.io/managed-by": "raft-operator",
  };
}

/** Where the StatefulSet keeps the next node id, so a lost RaftCluster status cannot reuse ids. */
export const NEXT_NODE_ID_ANNOTATION = "storage.sys/next-node-id";

export function labelSelector(c: ClusterRef): string {
  return Object.entries(selectorLabels(c)).map(([k, v]) => `${k}=${v}`).join(",");
}

/** The slot (StatefulSet ordinal) of `<name>-<slot>`, or undefined for any other name. */
export function slotOf(c: ClusterRef, objectName: string, prefix = `${c.name}-`): number | undefined {
  if (!objectName.startsWith(prefix)) return undefined;
  const rest = objectName.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export const slotOfPod = (c: ClusterRef, pod: string) => slotOf(c, pod);
export const slotOfClaim = (c: ClusterRef, claim: string) => slotOf(c, claim, `${DATA_VOLUME}-${c.name}-`);

/**
 * The client URL of a pod at its pod IP: how the operator reaches a node, in or out of the cluster.
 * With TLS the certificate is checked against the pod's DNS name (podDnsName), not the IP.
 */
export function podUrl(podIp: string, tls = false): string {
  const scheme = tls ? "https" : "http";
  return podIp.includes(":")
    ? `${scheme}://[${podIp}]:${CLIENT_PORT}`
    : `${scheme}://${podIp}:${CLIENT_PORT}`;
}

/** A pod's stable DNS name under the headless Service (what the members advertise). */
export function podDnsName(c: ClusterRef, pod: string): string {
  return `${pod}.${peerServiceName(c)}.${c.namespace}.svc.cluster.local`;
}

/** Every name a member is reached by: its pod name, the headless and the client Service. */
export function memberDnsNames(c: ClusterRef, pod: string): string[] {
  const names: string[] = [
    podDnsName(c, pod),
    `${pod}.${peerServiceName(c)}`,
    `${pod}.${peerServiceName(c)}.${c.namespace}`,
  ];
  for (const service of [peerServiceName(c), clientServiceName(c)]) {
    names.push(
      service,
      `${service}.${c.namespace}`,
      `${service}.${c.namespace}.svc`,
      `${service}.${c.namespace}.svc.cluster.local`,
    );
  }
  return [...new Set(names)];
}

/** The admin URL of the node whose client URL is `clientUrl` (the same pod IP, the admin port). */
export function adminUrlOf(clientUrl: string): string {
  const url = new URL(clientUrl);
  url.port = String(ADMIN_PORT);
  return url.origin;
}
