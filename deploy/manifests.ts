/**
 * The objects `deno task deploy` applies, in order: the CRDs of crds/, then the operator's namespace,
 * RBAC and Deployment, then the demo RaftCluster. The manifests name the namespace `raft-system`;
 * another namespace is written into every object that refers to it.
 */
import * as k8s from "@kubernetes/client-node";

export const DEFAULT_NAMESPACE = "raft-system";
const ROOT = new URL("../", import.meta.url);

/** deploy/ files in apply order; the demo comes last, once the operator can handle it. */
export const INSTALL_FILES = ["deploy/namespace.yaml", "deploy/rbac.yaml", "deploy/operator.yaml"];
export const DEMO_FILE = "deploy/raftcluster-demo.yaml";

export interface Manifest {
  file: string;
  object: k8s.KubernetesObject;
}

/** Every `crds/*.yaml`, sorted by name. */
export async function crdFiles(root: URL = ROOT): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(new URL("crds/", root))) {
    if (entry.isFile && entry.name.endsWith(".yaml")) names.push(`crds/${entry.name}`);
  }
  return names.sort();
}

/** Reads the files' objects, typed through client-node (which keeps x-kubernetes-* keys). */
export async function readManifests(files: string[], root: URL = ROOT): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (const object of k8s.loadAllYaml(text) as k8s.KubernetesObject[]) {
      if (object) manifests.push({ file, object });
    }
  }
  return manifests;
}

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleBinding",
]);

/**
 * Puts namespaced objects into `namespace` (those naming none, like the demo, too), renames the
 * Namespace object, and points the role bindings' service-account subjects at it.
 */
export function inNamespace(manifest: Manifest, namespace: string): Manifest {
  const object = structuredClone(manifest.object) as k8s.KubernetesObject & {
    subjects?: k8s.RbacV1Subject[];
  };
  const metadata = object.metadata ??= {};
  if (object.kind === "Namespace") {
    metadata.name = namespace;
  } else if (!CLUSTER_SCOPED.has(object.kind ?? "")) {
    metadata.namespace = namespace;
  }
  for (const subject of object.subjects ?? []) {
    if (subject.kind === "ServiceAccount") subject.namespace = namespace;
  }
  return { file: manifest.file, object };
}

/** `Kind name (namespace ns)`, as printed. */
export function describe(object: k8s.KubernetesObject): string {
  const where = object.metadata?.namespace ? ` in namespace ${object.metadata.namespace}` : "";
  return `${object.kind} ${object.metadata?.name}${where}`;
}

/** A name Kubernetes accepts for a namespace (RFC 1123 label). */
export function isNamespaceName(name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name);
}
