import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { initialStatus } from "../../reconfig/types.ts";
import { raftClusterCrd, raftClusterCrdYaml } from "./crd.ts";
import {
  type HistoryEntry,
  type MemberView,
  type RaftClusterSpec,
  type RaftClusterStatus,
  resolveSpec,
  SPEC_DEFAULTS,
  SpecError,
} from "./types.ts";

type Schema = { properties?: Record<string, Schema>; items?: Schema; default?: unknown; enum?: unknown[] };

const version = (raftClusterCrd().spec as { versions: Array<Record<string, unknown>> }).versions[0];
const root = (version.schema as { openAPIV3Schema: Schema }).openAPIV3Schema;
const keys = (schema: Schema | undefined) => Object.keys(schema?.properties ?? {}).sort();

// Every key of each type, checked by the compiler: adding a field to a type without listing it here
// fails to compile, and listing it here without declaring it in the schema fails the tests.
const specKeys: Record<keyof RaftClusterSpec, true> = {
  replicas: true,
  safetyMode: true,
  image: true,
  storage: true,
  tickMs: true,
};
const statusKeys: Record<keyof RaftClusterStatus, true> = {
  observedGeneration: true,
  conditions: true,
  leader: true,
  voters: true,
  members: true,
  reconfig: true,
  history: true,
  operator: true,
};
const memberKeys: Record<keyof MemberView, true> = {
  pod: true,
  slot: true,
  id: true,
  role: true,
  reachable: true,
};
const historyKeys: Record<keyof HistoryEntry, true> = {
  time: true,
  phases: true,
  action: true,
  confIndex: true,
  message: true,
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
  assert.equal(spec.x_kubernetes_validations?.length, 4);
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
  assert.deepEqual(keys(status.properties!.reconfig), Object.keys(initialStatus()).sort());
  assert.deepEqual(keys(status.properties!.members.items), Object.keys(memberKeys).sort());
  assert.deepEqual(keys(status.properties!.history.items), Object.keys(historyKeys).sort());
  assert.deepEqual(keys(status.properties!.reconfig.properties!.members.items), ["id", "slot"]);
});

Deno.test("schema defaults are the defaults resolveSpec applies", () => {
  const spec = root.properties!.spec.properties!;
  assert.equal(spec.safetyMode.default, SPEC_DEFAULTS.safetyMode);
  assert.equal(spec.image.default, SPEC_DEFAULTS.image);
  assert.equal(spec.storage.properties!.size.default, SPEC_DEFAULTS.storageSize);
  assert.deepEqual(resolveSpec({ replicas: 3 }), {
    replicas: 3,
    safetyMode: "safe",
    image: "raft-kv:latest",
    storageSize: "1Gi",
  });
  assert.deepEqual(spec.safetyMode.enum, ["safe", "unsafe-early-vote", "unsafe-no-joint"]);
});

Deno.test("printer columns: Replicas, Voters, Leader, Phase, Age", () => {
  const columns = version.additionalPrinterColumns as Array<{ name: string; jsonPath: string }>;
  assert.deepEqual(columns.map((c) => c.name), ["Replicas", "Voters", "Leader", "Phase", "Age"]);
  assert.equal(columns.find((c) => c.name === "Phase")?.jsonPath, ".status.reconfig.phase");
});

Deno.test("resolveSpec refuses what the schema refuses, naming the field", () => {
  assert.throws(
    () => resolveSpec({}),
    (e: Error) => e instanceof SpecError && /spec\.replicas/.test(e.message),
  );
  assert.throws(() => resolveSpec({ replicas: 10 }), /at most 9/);
  assert.throws(() => resolveSpec({ replicas: 2.5 }), /spec\.replicas/);
  assert.throws(() => resolveSpec({ replicas: 3, safetyMode: "yolo" }), /spec\.safetyMode must be one of/);
  assert.throws(() => resolveSpec({ replicas: 3, tickMs: 0 }), /spec\.tickMs/);
  assert.throws(() => resolveSpec({ replicas: 3, storage: { size: "" } }), /spec\.storage\.size/);
  assert.deepEqual(
    resolveSpec({ replicas: 5, safetyMode: "unsafe-no-joint", image: "r/raft-kv:1", tickMs: 20 }),
    { replicas: 5, safetyMode: "unsafe-no-joint", image: "r/raft-kv:1", storageSize: "1Gi", tickMs: 20 },
  );
});
