/**
 * A pod's volumes as host folders: a claim's PersistentVolume folder, a fresh folder per emptyDir,
 * hostPath as is, and ConfigMaps, Secrets and projected service-account tokens written out as
 * files. Containers see them through path rewriting (volume_paths.ts), not at their mountPath.
 */
import { KubeApi } from "../kube_api.ts";
import { ContainerConfigError, decodeBase64, podField, PodRuntimeFacts } from "./pod_env.ts";
import type { Pod, Volume } from "./kube_types.ts";

/** The claim exists but is not bound yet: try again shortly. */
export class VolumeNotReady extends Error {}

export async function prepareVolumes(options: {
  api: KubeApi;
  pod: Pod;
  podDir: string;
  facts: PodRuntimeFacts;
  claimFolder: (namespace: string, claim: string) => Promise<string | undefined>;
}): Promise<Map<string, string>> {
  const folders = new Map<string, string>();
  for (const volume of options.pod.spec.volumes ?? []) {
    folders.set(volume.name, await prepareVolume(volume, options));
  }
  return folders;
}

async function prepareVolume(
  volume: Volume,
  options: Parameters<typeof prepareVolumes>[0],
): Promise<string> {
  const { api, pod, podDir } = options;
  const namespace = pod.metadata.namespace ?? "default";
  const folder = `${podDir}/volumes/${volume.name}`;
  if (volume.persistentVolumeClaim) {
    const claim = volume.persistentVolumeClaim.claimName;
    const hostFolder = await options.claimFolder(namespace, claim);
    if (!hostFolder) throw new VolumeNotReady(`waiting for claim "${claim}" to be bound to a volume`);
    return hostFolder;
  }
  if (volume.hostPath) return volume.hostPath.path;
  await Deno.mkdir(folder, { recursive: true });
  if (volume.emptyDir) return folder;
  if (volume.configMap) {
    const cm = await api.find<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
      `/api/v1/namespaces/${namespace}/configmaps/${volume.configMap.name}`,
    );
    if (!cm && !volume.configMap.optional) {
      throw new ContainerConfigError(
        `configmap "${volume.configMap.name}" of volume ${volume.name} not found`,
      );
    }
    for (const [key, value] of Object.entries(cm?.data ?? {})) {
      await Deno.writeTextFile(`${folder}/${key}`, value);
    }
    for (const [key, value] of Object.entries(cm?.binaryData ?? {})) {
      await Deno.writeFile(`${folder}/${key}`, decodeBase64(value));
    }
    return folder;
  }
  if (volume.secret) {
    const secret = await api.find<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${namespace}/secrets/${volume.secret.secretName}`,
    );
    if (!secret && !volume.secret.optional) {
      throw new ContainerConfigError(
        `secret "${volume.secret.secretName}" of volume ${volume.name} not found`,
      );
    }
    for (const [key, value] of Object.entries(secret?.data ?? {})) {
      await Deno.writeFile(`${folder}/${key}`, decodeBase64(value), { mode: 0o600 });
    }
    return folder;
  }
  if (volume.projected) {
    for (const source of volume.projected.sources) await writeProjection(source, folder, options);
    return folder;
  }
  const kind = Object.keys(volume).find((k) => k !== "name") ?? "unknown";
  throw new ContainerConfigError(
    `volume ${volume.name}: type "${kind}" is not supported by localkube ` +
      "(supported: persistentVolumeClaim, emptyDir, hostPath, configMap, secret, projected)",
  );
}

type Projection = {
  serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
  configMap?: { name: string; items?: Array<{ key: string; path: string }>; optional?: boolean };
  downwardAPI?: { items?: Array<{ path: string; fieldRef?: { fieldPath: string } }> };
};

/** The sources of a projected volume: what `kube-api-access-*` (the automounted token) is made of. */
async function writeProjection(
  raw: Record<string, unknown>,
  folder: string,
  options: Parameters<typeof prepareVolumes>[0],
) {
  const source = raw as Projection;
  const { api, pod } = options;
  const namespace = pod.metadata.namespace ?? "default";
  if (source.serviceAccountToken) {
    const account = pod.spec.serviceAccountName ?? "default";
    const request = await api.create<{ status: { token: string } }>(
      `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: source.serviceAccountToken.audience ? [source.serviceAccountToken.audience] : undefined,
          expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3607,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
        },
      },
    );
    await Deno.writeTextFile(`${folder}/${source.serviceAccountToken.path}`, request.status.token, {
      mode: 0o600,
    });
  } else if (source.configMap) {
    const cm = await api.find<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${namespace}/configmaps/${source.configMap.name}`,
    );
    if (!cm && !source.configMap.optional) {
      throw new VolumeNotReady(`waiting for configmap "${source.configMap.name}" of a projected volume`);
    }
    const items = source.configMap.items ?? Object.keys(cm?.data ?? {}).map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = cm?.data?.[item.key];
      if (value !== undefined) await Deno.writeTextFile(`${folder}/${item.path}`, value);
    }
  } else if (source.downwardAPI) {
    for (const item of source.downwardAPI.items ?? []) {
      if (item.fieldRef) {
        await Deno.writeTextFile(
          `${folder}/${item.path}`,
          podField(pod, item.fieldRef.fieldPath, options.facts),
        );
      }
    }
  } else {
    throw new ContainerConfigError(
      `projected volume source ${Object.keys(raw).join(",")} is not supported by localkube`,
    );
  }
}
