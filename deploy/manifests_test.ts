import assert from "node:assert/strict";
import type * as k8s from "@kubernetes/client-node";
import {
  crdFiles,
  DEFAULT_NAMESPACE,
  DEMO_FILE,
  inNamespace,
  INSTALL_FILES,
  isNamespaceName,
  readManifests,
} from "./manifests.ts";

const all = async () => await readManifests([...await crdFiles(), ...INSTALL_FILES, DEMO_FILE]);

Deno.test("the installation: CRD, namespace, RBAC, operator Deployment, then the demo, all in raft-system", async () => {
  const manifests = await all();
  assert.deepEqual(manifests.map((m) => m.object.kind), [
    "CustomResourceDefinition",
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Deployment",
    "RaftCluster",
  ]);
  const deployment = manifests.find((m) => m.object.kind === "Deployment")!.object as k8s.V1Deployment;
  const pod = deployment.spec!.template.spec!;
  assert.equal(pod.containers[0].image, "raft-operator:latest");
  assert.equal(pod.serviceAccountName, "raft-operator");
  assert.equal(deployment.spec!.replicas, 2, "a standby waits on the Lease");
  assert.equal(pod.securityContext!.runAsNonRoot, true);
  assert.equal(pod.securityContext!.seccompProfile!.type, "RuntimeDefault");
  const container = pod.containers[0];
  assert.equal(container.securityContext!.readOnlyRootFilesystem, true);
  assert.deepEqual(container.securityContext!.capabilities!.drop, ["ALL"]);
  assert.equal(container.livenessProbe!.httpGet!.path, "/healthz");
  assert.equal(container.readinessProbe!.httpGet!.path, "/readyz");
  assert.ok(container.args!.includes("--health-port=8081"));
  assert.equal(
    deployment.spec!.template.metadata!.labels!.app,
    "raft-operator",
    "kubectl logs -l app=raft-operator",
  );
  const demo = manifests.at(-1)!.object as k8s.KubernetesObject & { spec: { replicas: number } };
  assert.equal(demo.metadata!.name, "demo");
  assert.equal(demo.spec.replicas, 3);
  assert.equal(demo.metadata!.namespace, undefined, "deploy (or kubectl -n) chooses the namespace");
  for (const { object } of manifests.filter((m) => m.object.metadata?.namespace)) {
    assert.equal(object.metadata!.namespace, DEFAULT_NAMESPACE);
  }
});

Deno.test("another namespace reaches every namespaced object and every service-account subject", async () => {
  const moved = (await all()).map((m) => inNamespace(m, "kv-test").object);
  const byKind = (kind: string) => moved.find((o) => o.kind === kind)!;
  assert.equal(byKind("Namespace").metadata!.name, "kv-test");
  assert.equal(byKind("CustomResourceDefinition").metadata!.namespace, undefined);
  assert.equal(byKind("ClusterRole").metadata!.namespace, undefined);
  for (const kind of ["ServiceAccount", "Role", "RoleBinding", "Deployment", "RaftCluster"]) {
    assert.equal(byKind(kind).metadata!.namespace, "kv-test", kind);
  }
  for (const kind of ["ClusterRoleBinding", "RoleBinding"]) {
    const subjects = (byKind(kind) as k8s.V1ClusterRoleBinding).subjects!;
    assert.deepEqual(subjects.map((s) => s.namespace), ["kv-test"], kind);
  }
  assert.equal((await all())[1].object.metadata!.name, DEFAULT_NAMESPACE, "the originals stay as they were");
});

Deno.test("namespace names are checked before anything is applied", () => {
  assert.ok(isNamespaceName("raft-system"));
  assert.ok(!isNamespaceName("Raft"));
  assert.ok(!isNamespaceName("-raft"));
  assert.ok(!isNamespaceName("a".repeat(64)));
});
