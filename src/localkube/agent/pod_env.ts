/**
 * A container's environment, as the kubelet would build it: `envFrom`, then `env` in order (each
 * value may refer to earlier ones as `$(NAME)`), with `valueFrom` resolved from the pod's fields,
 * ConfigMaps and Secrets. localkube adds its own variables first, so the pod can override them.
 */
import { KubeApi } from "../kube_api.ts";
import { expandVars } from "./env_expansion.ts";
import type { Container, Pod } from "./kube_types.ts";

export interface PodRuntimeFacts {
  podIp: string;
  nodeName: string;
  /** `127.0.0.1:<port>` of the agent's DNS server. */
  dnsAddress: string;
  apiserverPort: string;
}

/** Host variables a Deno program needs to find its cache and tools; nothing else leaks from the host. */
const HOST_PASSTHROUGH = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "NO_COLOR", "TMPDIR", "LANG"];

export class ContainerConfigError extends Error {}

export async function containerEnv(
  api: KubeApi,
  pod: Pod,
  container: Container,
  facts: PodRuntimeFacts,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const name of HOST_PASSTHROUGH) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, {
    HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
    LOCALKUBE_DNS: facts.dnsAddress,
    LOCALKUBE_POD_IP: facts.podIp,
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: facts.apiserverPort,
  });
  const namespace = pod.metadata.namespace ?? "default";
  for (const source of container.envFrom ?? []) {
    const data = source.configMapRef
      ? await configMapData(api, namespace, source.configMapRef.name)
      : source.secretRef
      ? await secretData(api, namespace, source.secretRef.name)
      : undefined;
    if (!data) {
      const name = source.configMapRef?.name ?? source.secretRef?.name;
      throw new ContainerConfigError(
        `envFrom ${source.configMapRef ? "configmap" : "secret"} "${name}" not found`,
      );
    }
    for (const [key, value] of Object.entries(data)) env[(source.prefix ?? "") + key] = value;
  }
  for (const variable of container.env ?? []) {
    if (variable.valueFrom) {
      const value = await valueFrom(api, pod, variable, facts);
      if (value !== undefined) env[variable.name] = value;
    } else {
      env[variable.name] = expandVars(variable.value ?? "", (name) => env[name]);
    }
  }
  return env;
}

async function valueFrom(
  api: KubeApi,
  pod: Pod,
  variable: NonNullable<Container["env"]>[number],
  facts: PodRuntimeFacts,
): Promise<string | undefined> {
  const from = variable.valueFrom!;
  const namespace = pod.metadata.namespace ?? "default";
  if (from.fieldRef) return podField(pod, from.fieldRef.fieldPath, facts);
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (ref) {
    const kind = from.configMapKeyRef ? "configmap" : "secret";
    const data = from.configMapKeyRef
      ? await configMapData(api, namespace, ref.name)
      : await secretData(api, namespace, ref.name);
    const value = data?.[ref.key];
    if (value === undefined && !ref.optional) {
      throw new ContainerConfigError(
        `env ${variable.name}: key "${ref.key}" of ${kind} "${ref.name}" not found`,
      );
    }
    return value;
  }
  throw new ContainerConfigError(
    `env ${variable.name}: only fieldRef, configMapKeyRef and secretKeyRef are supported by localkube`,
  );
}

/** The downward API's fields (fieldRef.fieldPath). */
export function podField(pod: Pod, fieldPath: string, facts: PodRuntimeFacts): string {
  const labelOrAnnotation = fieldPath.match(/^metadata\.(labels|annotations)\['(.+)'\]$/);
  if (labelOrAnnotation) {
    return pod.metadata[labelOrAnnotation[1] as "labels" | "annotations"]?.[labelOrAnnotation[2]] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace ?? "default";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "spec.nodeName":
      return facts.nodeName;
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.podIP":
    case "status.podIPs":
      return facts.podIp;
    case "status.hostIP":
    case "status.hostIPs":
      return "127.0.0.1";
  }
  throw new ContainerConfigError(`fieldRef "${fieldPath}" is not supported by localkube`);
}

export async function configMapData(api: KubeApi, namespace: string, name: string) {
  const cm = await api.find<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
    `/api/v1/namespaces/${namespace}/configmaps/${name}`,
  );
  if (!cm) return undefined;
  const binary = Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, atob(v)]));
  return { ...binary, ...cm.data };
}

export async function secretData(api: KubeApi, namespace: string, name: string) {
  const secret = await api.find<{ data?: Record<string, string> }>(
    `/api/v1/namespaces/${namespace}/secrets/${name}`,
  );
  if (!secret) return undefined;
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, new TextDecoder().decode(decodeBase64(v))]),
  );
}

export function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
