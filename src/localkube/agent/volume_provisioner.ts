/**
 * A dynamic provisioner for PersistentVolumeClaims: each claim of the default StorageClass
 * ("standard") or of no class gets a hostPath PersistentVolume, a folder under the state dir that
 * outlives the pods using it; the PV controller then binds the two. When the claim is deleted the
 * PV is Released and this removes the folder and the PV (reclaim policy Delete).
 */
import { KubeApi, KubeApiError } from "../kube_api.ts";
import { Reflector } from "../kube_reflector.ts";
import type { PersistentVolume, PersistentVolumeClaim } from "./kube_types.ts";

export const PROVISIONER = "localkube.raft-kv/hostpath";
export const STORAGE_CLASS = "standard";
const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";

export class VolumeProvisioner {
  readonly #claims: Reflector<PersistentVolumeClaim>;
  readonly #volumes: Reflector<PersistentVolume>;
  readonly #inFlight = new Set<string>();

  constructor(
    private readonly api: KubeApi,
    private readonly volumesDir: string,
    private readonly log: (l: string) => void,
  ) {
    this.#claims = new Reflector(api, "/api/v1/persistentvolumeclaims", (type, pvc) => {
      if (type !== "DELETED") this.#provisionLater(pvc);
    }, log);
    this.#volumes = new Reflector(api, "/api/v1/persistentvolumes", (type, pv) => {
      if (type !== "DELETED") this.#reclaimLater(pv);
    }, log);
  }

  async start(): Promise<void> {
    await Deno.mkdir(this.volumesDir, { recursive: true });
    await this.#ensureStorageClass();
    await this.#volumes.start();
    await this.#claims.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#claims.stop(), this.#volumes.stop()]);
  }

  /** The host folder backing a bound claim, or undefined while it is not bound to a hostPath PV. */
  async hostFolderOf(namespace: string, claimName: string): Promise<string | undefined> {
    const pvc = await this.api.find<PersistentVolumeClaim>(
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claimName}`,
    );
    if (!pvc?.spec.volumeName || pvc.status?.phase !== "Bound") return undefined;
    const pv = await this.api.find<PersistentVolume>(`/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
    return pv?.spec.hostPath?.path;
  }

  async #ensureStorageClass() {
    try {
      await this.api.create("/apis/storage.k8s.io/v1/storageclasses", {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: {
          name: STORAGE_CLASS,
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: PROVISIONER,
        reclaimPolicy: "Delete",
        volumeBindingMode: "Immediate",
      });
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
    }
  }

  #provisionLater(pvc: PersistentVolumeClaim) {
    const className = pvc.spec.storageClassName ?? "";
    if (pvc.status?.phase !== "Pending" || pvc.spec.volumeName) return;
    if (className !== "" && className !== STORAGE_CLASS) return;
    if (pvc.spec.volumeMode === "Block") {
      this.log(
        `claim ${pvc.metadata.namespace}/${pvc.metadata.name}: block volumes are not supported, left pending`,
      );
      return;
    }
    const key = pvc.metadata.uid!;
    if (this.#inFlight.has(key)) return;
    this.#inFlight.add(key);
    this.#provision(pvc).catch((e) => this.log(`provisioning ${pvc.metadata.name} failed: ${e.message}`))
      .finally(() => this.#inFlight.delete(key));
  }

  async #provision(pvc: PersistentVolumeClaim) {
    const name = `pvc-${pvc.metadata.uid}`;
    const folder = `${this.volumesDir}/${name}`;
    await Deno.mkdir(folder, { recursive: true });
    // Containers run as any user (raft-kv: uid 1993), and a hostPath volume ignores fsGroup:
    // open the folder to all, as local-path-provisioner does.
    await Deno.chmod(folder, 0o777);
    try {
      await this.api.create("/api/v1/persistentvolumes", {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name, annotations: { [PROVISIONED_BY]: PROVISIONER } },
        spec: {
          capacity: { storage: pvc.spec.resources?.requests?.storage ?? "1Gi" },
          accessModes: pvc.spec.accessModes ?? ["ReadWriteOnce"],
          hostPath: { path: folder, type: "Directory" },
          persistentVolumeReclaimPolicy: "Delete",
          storageClassName: pvc.spec.storageClassName ?? "",
          // Pre-bound: the PV controller binds exactly this claim to it.
          claimRef: {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            namespace: pvc.metadata.namespace,
            name: pvc.metadata.name,
            uid: pvc.metadata.uid,
          },
        },
      });
      this.log(`provisioned ${name} at ${folder} for claim ${pvc.metadata.namespace}/${pvc.metadata.name}`);
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
    }
  }

  #reclaimLater(pv: PersistentVolume) {
    if (pv.status?.phase !== "Released" || pv.metadata.annotations?.[PROVISIONED_BY] !== PROVISIONER) return;
    if (pv.spec.persistentVolumeReclaimPolicy !== "Delete" || this.#inFlight.has(pv.metadata.name)) return;
    this.#inFlight.add(pv.metadata.name);
    this.#reclaim(pv).catch((e) => this.log(`deleting volume ${pv.metadata.name} failed: ${e.message}`))
      .finally(() => this.#inFlight.delete(pv.metadata.name));
  }

  async #reclaim(pv: PersistentVolume) {
    const folder = pv.spec.hostPath?.path;
    // Only folders this provisioner made: never delete a path outside its own directory.
    if (folder && folder.startsWith(this.volumesDir + "/")) {
      await Deno.remove(folder, { recursive: true }).catch(() => {});
    }
    await this.api.delete(`/api/v1/persistentvolumes/${pv.metadata.name}`).catch((e) => {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
    });
    this.log(`deleted released volume ${pv.metadata.name} and its folder ${folder}`);
  }
}
