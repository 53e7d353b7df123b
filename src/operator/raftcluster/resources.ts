/**
 * The Kubernetes objects a RaftCluster owns, built from its spec (pure: no I/O). Each carries an owner
 * reference to the RaftCluster, so deleting the RaftCluster deletes them (and the StatefulSet's claims,
 * through its retention policy).
 */
import type * as k8s from "@kubernetes/client-node";
import { TEMPLATE_HASH_ANNOTATION, templateHash } from "./statefulset_sync.ts";
import { API_VERSION, RAFT_CLUSTER, type ResolvedSpec } from "./types.ts";
import { applySecurity, type SecurityTemplate } from "./security_objects.ts";
import {
  ADMIN_PORT,
  ADMIN_TOKEN_KEY,
  CLIENT_PORT,
  clientServiceName,
  clusterId,
  type ClusterRef,
  DATA_PATH,
  DATA_VOLUME,
  disruptionBudgetName,
  labels,
  networkPolicyName,
  PEER_PORT,
  PEER_TOKEN_KEY,
  peerServiceName,
  secretName,
  selectorLabels,
  statefulSetName,
} from "./names.ts";

/** The uid and gid of the `deno` user of the official Deno images (Dockerfile.server runs as it). */
export const DENO_USER_ID = 1993;

export function ownerReference(c: ClusterRef): k8s.V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: RAFT_CLUSTER.kind!,
    name: c.name,
    uid: c.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function metadata(c: ClusterRef, name: string): k8s.V1ObjectMeta {
  return { name, namespace: c.namespace, labels: labels(c), ownerReferences: [ownerReference(c)] };
}

/** The pod half of the `restricted` Pod Security Standard (the operator's Deployment uses the same). */
export function restrictedPodSecurity(): k8s.V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: DENO_USER_ID,
    runAsGroup: DENO_USER_ID,
    fsGroup: DENO_USER_ID,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** The container half of the `restricted` profile, plus a read-only root filesystem. */
export function restrictedContainerSecurity(): k8s.V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
  };
}

/** Fresh random tokens for a new cluster (hex, 128 bits each). */
export function randomTokens(): { peer: string; admin: string } {
  const hex = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  return { peer: hex(), admin: hex() };
}

/** The peer token (shared by the nodes) and the admin token (the operator's key to /admin). */
export function tokenSecret(c: ClusterRef, tokens: { peer: string; admin: string }): k8s.V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: metadata(c, secretName(c)),
    type: "Opaque",
    // Rotating a token would cut the running nodes off from each other: never change it in place.
    immutable: true,
    stringData: { [PEER_TOKEN_KEY]: tokens.peer, [ADMIN_TOKEN_KEY]: tokens.admin },
  };
}

/**
 * Headless, listing pods before they are ready: a new member must be reachable by its peers to
 * become ready at all (it is ready once it has a leader and has caught up).
 */
export function peerService(c: ClusterRef): k8s.V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(c, peerServiceName(c)),
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selectorLabels(c),
      ports: [
        { name: "peer", port: PEER_PORT, targetPort: "peer" },
        { name: "client", port: CLIENT_PORT, targetPort: "client" },
      ],
    },
  };
}

/** Ready members only: any of them serves clients (followers forward writes to the leader). */
export function clientService(c: ClusterRef): k8s.V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(c, clientServiceName(c)),
    spec: {
      selector: selectorLabels(c),
      ports: [{ name: "client", port: CLIENT_PORT, targetPort: "client" }],
    },
  };
}

/** `$(VAR)` references are expanded by the kubelet (and localkube) from the container's env. */
function serverArgs(c: ClusterRef, spec: ResolvedSpec): string[] {
  const stableHost = `$(POD_NAME).${peerServiceName(c)}.$(POD_NAMESPACE).svc.cluster.local`;
  return [
    `--data-dir=${DATA_PATH}`,
    `--cluster-id=${clusterId(c)}`,
    // The pod IP: under localkube's process agent every pod shares the host's loopback (pod IPs are
    // 127.x addresses), so a pod binds its own. A pod IP off loopback means a network namespace of its
    // own (a real node): there the client and admin APIs listen on 0.0.0.0, so that kubectl
    // port-forward, which connects through the pod's localhost, reaches them.
    `--listen-client=$(POD_IP):${CLIENT_PORT}`,
    `--listen-admin=$(POD_IP):${ADMIN_PORT}`,
    "--listen-wildcard=unless-loopback",
    `--listen-peer=$(POD_IP):${PEER_PORT}`,
    // Addresses recorded in the replicated member directory must survive a pod's new IP.
    `--advertise-client=http://${stableHost}:${CLIENT_PORT}`,
    `--advertise-peer=${stableHost}:${PEER_PORT}`,
    `--safety-mode=${spec.safetyMode}`,
    ...(spec.tickMs === undefined ? [] : [`--tick-ms=${spec.tickMs}`]),
    ...(spec.electionTimeoutMs === undefined ? [] : [`--election-timeout-ms=${spec.electionTimeoutMs}`]),
    `--snapshot-interval-ms=${spec.snapshotIntervalMs}`,
    // Experiments only: lets `deno task fault --kube` partition, delay and drop peer traffic.
    ...(spec.faultInjection ? ["--fault-injection"] : []),
  ];
}

function fieldEnv(name: string, fieldPath: string): k8s.V1EnvVar {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

function secretEnv(c: ClusterRef, name: string, key: string): k8s.V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName(c), key } } };
}

/**
 * Starts with no pods: the operator raises `replicas` one planned step at a time and gives each new
 * node its identity. Parallel pod management, because a new member only becomes ready after it was
 * added as a learner, and OrderedReady would wait for that before creating the next pod.
 */
export function statefulSet(
  c: ClusterRef,
  spec: ResolvedSpec,
  security: SecurityTemplate = {},
): k8s.V1StatefulSet {
  const set = statefulSetWithoutHash(c, spec);
  applySecurity(c, spec, security, set.spec!.template);
  set.metadata!.annotations = { [TEMPLATE_HASH_ANNOTATION]: templateHash(set.spec!.template) };
  return set;
}

function statefulSetWithoutHash(c: ClusterRef, spec: ResolvedSpec): k8s.V1StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: metadata(c, statefulSetName(c)),
    spec: {
      replicas: 0,
      serviceName: peerServiceName(c),
      podManagementPolicy: "Parallel",
      selector: { matchLabels: selectorLabels(c) },
      // Removed members' claims are deleted by the operator once they are out of the configuration.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
      // The operator restarts pods itself, one member at a time and the leader last (rolling upgrade).
      updateStrategy: { type: "OnDelete" },
      template: {
        metadata: { labels: labels(c) },
        spec: {
          terminationGracePeriodSeconds: 10,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurity(),
          containers: [{
            name: "raft-kv",
            image: spec.image,
            imagePullPolicy: spec.imagePullPolicy,
            args: serverArgs(c, spec),
            resources: { requests: { ...spec.resources.requests }, limits: { ...spec.resources.limits } },
            securityContext: restrictedContainerSecurity(),
            env: [
              fieldEnv("POD_NAME", "metadata.name"),
              fieldEnv("POD_NAMESPACE", "metadata.namespace"),
              fieldEnv("POD_IP", "status.podIP"),
              secretEnv(c, "RAFTKV_PEER_TOKEN", PEER_TOKEN_KEY),
              secretEnv(c, "RAFTKV_ADMIN_TOKEN", ADMIN_TOKEN_KEY),
              { name: "TMPDIR", value: "/var/tmp" },
            ],
            ports: [
              { name: "client", containerPort: CLIENT_PORT },
              { name: "peer", containerPort: PEER_PORT },
              { name: "admin", containerPort: ADMIN_PORT },
            ],
            readinessProbe: { httpGet: { path: "/readyz", port: "client" }, periodSeconds: 2 },
            livenessProbe: {
              httpGet: { path: "/healthz", port: "client" },
              periodSeconds: 5,
              failureThreshold: 6,
            },
            volumeMounts: [
              { name: DATA_VOLUME, mountPath: DATA_PATH },
              // The root filesystem is read-only: a scratch directory (TMPDIR) for whatever wants one.
              // Not /tmp: localkube maps a volume's paths on its host, whose /tmp holds its own state.
              { name: "scratch", mountPath: "/var/tmp" },
            ],
          }],
          volumes: [{ name: "scratch", emptyDir: {} }],
        },
      },
      volumeClaimTemplates: [{
        metadata: { name: DATA_VOLUME, labels: labels(c) },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: spec.storageSize } } },
      }],
    },
  };
}

/** A quorum of `voters`: the fewest members that must stay up for the cluster to work. */
export const quorumOf = (voters: number) => Math.floor(voters / 2) + 1;

/**
 * A voluntary disruption (a node drain) may never take a quorum of the voters down: at least a
 * quorum of the current voters stays available. Kept in step with the membership by the operator.
 */
export function disruptionBudget(c: ClusterRef, voters: number): k8s.V1PodDisruptionBudget {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: metadata(c, disruptionBudgetName(c)),
    spec: { minAvailable: quorumOf(Math.max(1, voters)), selector: { matchLabels: selectorLabels(c) } },
  };
}

/**
 * The peer port only from the cluster's own pods; the client port from any pod in the namespace and
 * from the operator; the admin port only from the operator's pods (label app=raft-operator, in any
 * namespace). An operator running outside the cluster (a process on a machine) reaches pods through
 * the node's network, which NetworkPolicy implementations treat differently: run it in the cluster
 * where policies are enforced.
 */
export function networkPolicy(c: ClusterRef): k8s.V1NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata(c, networkPolicyName(c)),
    spec: {
      podSelector: { matchLabels: selectorLabels(c) },
      policyTypes: ["Ingress"],
      ingress: [
        {
          _from: [{ podSelector: { matchLabels: selectorLabels(c) } }],
          ports: [{ protocol: "TCP", port: PEER_PORT }],
        },
        {
          _from: [
            { podSelector: {} },
            { namespaceSelector: {}, podSelector: { matchLabels: { app: "raft-operator" } } },
          ],
          ports: [{ protocol: "TCP", port: CLIENT_PORT }],
        },
        {
          _from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "raft-operator" } } }],
          ports: [{ protocol: "TCP", port: ADMIN_PORT }],
        },
      ],
    },
  };
}
