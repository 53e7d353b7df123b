/** The fields of core Kubernetes objects that the agent reads or writes (the API has many more). */
import type { KubeObject } from "../kube_api.ts";
import type { ContainerPort, ProbeSpec } from "./probe_check.ts";
import type { ProbeTimingSpec } from "./probe_tracker.ts";
import type { PodCondition } from "./pod_status.ts";
import type { RestartPolicy } from "./restart_policy.ts";

export type Probe = ProbeSpec & ProbeTimingSpec;

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: unknown;
  };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ prefix?: string; configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: ContainerPort[];
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
  workingDir?: string;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}

export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: unknown;
  hostPath?: { path: string };
  configMap?: { name: string; optional?: boolean };
  secret?: { secretName: string; optional?: boolean };
  projected?: { sources: Array<Record<string, unknown>> };
  [other: string]: unknown;
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    hostname?: string;
    subdomain?: string;
    serviceAccountName?: string;
    restartPolicy?: RestartPolicy;
    terminationGracePeriodSeconds?: number;
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
    readinessGates?: Array<{ conditionType: string }>;
  };
  status?: { phase?: string; podIP?: string; conditions?: PodCondition[]; startTime?: string };
}

export interface PersistentVolumeClaim extends KubeObject {
  spec: {
    storageClassName?: string | null;
    volumeName?: string;
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
    volumeMode?: string;
  };
  status?: { phase?: string };
}

export interface PersistentVolume extends KubeObject {
  spec: {
    hostPath?: { path: string };
    claimRef?: { namespace?: string; name?: string; uid?: string };
    persistentVolumeReclaimPolicy?: string;
  };
  status?: { phase?: string };
}
