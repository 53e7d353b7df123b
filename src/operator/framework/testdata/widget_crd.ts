// The framework's example custom resource, used by e2e_test.ts. Built in code so that it shows the
// intended use of the schema helpers: status.operator and status.conditions come from the framework.
import { conditionsSchema, operatorStatusSchema } from "../actions/schema.ts";

export function widgetCrd(): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.raftkv.dev" },
    spec: {
      group: "example.raftkv.dev",
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                properties: {
                  replicas: { type: "integer" },
                  image: { type: "string" },
                  failTimes: {
                    type: "integer",
                    description: "The flaky handler fails this many times first.",
                  },
                  waitForGate: {
                    type: "boolean",
                    description: "The provision handler waits for a gate file.",
                  },
                  interfere: {
                    type: "boolean",
                    description: "The handler writes status concurrently (409).",
                  },
                },
              },
              status: {
                type: "object",
                properties: {
                  phase: { type: "string" },
                  handledBy: { type: "string" },
                  replicasSeen: {
                    type: "object",
                    properties: { old: { type: "integer" }, new: { type: "integer" } },
                  },
                  attempts: { type: "integer" },
                  external: { type: "string" },
                  result: { type: "string" },
                  conditions: conditionsSchema(),
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
