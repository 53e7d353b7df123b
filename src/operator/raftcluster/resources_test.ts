import assert from "node:assert/strict";
import { parseConfig } from "../../server/config.ts";
import { expandVars } from "../../localkube/agent/env_expansion.ts";
import {
  adminUrlOf,
  claimName,
  clusterId,
  type ClusterRef,
  podName,
  podUrl,
  selectorLabels,
  slotOfClaim,
  slotOfPod,
} from "./names.ts";
import {
  clientService,
  disruptionBudget,
  networkPolicy,
  peerService,
  randomTokens,
  statefulSet,
  tokenSecret,
} from "./resources.ts";
import { resolveSpec } from "./types.ts";

const ref: ClusterRef = { name: "demo", namespace: "prod", uid: "0123abcd-aaaa-bbbb-cccc-000000000000" };

Deno.test("the server accepts the StatefulSet's args once the kubelet has expanded them", () => {
  const set = statefulSet(ref, resolveSpec({ replicas: 3, safetyMode: "unsafe-no-joint", tickMs: 20 }));
  const container = set.spec!.template.spec!.containers[0];
  const env: Record<string, string> = { POD_NAME: "demo-2", POD_NAMESPACE: "prod", POD_IP: "10.1.2.3" };
  const args = container.args!.map((arg) => expandVars(arg, (name) => env[name]));
  const tokens: Record<string, string> = { RAFTKV_PEER_TOKEN: "p", RAFTKV_ADMIN_TOKEN: "a" };
  const config = parseConfig(args, (name) => tokens[name]);
  assert.equal(config.dataDir, "/data");
  assert.equal(config.clusterId, clusterId(ref));
  // A pod IP off loopback: the pod has its own network namespace, so the client and admin APIs listen
  // on every address (kubectl port-forward comes in through the pod's localhost); peers on the pod IP.
  assert.deepEqual(config.listenClient, { hostname: "0.0.0.0", port: 8080 });
  assert.deepEqual(config.listenAdmin, { hostname: "0.0.0.0", port: 8081 });
  assert.deepEqual(config.listenPeer, { hostname: "10.1.2.3", port: 7000 });
  assert.equal(config.advertisePeer, "demo-2.demo-peers.prod.svc.cluster.local:7000");
  assert.equal(config.advertiseClient, "http://demo-2.demo-peers.prod.svc.cluster.local:8080");
  assert.equal(config.safetyMode, "unsafe-no-joint");
  assert.equal(config.tickMs, 20);
  assert.equal(config.faultInjection, false, "no fault injection unless spec.faultInjection says so");
  assert.equal(config.nodeId, undefined, "the operator assigns ids through POST /admin/identity");
  assert.equal(config.bootstrap, false);

  // Under localkube's process agent, pods share the host's loopback: each binds its own 127.x pod IP.
  const shared = container.args!.map((arg) =>
    expandVars(arg, (name) => ({ ...env, POD_IP: "127.4.0.9" })[name])
  );
  const onLoopback = parseConfig(shared, (name) => tokens[name]);
  assert.deepEqual(onLoopback.listenClient, { hostname: "127.4.0.9", port: 8080 });
  assert.deepEqual(onLoopback.listenAdmin, { hostname: "127.4.0.9", port: 8081 });
});

Deno.test("the admin port is open to the operator's pods only; the peer port to the members only", () => {
  const policy = networkPolicy(ref);
  const rules = policy.spec!.ingress!.map((rule) => ({
    from: rule._from,
    ports: rule.ports!.map((p) => p.port),
  }));
  assert.deepEqual(rules.find((r) => r.ports.includes(8081)), {
    from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "raft-operator" } } }],
    ports: [8081],
  });
  assert.deepEqual(rules.find((r) => r.ports.includes(7000))!.from, [
    {
      podSelector: {
        matchLabels: { "app.kubernetes.io/name": "raft-kv", "app.kubernetes.io/instance": "demo" },
      },
    },
  ]);
  assert.ok(!rules.find((r) => r.ports.includes(8080))!.ports.includes(8081), "no admin on the client rule");
  assert.equal(adminUrlOf("http://127.4.0.9:8080"), "http://127.4.0.9:8081");
  assert.equal(adminUrlOf("http://[fd00::5]:8080"), "http://[fd00::5]:8081");
});

Deno.test("the StatefulSet starts empty, in parallel, behind the peer Service, with one claim per pod", () => {
  const set = statefulSet(ref, resolveSpec({ replicas: 3, storage: { size: "5Gi" } }));
  const spec = set.spec!;
  assert.equal(spec.replicas, 0, "the operator raises replicas one planned step at a time");
  assert.equal(spec.podManagementPolicy, "Parallel");
  assert.equal(spec.serviceName, peerService(ref).metadata!.name);
  assert.deepEqual(spec.selector.matchLabels, selectorLabels(ref));
  assert.deepEqual(
    { ...spec.template.metadata!.labels, ...selectorLabels(ref) },
    spec.template.metadata!.labels,
  );
  assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, {
    whenDeleted: "Delete",
    whenScaled: "Retain",
  });
  const claim = spec.volumeClaimTemplates![0];
  assert.equal(claim.spec!.resources!.requests!.storage, "5Gi");
  const container = spec.template.spec!.containers[0];
  assert.equal(container.image, "raft-kv:latest");
  assert.equal(container.command, undefined, "the image's entrypoint runs the server");
  assert.deepEqual(container.volumeMounts![0], { name: claim.metadata!.name, mountPath: "/data" });
  assert.equal(container.readinessProbe!.httpGet!.path, "/readyz");
  assert.equal(container.livenessProbe!.httpGet!.path, "/healthz");
  assert.equal(
    claimName(ref, 4),
    `${claim.metadata!.name}-${podName(ref, 4)}`,
    "the claim name a StatefulSet gives",
  );
  assert.equal(spec.template.spec!.securityContext!.runAsNonRoot, true);
  assert.deepEqual(spec.updateStrategy, { type: "OnDelete" }, "the operator rolls pods itself");
});

Deno.test("the seed's fields reach the server: election timeout in ticks, timed snapshots, storage, pull policy", () => {
  const set = statefulSet(
    ref,
    resolveSpec({ replicas: 3, storageSize: "2Gi", snapshotInterval: "30s", electionTimeoutMs: 300 }),
  );
  const container = set.spec!.template.spec!.containers[0];
  const env: Record<string, string> = { POD_NAME: "demo-0", POD_NAMESPACE: "prod", POD_IP: "10.1.2.3" };
  const args = container.args!.map((arg) => expandVars(arg, (name) => env[name]));
  const config = parseConfig(args, (name) => ({ RAFTKV_PEER_TOKEN: "p", RAFTKV_ADMIN_TOKEN: "a" })[name]);
  assert.equal(config.electionTicks, 6, "300 ms of 50 ms ticks");
  assert.equal(config.snapshotIntervalMs, 30_000);
  assert.equal(set.spec!.volumeClaimTemplates![0].spec!.resources!.requests!.storage, "2Gi");
  assert.equal(container.imagePullPolicy, "IfNotPresent");
  assert.deepEqual(container.resources, {
    requests: { cpu: "100m", memory: "128Mi" },
    limits: { memory: "512Mi" },
  });
});

Deno.test("pods run under the restricted Pod Security profile with a read-only root filesystem", () => {
  const pod = statefulSet(ref, resolveSpec({ replicas: 1 })).spec!.template.spec!;
  assert.equal(pod.securityContext!.runAsNonRoot, true);
  assert.deepEqual(pod.securityContext!.seccompProfile, { type: "RuntimeDefault" });
  const container = pod.containers[0].securityContext!;
  assert.equal(container.allowPrivilegeEscalation, false);
  assert.equal(container.readOnlyRootFilesystem, true);
  assert.deepEqual(container.capabilities, { drop: ["ALL"] });
  assert.ok(pod.volumes!.some((v) => v.name === "scratch" && v.emptyDir), "a writable scratch directory");
  assert.equal(pod.containers[0].env!.find((e) => e.name === "TMPDIR")?.value, "/var/tmp");
});

Deno.test("pods carry app=raft-kv and the app.kubernetes.io set; the selector stays the old two labels", () => {
  const set = statefulSet(ref, resolveSpec({ replicas: 1 }));
  const labels = set.spec!.template.metadata!.labels!;
  assert.equal(labels.app, "raft-kv");
  assert.equal(labels["app.kubernetes.io/name"], "raft-kv");
  assert.equal(labels["app.kubernetes.io/instance"], "demo");
  assert.equal(labels["app.kubernetes.io/managed-by"], "raft-operator");
  assert.deepEqual(set.spec!.selector.matchLabels, {
    "app.kubernetes.io/name": "raft-kv",
    "app.kubernetes.io/instance": "demo",
  });
});

Deno.test("the disruption budget keeps a quorum of the voters; the network policy fences the peer port", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 7].map((n) => disruptionBudget(ref, n).spec!.minAvailable), [
    1,
    2,
    2,
    3,
    3,
    4,
  ]);
  assert.deepEqual(disruptionBudget(ref, 3).spec!.selector!.matchLabels, selectorLabels(ref));
  const policy = networkPolicy(ref).spec!;
  assert.deepEqual(policy.podSelector!.matchLabels, selectorLabels(ref));
  const peerRule = policy.ingress!.find((r) => r.ports!.some((p) => p.port === 7000))!;
  assert.deepEqual(peerRule._from, [{ podSelector: { matchLabels: selectorLabels(ref) } }]);
  const clientRule = policy.ingress!.find((r) => r.ports!.some((p) => p.port === 8080))!;
  assert.ok(clientRule._from!.some((peer) => peer.podSelector?.matchLabels?.app === "raft-operator"));
});

Deno.test("a template change changes the StatefulSet's template hash; the same spec gives the same hash", () => {
  const hash = (spec: Record<string, unknown>) =>
    statefulSet(ref, resolveSpec(spec)).metadata!.annotations!["storage.sys/template-hash"];
  assert.equal(hash({ replicas: 3 }), hash({ replicas: 5 }), "replicas is not part of the template");
  assert.notEqual(hash({ replicas: 3 }), hash({ replicas: 3, image: "raft-kv:v2" }));
  assert.notEqual(hash({ replicas: 3 }), hash({ replicas: 3, electionTimeoutMs: 500 }));
});

Deno.test("tokens come from the Secret the operator creates; every object is owned by the RaftCluster", () => {
  const secret = tokenSecret(ref, randomTokens());
  const container = statefulSet(ref, resolveSpec({ replicas: 1 })).spec!.template.spec!.containers[0];
  for (const variable of ["RAFTKV_PEER_TOKEN", "RAFTKV_ADMIN_TOKEN"]) {
    const from = container.env!.find((e) => e.name === variable)!.valueFrom!.secretKeyRef!;
    assert.equal(from.name, secret.metadata!.name);
    assert.ok(from.key in secret.stringData!, `${variable} reads key ${from.key}`);
  }
  assert.equal(secret.immutable, true);
  for (
    const object of [
      secret,
      peerService(ref),
      clientService(ref),
      statefulSet(ref, resolveSpec({ replicas: 1 })),
      disruptionBudget(ref, 3),
      networkPolicy(ref),
    ]
  ) {
    assert.deepEqual(object.metadata!.ownerReferences, [{
      apiVersion: "storage.sys/v1",
      kind: "RaftCluster",
      name: "demo",
      uid: ref.uid,
      controller: true,
      blockOwnerDeletion: true,
    }]);
    assert.equal(object.metadata!.namespace, "prod");
  }
});

Deno.test("the peer Service is headless and lists pods before they are ready; the client one only ready pods", () => {
  const peers = peerService(ref).spec!;
  assert.equal(peers.clusterIP, "None");
  assert.equal(peers.publishNotReadyAddresses, true);
  assert.deepEqual(peers.selector, selectorLabels(ref));
  const clients = clientService(ref).spec!;
  assert.equal(clients.publishNotReadyAddresses, undefined);
  assert.deepEqual(clients.ports!.map((p) => p.port), [8080]);
});

Deno.test("random tokens are 128-bit hex and differ", () => {
  const a = randomTokens(), b = randomTokens();
  assert.match(a.peer, /^[0-9a-f]{32}$/);
  assert.match(a.admin, /^[0-9a-f]{32}$/);
  assert.notEqual(a.peer, a.admin);
  assert.notEqual(a.admin, b.admin);
});

Deno.test("slots are read back from pod and claim names, and nothing else", () => {
  assert.equal(slotOfPod(ref, "demo-0"), 0);
  assert.equal(slotOfPod(ref, "demo-12"), 12);
  assert.equal(slotOfPod(ref, "demo-peers"), undefined);
  assert.equal(slotOfPod(ref, "demo-01"), undefined);
  assert.equal(slotOfPod(ref, "demox-1"), undefined);
  assert.equal(slotOfClaim(ref, "data-demo-3"), 3);
  assert.equal(slotOfClaim(ref, "data-other-3"), undefined);
  assert.equal(podUrl("127.4.0.9"), "http://127.4.0.9:8080");
  assert.equal(podUrl("fd00::5"), "http://[fd00::5]:8080");
});

Deno.test("spec.faultInjection starts the servers with --fault-injection (experiments only)", () => {
  const set = statefulSet(ref, resolveSpec({ replicas: 3, faultInjection: true }));
  const container = set.spec!.template.spec!.containers[0];
  const env: Record<string, string> = { POD_NAME: "demo-0", POD_NAMESPACE: "prod", POD_IP: "10.1.2.3" };
  const args = container.args!.map((arg) => expandVars(arg, (name) => env[name]));
  const config = parseConfig(args, (name) => ({ RAFTKV_PEER_TOKEN: "p", RAFTKV_ADMIN_TOKEN: "a" })[name]);
  assert.equal(config.faultInjection, true);
});
