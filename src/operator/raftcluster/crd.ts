/**
 * The RaftCluster CustomResourceDefinition, the one source of `crds/raftcluster.yaml` (written by
 * write_crd.ts; crd_test.ts fails when the committed file is out of date). The status schema declares
 * everything the operator writes: a structural schema silently prunes undeclared fields, and a pruned
 * `status.reconfig` would make a restarted operator start the reconfiguration over.
 */
import * as k8s from "@kubernetes/client-node";
import { conditionsSchema, operatorStatusSchema } from "../framework/mod.ts";
import { MAX_CLUSTER_NAME_LENGTH, PEER_SERVICE_SUFFIX } from "./names.ts";
import {
  DURATION_PATTERN,
  MAX_ELECTION_TIMEOUT_MS,
  MAX_RATE_COUNT,
  MAX_REPLICAS,
  MIN_ELECTION_TIMEOUT_MS,
  MIN_REPLICAS,
  PULL_POLICIES,
  QUANTITY_PATTERN,
  RATE_LIMIT_PATTERN,
  SAFETY_MODES,
  SPEC_DEFAULTS,
} from "./spec.ts";
import { CLUSTER_PHASES, RAFT_CLUSTER } from "./types.ts";

const integer = (description: string) => ({ type: "integer", description });
const string = (description: string) => ({ type: "string", description });
const time = (description: string) => ({ type: "string", format: "date-time", description });
/** A CEL rule with the message `kubectl apply` prints when it fails. */
const rule = (rule: string, message: string) => ({ rule, message });
/** A string field checked by a regular expression, refused with a readable message (not the regex). */
const checkedString = (description: string, pattern: string, message: string, extra = {}) => ({
  type: "string",
  description,
  maxLength: 64,
  ...extra,
  "x-kubernetes-validations": [rule(`self.matches('${pattern.replaceAll("\\", "\\\\")}')`, message)],
});

const memberSchema = {
  type: "object",
  properties: { slot: integer("StatefulSet ordinal."), id: integer("Raft node id (never reused).") },
};

/** `ReconfigStatus` of src/reconfig/types.ts. */
const plannerSchema = {
  type: "object",
  description: "The reconfiguration planner's state, persisted before every action.",
  properties: {
    phase: string("Idle, Bootstrap, AddLearners, CatchUp, EnterJoint, TransferLeader, CommitNew, ..."),
    members: { type: "array", description: "Settled members.", items: memberSchema },
    adding: { type: "array", description: "Members being added.", items: memberSchema },
    removing: { type: "array", description: "Members being removed.", items: memberSchema },
    targetVoters: { type: "array", description: "Voters the change ends with.", items: { type: "integer" } },
    confIndex: integer("Highest Raft configuration index produced or observed; only grows."),
    nextNodeId: integer("Next node id to hand out."),
    catchUpStreak: integer("Consecutive checks in which every learner was caught up."),
    message: string("What the last decision was and why."),
    replacing: {
      type: "array",
      description: "Members that came back with empty storage, being replaced under new ids.",
      items: {
        type: "object",
        properties: {
          slot: integer("StatefulSet ordinal."),
          lostId: integer("The id that was lost (never reused)."),
        },
      },
    },
  },
};

const stepsSchema = {
  type: "array",
  description: "The workflow steps, oldest first, with how long each took.",
  items: {
    type: "object",
    properties: {
      step: { type: "string" },
      startedAt: { type: "string", format: "date-time" },
      durationSeconds: { type: "number" },
    },
  },
};

const reconfigSchema = {
  type: "object",
  description: "The membership change in flight.",
  properties: {
    from: integer("Voters before."),
    to: integer("Voters after."),
    step: string("The workflow step it is in."),
    startedAt: time("When it started."),
    attempts: integer("Actions issued in the current step."),
    lastError: string("The last failed action of the current step."),
    steps: stepsSchema,
  },
};

const historySchema = {
  type: "array",
  description: "The last few membership changes, oldest first.",
  items: {
    type: "object",
    properties: {
      from: { type: "integer" },
      to: { type: "integer" },
      startedAt: { type: "string", format: "date-time" },
      finishedAt: { type: "string", format: "date-time" },
      durationSeconds: { type: "number" },
      result: { type: "string", enum: ["Succeeded", "Aborted"] },
      steps: stepsSchema,
    },
  },
};

const memberViewSchema = {
  type: "object",
  properties: {
    pod: { type: "string" },
    slot: { type: "integer" },
    id: { type: "integer" },
    role: { type: "string", enum: ["voter", "leaving", "learner", "none", "unknown"] },
    reachable: { type: "boolean" },
  },
};

const resourceListSchema = (what: string) => ({
  type: "object",
  description: what,
  properties: {
    cpu: checkedString("CPU, e.g. 250m.", QUANTITY_PATTERN, 'must be a quantity such as "250m" or "1"'),
    memory: checkedString("Memory, e.g. 256Mi.", QUANTITY_PATTERN, 'must be a quantity such as "256Mi"'),
  },
});

/** Changing these would need resized claims or a restart into another protocol. */
const tlsOn = (o: string) => `(has(${o}.tls) && has(${o}.tls.enabled) && ${o}.tls.enabled)`;
const immutableFields = [
  rule(
    `${tlsOn("self")} == ${tlsOn("oldSelf")}`,
    "spec.tls.enabled cannot change after creation: create a new RaftCluster (and copy the data) instead",
  ),
  rule(
    "!has(oldSelf.tls) || !has(oldSelf.tls.rotate) || (has(self.tls) && has(self.tls.rotate) && self.tls.rotate >= oldSelf.tls.rotate)",
    "spec.tls.rotate only grows: raise it by one to rotate the CA",
  ),
  rule(
    "self.safetyMode == oldSelf.safetyMode",
    "spec.safetyMode cannot change after creation: create a new RaftCluster instead",
  ),
  rule(
    "has(self.storageSize) == has(oldSelf.storageSize) && (!has(self.storageSize) || self.storageSize == oldSelf.storageSize)",
    "spec.storageSize cannot change after creation: claims are not resized",
  ),
  rule(
    "!has(self.storage) || !has(self.storage.size) || !has(self.storageSize) || self.storage.size == self.storageSize",
    "spec.storage.size is the old name of spec.storageSize: keep storageSize only",
  ),
];

export function raftClusterCrd(): Record<string, unknown> {
  const { group, version, plural, kind } = RAFT_CLUSTER;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural, singular: "raftcluster", kind, listKind: `${kind}List`, shortNames: ["raft"] },
      versions: [{
        name: version,
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: {
            specReplicasPath: ".spec.replicas",
            statusReplicasPath: ".status.replicas",
            labelSelectorPath: ".status.labelSelector",
          },
        },
        additionalPrinterColumns: [
          { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
          { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
          { name: "Voters", type: "string", jsonPath: ".status.voters" },
          { name: "Leader", type: "string", jsonPath: ".status.leader" },
          { name: "Phase", type: "string", jsonPath: ".status.phase" },
          { name: "Step", type: "string", jsonPath: ".status.step" },
          { name: "ConfIndex", type: "integer", jsonPath: ".status.configIndex" },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            description:
              "A replicated key-value store on Raft, resized only through safe membership changes.",
            "x-kubernetes-validations": [
              rule(
                `size(self.metadata.name) <= ${MAX_CLUSTER_NAME_LENGTH} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')`,
                `a RaftCluster's name must be at most ${MAX_CLUSTER_NAME_LENGTH} lowercase letters, digits and '-', ` +
                  "starting with a letter (it names a StatefulSet and Services)",
              ),
              rule(
                `!self.metadata.name.endsWith('${PEER_SERVICE_SUFFIX}')`,
                `a RaftCluster's name may not end in "${PEER_SERVICE_SUFFIX}": ` +
                  `cluster X's peer Service is named X${PEER_SERVICE_SUFFIX}`,
              ),
            ],
            properties: {
              spec: {
                type: "object",
                required: ["replicas"],
                "x-kubernetes-validations": immutableFields,
                properties: {
                  replicas: {
                    type: "integer",
                    minimum: MIN_REPLICAS,
                    maximum: MAX_REPLICAS,
                    description: "Desired number of voters.",
                  },
                  image: {
                    type: "string",
                    default: SPEC_DEFAULTS.image,
                    minLength: 1,
                    description: "The raft-kv server image; changing it rolls the members one at a time.",
                  },
                  imagePullPolicy: {
                    type: "string",
                    enum: [...PULL_POLICIES],
                    default: SPEC_DEFAULTS.imagePullPolicy,
                    description: "The pods' image pull policy.",
                  },
                  storageSize: checkedString(
                    "Size of each member's claim, e.g. 1Gi (default 1Gi).",
                    QUANTITY_PATTERN,
                    'spec.storageSize must be a quantity such as "1Gi" or "500Mi"',
                  ),
                  snapshotInterval: checkedString(
                    'Each server also snapshots this often, e.g. "30s", "5m" ("0s" or absent: by entry count only).',
                    DURATION_PATTERN,
                    'spec.snapshotInterval must be a duration such as "30s", "5m" or "1h"',
                  ),
                  electionTimeoutMs: {
                    type: "integer",
                    minimum: MIN_ELECTION_TIMEOUT_MS,
                    maximum: MAX_ELECTION_TIMEOUT_MS,
                    description: "The servers' Raft election timeout in ms (converted to ticks of tickMs).",
                  },
                  safetyMode: {
                    type: "string",
                    enum: [...SAFETY_MODES],
                    default: SPEC_DEFAULTS.safetyMode,
                    description: "safe, or a deliberately broken baseline for experiments.",
                  },
                  reconfig: {
                    type: "object",
                    description: "How membership changes are paced.",
                    properties: {
                      rateLimit: checkedString(
                        `At most COUNT membership changes started per PERIOD, e.g. "1/min", "2/hour", "1/30s" (COUNT <= ${MAX_RATE_COUNT}).`,
                        RATE_LIMIT_PATTERN,
                        'spec.reconfig.rateLimit must read COUNT/PERIOD, such as "1/min", "2/hour" or "1/30s"',
                      ),
                      maxParallel: {
                        type: "integer",
                        minimum: 1,
                        maximum: MAX_REPLICAS,
                        default: SPEC_DEFAULTS.maxParallel,
                        description:
                          "Members added or removed per membership change (1: 3 -> 5 goes 3 -> 4 -> 5).",
                      },
                    },
                  },
                  resources: {
                    type: "object",
                    description: "The server container's requests and limits (cpu, memory).",
                    properties: {
                      requests: resourceListSchema("Default cpu 100m, memory 128Mi."),
                      limits: resourceListSchema("Default memory 512Mi, no CPU limit."),
                    },
                  },
                  tickMs: {
                    type: "integer",
                    minimum: 1,
                    description: "Raft tick; the server's default (50) if absent.",
                  },
                  faultInjection: {
                    type: "boolean",
                    default: false,
                    description:
                      "EXPERIMENTS AND TESTS ONLY: start the servers with --fault-injection, so that their admin " +
                      "fault endpoints (deno task fault --kube, deno task experiment --kube) can cut, delay and " +
                      "drop peer traffic. Never for real data.",
                  },
                  tls: {
                    type: "object",
                    description:
                      "TLS on the client, admin and peer ports (docs/security.md). Fixed after creation, except rotate.",
                    properties: {
                      enabled: { type: "boolean", description: "HTTPS and mutual TLS between members." },
                      issuerRef: {
                        type: "object",
                        required: ["name"],
                        description:
                          "A cert-manager issuer that signs the members' certificates; absent: the operator keeps the CA in the Secret <name>-ca.",
                        properties: {
                          name: string("The issuer's name."),
                          kind: {
                            type: "string",
                            enum: ["Issuer", "ClusterIssuer"],
                            description: "Default Issuer.",
                          },
                          group: string("Default cert-manager.io."),
                        },
                      },
                      rotate: {
                        type: "integer",
                        minimum: 0,
                        description:
                          "Raise by one to rotate the operator's CA and every member certificate, member by member, without downtime.",
                      },
                    },
                  },
                  auth: {
                    type: "object",
                    description:
                      "Client tokens with roles (needs tls): the operator writes the digests to <name>-auth and each role's token to <name>-token-<role>.",
                    properties: {
                      enabled: { type: "boolean", description: "Requests without a token get 401." },
                    },
                  },
                  storage: {
                    type: "object",
                    description: "Old name: use storageSize.",
                    properties: { size: string("Old name of storageSize.") },
                  },
                },
              },
              status: {
                type: "object",
                properties: {
                  observedGeneration: { type: "integer", format: "int64" },
                  conditions: conditionsSchema(),
                  phase: {
                    type: "string",
                    enum: [...CLUSTER_PHASES],
                    description: "What the cluster is doing.",
                  },
                  step: string("The reconfiguration workflow step (Idle when none is in flight)."),
                  replicas: integer("Settled members."),
                  readyReplicas: integer("Pods whose readiness probe passes."),
                  labelSelector: string("Selects the cluster's pods."),
                  leader: string("The leader's pod."),
                  term: integer("The leader's term."),
                  voters: { type: "array", description: "Voter ids.", items: { type: "integer" } },
                  learners: { type: "array", description: "Learner ids.", items: { type: "integer" } },
                  configIndex: integer("The Raft configuration index in force; only grows."),
                  members: { type: "array", items: memberViewSchema },
                  planner: plannerSchema,
                  reconfig: reconfigSchema,
                  nextReconfigAt: time("When spec.reconfig.rateLimit lets the held-back change start."),
                  formedAt: time("When the cluster first reached its size."),
                  faultInjection: {
                    type: "boolean",
                    description: "True while the servers run with --fault-injection (experiments only).",
                  },
                  tls: {
                    type: "object",
                    description: "The certificate rotation (no key or certificate here).",
                    properties: {
                      rotation: integer("The last spec.tls.rotate carried out."),
                      phase: {
                        type: "string",
                        enum: ["Stable", "TrustNew", "Reissue", "DropOld"],
                        description:
                          "Stable; TrustNew (members restarted to trust the new CA too); Reissue (new member certificates, members restarted); DropOld (the old CA dropped, members restarted).",
                      },
                      certificates: integer(
                        "Generation of the member certificates (raised when they were reissued).",
                      ),
                      reissued: {
                        type: "array",
                        items: { type: "integer" },
                        description: "Nodes given a certificate of the new CA.",
                      },
                      startedAt: time("When the rotation in flight started."),
                      message: string("What the rotation does now."),
                    },
                  },
                  history: historySchema,
                  operator: operatorStatusSchema(),
                },
              },
            },
          },
        },
      }],
    },
  };
}

/** The CRD as YAML, typed through client-node first so that every key (x-kubernetes-*) survives. */
export function raftClusterCrdYaml(): string {
  const typed = k8s.loadYaml<k8s.V1CustomResourceDefinition>(JSON.stringify(raftClusterCrd()));
  const header =
    "# Generated from src/operator/raftcluster/crd.ts by write_crd.ts: edit the TypeScript, not this file.\n";
  return header + k8s.dumpYaml(typed, { lineWidth: -1, noRefs: true, quoteStyle: "double" });
}
