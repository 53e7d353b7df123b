import assert from "node:assert/strict";
import { DnsRecords, PodLike, ServiceLike } from "./dns_records.ts";

const pod = (
  namespace: string,
  name: string,
  ip: string | undefined,
  options: { ready?: boolean; app?: string; subdomain?: string; terminating?: boolean } = {},
): PodLike => ({
  metadata: {
    name,
    namespace,
    labels: { app: options.app ?? "web" },
    deletionTimestamp: options.terminating ? "2026-01-01T00:00:00Z" : undefined,
  },
  spec: { hostname: name, subdomain: options.subdomain ?? "web" },
  status: { podIP: ip, conditions: [{ type: "Ready", status: options.ready === false ? "False" : "True" }] },
});
const service = (
  namespace: string,
  name: string,
  selector: Record<string, string> | null,
  publishNotReady = false,
) =>
  ({
    metadata: { name, namespace },
    spec: { selector, publishNotReadyAddresses: publishNotReady },
  }) as ServiceLike;

Deno.test("dns records from services and pods", async (t) => {
  const records = DnsRecords.fromCluster(
    [
      service("default", "web", { app: "web" }),
      service("default", "web-all", { app: "web" }, true),
      service("other", "web", { app: "web" }),
      service("default", "manual", null),
    ],
    [
      pod("default", "web-1", "127.100.0.2"),
      pod("default", "web-0", "127.100.0.1"),
      pod("default", "web-2", "127.100.0.3", { ready: false }),
      pod("default", "web-3", undefined),
      pod("default", "web-4", "127.100.0.5", { terminating: true }),
      pod("default", "db-0", "127.100.0.7", { app: "db", subdomain: "db" }),
      pod("other", "web-0", "127.100.0.9"),
    ],
    { "kubernetes.default": ["127.0.0.1"] },
  );

  await t.step("a service resolves to its ready selected pods, sorted", () => {
    assert.deepEqual(records.lookup("web.default.svc.cluster.local"), ["127.100.0.1", "127.100.0.2"]);
    assert.deepEqual(records.lookup("WEB.default.svc.cluster.local."), ["127.100.0.1", "127.100.0.2"]);
    assert.deepEqual(records.lookup("web.default.svc"), ["127.100.0.1", "127.100.0.2"]);
    assert.deepEqual(records.lookup("web.default"), ["127.100.0.1", "127.100.0.2"]);
  });

  await t.step("publishNotReadyAddresses includes pods that are not ready", () => {
    assert.deepEqual(records.lookup("web-all.default"), ["127.100.0.1", "127.100.0.2", "127.100.0.3"]);
  });

  await t.step("a StatefulSet pod resolves by hostname.service in every accepted form", () => {
    assert.deepEqual(records.lookup("web-0.web.default.svc.cluster.local"), ["127.100.0.1"]);
    assert.deepEqual(records.lookup("web-0.web.default.svc"), ["127.100.0.1"]);
    assert.deepEqual(records.lookup("web-0.web.default"), ["127.100.0.1"]);
    assert.deepEqual(records.lookup("web-0.web.other"), ["127.100.0.9"]);
    assert.equal(
      records.lookup("web-0.web-all.default"),
      undefined,
      "hostname records only under spec.subdomain",
    );
  });

  await t.step("the short hostname.service form is searched in all namespaces", () => {
    assert.deepEqual(records.lookup("web-1.web"), ["127.100.0.2"]);
    assert.deepEqual(records.lookup("web-0.web"), ["127.100.0.1", "127.100.0.9"]);
  });

  await t.step("not-ready, address-less, terminating and unselected pods are left out", () => {
    assert.equal(records.lookup("web-2.web.default.svc.cluster.local"), undefined);
    assert.equal(records.lookup("web-3.web.default"), undefined);
    assert.equal(records.lookup("web-4.web.default"), undefined);
    assert.equal(records.lookup("db-0.db.default"), undefined, "no service named db");
  });

  await t.step("unknown names are undefined; services without pods are empty; fixed names resolve", () => {
    assert.equal(records.lookup("nothing.default.svc.cluster.local"), undefined);
    assert.equal(records.lookup("example.com"), undefined);
    assert.deepEqual(records.lookup("manual.default"), []);
    assert.deepEqual(records.lookup("kubernetes.default.svc.cluster.local"), ["127.0.0.1"]);
  });
});

Deno.test("dns records with kube-proxy: Services answer their ClusterIP, headless ones their pods", () => {
  const withIp = (s: ServiceLike, clusterIP: string) =>
    ({ ...s, spec: { ...s.spec, clusterIP } }) as ServiceLike;
  const records = DnsRecords.fromCluster(
    [
      withIp(service("default", "web", { app: "web" }), "10.96.0.20"),
      withIp(service("default", "peers", { app: "web" }), "None"),
      withIp(service("default", "kubernetes", null), "10.96.0.1"),
    ],
    [pod("default", "web-0", "10.244.0.5", { subdomain: "peers" }), pod("default", "web-1", "10.244.0.6")],
    {},
    { serviceIps: true },
  );
  assert.deepEqual(records.lookup("web.default.svc.cluster.local"), ["10.96.0.20"]);
  assert.deepEqual(records.lookup("kubernetes.default"), ["10.96.0.1"]);
  assert.deepEqual(records.lookup("peers.default.svc.cluster.local"), ["10.244.0.5", "10.244.0.6"]);
  assert.deepEqual(records.lookup("web-0.peers.default.svc.cluster.local"), ["10.244.0.5"]);
  // As CoreDNS: hostname records only under a headless Service.
  assert.equal(records.lookup("web-1.web.default.svc.cluster.local"), undefined);
});
