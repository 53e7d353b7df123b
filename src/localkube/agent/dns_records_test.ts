import assert from "node:assert/strict";
import { DnsRecords, EndpointSliceLike } from "./dns_records.ts";

const slice = (
  namespace: string,
  service: string,
  endpoints: Array<{ ip: string; hostname?: string; ready?: boolean }>,
): EndpointSliceLike => ({
  metadata: { namespace, labels: { "kubernetes.io/service-name": service } },
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    hostname: e.hostname,
    conditions: e.ready === undefined ? {} : { ready: e.ready },
  })),
});

Deno.test("dns records from endpoint slices", async (t) => {
  const records = DnsRecords.fromEndpointSlices([
    slice("default", "web", [
      { ip: "127.100.0.2", hostname: "web-1", ready: true },
      { ip: "127.100.0.1", hostname: "web-0", ready: true },
      { ip: "127.100.0.3", hostname: "web-2", ready: false },
    ]),
    slice("other", "web", [{ ip: "127.100.0.9", hostname: "web-0" }]),
    slice("default", "empty", []),
  ]);

  await t.step("a service resolves to its ready endpoints, sorted", () => {
    assert.deepEqual(records.lookup("web.default.svc.cluster.local"), ["127.100.0.1", "127.100.0.2"]);
    assert.deepEqual(records.lookup("WEB.default.svc.cluster.local."), ["127.100.0.1", "127.100.0.2"]);
    assert.deepEqual(records.lookup("web.default.svc"), ["127.100.0.1", "127.100.0.2"]);
    assert.deepEqual(records.lookup("web.default"), ["127.100.0.1", "127.100.0.2"]);
  });

  await t.step("a StatefulSet pod resolves by hostname.service in every accepted form", () => {
    assert.deepEqual(records.lookup("web-0.web.default.svc.cluster.local"), ["127.100.0.1"]);
    assert.deepEqual(records.lookup("web-0.web.default.svc"), ["127.100.0.1"]);
    assert.deepEqual(records.lookup("web-0.web.default"), ["127.100.0.1"]);
    assert.deepEqual(records.lookup("web-0.web.other"), ["127.100.0.9"]);
  });

  await t.step("the short hostname.service form is searched in all namespaces", () => {
    assert.deepEqual(records.lookup("web-1.web"), ["127.100.0.2"]);
    assert.deepEqual(records.lookup("web-0.web"), ["127.100.0.1", "127.100.0.9"]);
  });

  await t.step(
    "not-ready endpoints are left out; unknown names are undefined; empty services are empty",
    () => {
      assert.equal(records.lookup("web-2.web.default.svc.cluster.local"), undefined);
      assert.equal(records.lookup("nothing.default.svc.cluster.local"), undefined);
      assert.equal(records.lookup("example.com"), undefined);
      assert.deepEqual(records.lookup("empty.default.svc.cluster.local"), []);
    },
  );
});
