import type { CollectionRef } from "./fake_apiserver.ts";
import type { ResourceRef } from "../structs/objects.ts";

/** The example custom resource of the framework's tests (testdata/widget-crd.yaml). */
export const WIDGETS: ResourceRef & CollectionRef = {
  group: "example.raftkv.dev",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
};

export const EVENTS: CollectionRef = { group: "", version: "v1", plural: "events" };
export const LEASES: CollectionRef = { group: "coordination.k8s.io", version: "v1", plural: "leases" };
