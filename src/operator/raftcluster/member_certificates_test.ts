import assert from "node:assert/strict";
import { ClusterCa, describeCertificate, nodeIdOfCertificate } from "../../security/certificates.ts";
import {
  certificateRequest,
  checkOfferedCertificate,
  loadOrCreateMemberKey,
} from "../../security/member_key.ts";
import { memberDnsNames } from "./names.ts";

const ref = { name: "demo", namespace: "shop", uid: "0123456789abcdef" };

Deno.test("member names: the pod under the headless Service, both Services short, namespaced and cluster-wide", () => {
  assert.deepEqual(memberDnsNames(ref, "demo-1").sort(), [
    "demo",
    "demo-1.demo-peers",
    "demo-1.demo-peers.shop",
    "demo-1.demo-peers.shop.svc.cluster.local",
    "demo-peers",
    "demo-peers.shop",
    "demo-peers.shop.svc",
    "demo-peers.shop.svc.cluster.local",
    "demo.shop",
    "demo.shop.svc",
    "demo.shop.svc.cluster.local",
  ]);
});

Deno.test("a member's CSR signed by the CA: CN names the node id, SANs every name, the member's own key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv-member-cert-" });
  try {
    const key = await loadOrCreateMemberKey(`${dir}/node.key`);
    const { ca, pem } = await ClusterCa.create("shop.demo.01234567");
    const csr = await certificateRequest(key, "ignored");
    const cert = await ca.signNodeRequest(csr, {
      nodeId: 4,
      clusterId: "shop.demo.01234567",
      dnsNames: memberDnsNames(ref, "demo-1"),
      ipAddresses: [],
    });
    assert.equal(nodeIdOfCertificate(cert), 4);
    const described = describeCertificate(cert);
    assert.match(described.subject, /CN=node-4/);
    assert.match(described.subject, /OU=node/);
    assert.deepEqual(described.dnsNames.sort(), memberDnsNames(ref, "demo-1").sort());
    assert.deepEqual(described.ipAddresses, [], "no pod IP: pod IPs change at every restart");
    assert.equal(await checkOfferedCertificate(cert, key, [pem.cert], "shop.demo.01234567"), 4);
    // The same key file gives the same key: a restarted member keeps fitting its certificate.
    const reloaded = await loadOrCreateMemberKey(`${dir}/node.key`);
    assert.equal(await checkOfferedCertificate(cert, reloaded, [pem.cert], "shop.demo.01234567"), 4);
    await assert.rejects(
      ca.signNodeRequest("not a csr", { nodeId: 4, clusterId: "x", dnsNames: ["a"], ipAddresses: [] }),
      /not a PEM certificate request/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
