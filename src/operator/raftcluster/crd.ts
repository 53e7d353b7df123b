/**
 * The RaftCluster CustomResourceDefinition, the one source of `crds/raftcluster.yaml` (written by
 * write_crd.ts; crd_test.ts fails when the committed file is out of date). The status schema declares
 * everything the operator writes: a structural schema silently prunes undeclared fields, and a pruned
 * `status.reconfig` would make a restarted operator start the reconfiguration over.
 */
import * as k8s from "@kubernetes/client-node";
import { conditionsSchema, operatorStatusSchema } from "../framework/mod.ts";
import { MAX_REPLICAS, MIN_REPLICAS, RAFT_CLUSTER, SAFETY_MODES, SPEC_DEFAULTS } from "./types.ts";

const integer = (description: string) => ({ type: "integer", description });
const string = (description: string) => ({ type: "string", description });

const memberSchema = {
  type: "object",
  properties: { slot: integer("StatefulSet ordinal."), id: integer("Raft node id (never reused).") },
};

/** `ReconfigStatus` of src/reconfig/types.ts. */
const reconfigSchema = {
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

const historySchema = {
  type: "array",
  description: "The latest reconfiguration steps, oldest first.",
  items: {
    type: "object",
    properties: {
      time: { type: "string", format: "date-time" },
      phases: { type: "array", items: { type: "string" } },
      action: { type: "string" },
      confIndex: { type: "integer" },
      message: { type: "string" },
    },
  },
};

/** Changing these would need a rolling restart of every node, which the operator does not do (yet). */
const immutableFields = [
  {
    rule: "self.safetyMode == oldSelf.safetyMode",
    message: "spec.safetyMode cannot change after creation: create a new RaftCluster instead",
  },
  {
    rule: "self.image == oldSelf.image",
    message: "spec.image cannot change after creation (no rolling upgrade yet): create a new RaftCluster",
  },
  {
    rule: "self.storage.size == oldSelf.storage.size",
    message: "spec.storage.size cannot change after creation: claims are not resized",
  },
  {
    rule: "has(self.tickMs) == has(oldSelf.tickMs) && (!has(self.tickMs) || self.tickMs == oldSelf.tickMs)",
    message: "spec.tickMs cannot change after creation: create a new RaftCluster instead",
  },
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
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
          { name: "Voters", type: "integer", jsonPath: ".status.voters" },
          { name: "Leader", type: "string", jsonPath: ".status.leader" },
          { name: "Phase", type: "string", jsonPath: ".status.reconfig.phase" },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            description:
              "A replicated key-value store on Raft, resized only through safe membership changes.",
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
                  safetyMode: {
                    type: "string",
                    enum: [...SAFETY_MODES],
                    default: SPEC_DEFAULTS.safetyMode,
                    description: "safe, or a deliberately broken baseline for experiments.",
                  },
                  image: {
                    type: "string",
                    default: SPEC_DEFAULTS.image,
                    description: "The raft-kv server image.",
                  },
                  storage: {
                    type: "object",
                    default: {},
                    properties: {
                      size: {
                        type: "string",
                        default: SPEC_DEFAULTS.storageSize,
                        description: "Size of each member's claim.",
                      },
                    },
                  },
                  tickMs: {
                    type: "integer",
                    minimum: 1,
                    description: "Raft tick; the server's default if absent.",
                  },
                },
              },
              status: {
                type: "object",
                properties: {
                  observedGeneration: { type: "integer", format: "int64" },
                  conditions: conditionsSchema(),
                  leader: string("The leader's pod."),
                  voters: integer("Voters in the leader's configuration."),
                  members: { type: "array", items: memberViewSchema },
                  reconfig: reconfigSchema,
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
