import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { conditionsSchema, operatorStatusSchema } from "./schema.ts";
import type { Outcome } from "./invocation.ts";
import { progressAfter } from "./progression.ts";
import type { RegisteredHandler } from "../intents/registry.ts";
import { setCondition } from "../structs/conditions.ts";
import { widgetCrd } from "../testdata/widget_crd.ts";

Deno.test("the schema fragments survive client-node's typed CRD round trip (nothing dropped)", () => {
  // Sent through ApiextensionsV1Api, a raw object loses unknown keys; loadYaml types it first.
  const typed = k8s.loadYaml(JSON.stringify(widgetCrd())) as k8s.V1CustomResourceDefinition;
  const dumped = k8s.dumpYaml(typed);
  for (
    const key of [
      "x-kubernetes-list-type",
      "x-kubernetes-list-map-keys",
      "additionalProperties",
      "lastHandled",
    ]
  ) {
    assert.ok(dumped.includes(key), `${key} lost in the round trip`);
  }
  const status = typed.spec.versions[0].schema?.openAPIV3Schema?.properties?.status;
  assert.deepEqual(Object.keys(status?.properties?.operator?.properties ?? {}), [
    "lastHandled",
    "progress",
    "failures",
  ]);
});

Deno.test("every field the framework writes is declared in the schemas", async () => {
  const [condition] = setCondition([], { type: "Ready", status: "True", reason: "Done" }, 4);
  const conditions = conditionsSchema() as {
    items: { required: string[]; properties: Record<string, unknown> };
  };
  for (const field of conditions.items.required) assert.ok(field in condition, `missing ${field}`);
  for (const field of Object.keys(condition)) {
    assert.ok(field in conditions.items.properties, `undeclared ${field}`);
  }

  const operator = operatorStatusSchema() as {
    properties: Record<string, { additionalProperties: { properties: Record<string, unknown> } }>;
  };
  const selected = { handler: {} as RegisteredHandler, reason: "update" as const, diff: [], doneFor: 3 };
  const outcomes: Outcome[] = [
    { kind: "success" },
    { kind: "retry", delayMs: 10, message: "later" },
    { kind: "permanent", message: "never" },
  ];
  for (const outcome of outcomes) {
    const { record, failure } = await progressAfter(undefined, outcome, selected, new Date());
    for (const field of Object.keys(record)) {
      assert.ok(
        field in operator.properties.progress.additionalProperties.properties,
        `undeclared progress.${field}`,
      );
    }
    for (const field of Object.keys(failure ?? {})) {
      assert.ok(
        field in operator.properties.failures.additionalProperties.properties,
        `undeclared failure.${field}`,
      );
    }
  }
});
