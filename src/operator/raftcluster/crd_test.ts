import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { initialStatus, type ReconfigStatus } from "../../reconfig/types.ts";
import { raftClusterCrd, raftClusterCrdYaml } from "./crd.ts";
import {
  type MemberView,
  type RaftClusterSpec,
  type RaftClusterStatus,
  type ReconfigProgress,
  type ReconfigRecord,
} from "./types.ts";

type Schema = {
  properties?: Record<string, Schema>;
  items?: Schema;
  default?: unknown;
  enum?: unknown[];
  "x-kubernetes-validations"?: Array<{ rule: string; message: string }>;
};

const version = (raftClusterCrd().spec as { versions: Array<Record<string, unknown>> }).versions[0];
const root = (version.schema as { openAPIV3Schema: Schema }).openAPIV3Schema;
const keys = (schema: Schema | undefined) => Object.keys(schema?.properties ?? {}).sort();

// Every key of each type, checked by the compiler: adding a field to a type without listing it here
// fails to compile, and listing it here without declaring it in the schema fails the tests.
const specKeys: Record<keyof RaftClusterSpec, true> = {
  replicas: true,
  image: true,
  imagePullPolicy: true,
  storageSize: true,
  snapshotInterval: true,
  electionTimeoutMs: true,
  safetyMode: true,
  reconfig: true,
  resources: true,
  tickMs: true,
  faultInjection: true,
  storage: true,
  tls: true,
  auth: true,
};
const statusKeys: Record<keyof RaftClusterStatus, true> = {
  observedGeneration: true,
  conditions: true,
  phase: true,
  step: true,
  replicas: true,
  readyReplicas: true,
  labelSelector: true,
  leader: true,
  term: true,
  voters: true,
  learners: true,
  configIndex: true,
  members: true,
  planner: true,
  reconfig: true,
  nextReconfigAt: true,
  formedAt: true,
  history: true,
  operator: true,
  faultInjection: true,
  tls: true,
};
const memberKeys: Record<keyof MemberView, true> = {
  pod: true,
  slot: true,
  id: true,
  role: true,
  reachable: true,
};
const progressKeys: Record<keyof ReconfigProgress, true> = {
  from: true,
  to: true,
  step: true,
  startedAt: true,
  attempts: true,
  lastError: true,
  steps: true,
};
const recordKeys: Record<keyof ReconfigRecord, true> = {
  from: true,
  to: true,
  startedAt: true,
  finishedAt: true,
  durationSeconds: true,
  result: true,
  steps: true,
};

Deno.test("crds/raftcluster.yaml is the YAML of crd.ts (regenerate with write_crd.ts)", async () => {
  const committed = await Deno.readTextFile(new URL("../../../crds/raftcluster.yaml", import.meta.url));
  assert.equal(
    committed,
    raftClusterCrdYaml(),
    "crds/raftcluster.yaml is out of date: run `deno run --allow-write=crds --allow-read --allow-env " +
      "src/operator/raftcluster/write_crd.ts`",
  );
});

Deno.test("the YAML keeps every key of the CRD object, x-kubernetes-* included", () => {
  const parsed = k8s.loadYaml<k8s.V1CustomResourceDefinition>(raftClusterCrdYaml());
  const spec = parsed.spec.versions[0].schema!.openAPIV3Schema!.properties!.spec;
  assert.equal(spec.x_kubernetes_validations?.length, 5);
  const conditions =
    parsed.spec.versions[0].schema!.openAPIV3Schema!.properties!.status.properties!.conditions;
  assert.equal(conditions.x_kubernetes_list_type, "map");
  assert.deepEqual(
    k8s.dumpYaml(parsed),
    k8s.dumpYaml(k8s.loadYaml(JSON.stringify(raftClusterCrd()))),
  );
});

Deno.test("the schema declares exactly the fields of the TypeScript types (nothing the server would prune)", () => {
  const spec = root.properties!.spec;
  const status = root.properties!.status;
  assert.deepEqual(keys(spec), Object.keys(specKeys).sort());
  assert.deepEqual(keys(status), Object.keys(statusKeys).sort());
  const plannerKeys: Record<keyof ReconfigStatus, true> = {
    ...Object.fromEntries(Object.keys(initialStatus()).map((k) => [k, true])) as Record<
      keyof ReconfigStatus,
      true
    >,
    replacing: true,
  };
  assert.deepEqual(keys(status.properties!.planner), Object.keys(plannerKeys).sort());
  assert.deepEqual(keys(status.properties!.members.items), Object.keys(memberKeys).sort());
  assert.deepEqual(keys(status.properties!.reconfig), Object.keys(progressKeys).sort());
  assert.deepEqual(keys(status.properties!.history.items), Object.keys(recordKeys).sort());
  assert.deepEqual(keys(status.properties!.reconfig.properties!.steps.items), [
    "durationSeconds",
    "startedAt",
    "step",
  ]);
  assert.deepEqual(keys(status.properties!.planner.properties!.members.items), ["id", "slot"]);
});

Deno.test("the seed's spec fields are all declared, with the defaults resolveSpec applies", () => {
  const spec = root.properties!.spec.properties!;
  for (
    const field of ["replicas", "image", "storageSize", "snapshotInterval", "electionTimeoutMs", "safetyMode"]
  ) {
    assert.ok(spec[field], `spec.${field} is declared`);
  }
  assert.deepEqual(keys(spec.reconfig), ["maxParallel", "rateLimit"]);
  assert.equal(spec.safetyMode.default, "safe");
  assert.equal(spec.image.default, "raft-kv:latest");
  assert.equal(spec.imagePullPolicy.default, "IfNotPresent");
  assert.equal(spec.reconfig.properties!.maxParallel.default, 1);
  assert.deepEqual(spec.safetyMode.enum, ["safe", "unsafe-early-vote", "unsafe-no-joint"]);
});

Deno.test("scale subresource with a label selector; printer columns Replicas, Ready, Voters, Leader, Phase, Step, ConfIndex, Age", () => {
  assert.deepEqual((version.subresources as Record<string, unknown>).scale, {
    specReplicasPath: ".spec.replicas",
    statusReplicasPath: ".status.replicas",
    labelSelectorPath: ".status.labelSelector",
  });
  const columns = version.additionalPrinterColumns as Array<{ name: string; jsonPath: string }>;
  assert.deepEqual(
    columns.map((c) => c.name),
    ["Replicas", "Ready", "Voters", "Leader", "Phase", "Step", "ConfIndex", "Age"],
  );
  assert.equal(columns.find((c) => c.name === "Phase")?.jsonPath, ".status.phase");
  assert.equal(columns.find((c) => c.name === "Step")?.jsonPath, ".status.step");
});

Deno.test("names that would collide with another cluster's objects are refused by the CRD", () => {
  const rules = root["x-kubernetes-validations"]!.map((r) => r.rule).join(" ");
  assert.match(rules, /endsWith\('-peers'\)/);
  assert.match(rules, /size\(self\.metadata\.name\) <= 52/);
});

Deno.test("string fields checked by CEL carry the regular expression resolveSpec uses, escaped for CEL", () => {
  const spec = root.properties!.spec.properties!;
  const storageRule = spec.storageSize["x-kubernetes-validations"]![0];
  assert.equal(storageRule.rule, "self.matches('^[0-9]+(\\\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$')");
  assert.match(storageRule.message, /quantity such as "1Gi"/);
  assert.match(spec.reconfig.properties!.rateLimit["x-kubernetes-validations"]![0].message, /"1\/min"/);
});
