/** The parts of a Kubernetes object's metadata the framework reads. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [key: string]: unknown;
}

/** Any Kubernetes object as it travels over the wire (JSON). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Which resource a handler class serves: a custom resource under `/apis/{group}/{version}`. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  /** For Events' involvedObject and log lines; defaults to the plural. */
  kind?: string;
  /** Watch only this namespace; all namespaces when absent (or a cluster-scoped resource). */
  namespace?: string;
}

/** `namespace/name` (or `name` for cluster-scoped objects), the way logs and errors name an object. */
export function objectKey(body: KubeObject): string {
  const { namespace, name } = body.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

/** Reads a dotted field path (`spec.replicas`) from a JSON value; undefined when any step is missing. */
export function getField(value: unknown, path: string | readonly string[]): unknown {
  const steps = typeof path === "string" ? path.split(".") : path;
  let current = value;
  for (const step of steps) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/** A deep copy of plain JSON data (objects from the API server are plain JSON). */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
