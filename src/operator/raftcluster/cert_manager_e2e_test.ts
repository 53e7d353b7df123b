/**
 * spec.tls.issuerRef on localkube, with a stand-in for cert-manager (whose images cannot be pulled
 * here): the CertificateRequest CRD (cert-manager.io/v1, schema left open) and a signer in this test
 * that does what cert-manager's CA issuer does with a request: sign the CSR as it stands with its CA
 * and set status.certificate, status.ca and the Ready condition. What is tested is the operator's side:
 * the probe request that tells it the CA, one request per member carrying the member's own CSR, the
 * certificates reaching the members, and the cluster serving HTTPS under that CA. cert-manager's own
 * behaviour (approval, policies, renewal) is not.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as x509 from "@peculiar/x509";
import { KubeConfigH1 } from "../framework/mod.ts";
import { waitFor } from "../framework/testing/wait.ts";
import { ClusterCa } from "../../security/certificates.ts";
import { namedFetch } from "../../security/named_fetch.ts";
import { ClusterApi } from "./cluster_api.ts";
import { installCrd, kubectl, OperatorProcess, stepper, withLocalKube } from "./e2e_support.ts";
import { labelSelector, podDnsName } from "./names.ts";
import type { RaftClusterStatus } from "./types.ts";

const CERTIFICATE_REQUEST_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "certificaterequests.cert-manager.io" },
  spec: {
    group: "cert-manager.io",
    names: { kind: "CertificateRequest", plural: "certificaterequests", singular: "certificaterequest" },
    scope: "Namespaced",
    versions: [{
      name: "v1",
      served: true,
      storage: true,
      subresources: { status: {} },
      schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
    }],
  },
};

/** Signs a CSR as cert-manager's CA issuer does: its subject and names as requested, under the CA. */
async function signAsIssuer(ca: ClusterCa, caKey: CryptoKey, csrPem: string): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  assert.ok(await csr.verify(), "the CSR's signature verifies");
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: csr.subject,
    issuer: ca.certificate.subject,
    publicKey: await csr.publicKey.export({ name: "ECDSA", namedCurve: "P-256" }, ["verify"]),
    signingKey: caKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    extensions: [
      ...csr.extensions,
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
    ],
  });
  return certificate.toString("pem");
}

Deno.test({
  name:
    "e2e: spec.tls.issuerRef: members' own CSRs go out as CertificateRequests; the cluster runs on the issuer's CA",
  async fn(t) {
    await withLocalKube("raftcluster-cm-e2e-", async ({ kube, teardown, dir }) => {
      const kubeConfig = new KubeConfigH1();
      kubeConfig.loadFromFile(kube.kubeconfigPath);
      teardown.add("API connections", () => kubeConfig.closeConnections());
      const api = new ClusterApi(kubeConfig);
      const namespace = "raft-cm";
      const run = (args: string[], stdin?: string) =>
        kubectl(kube.kubectl, kube.kubeconfigPath, ["-n", namespace, ...args], stdin);
      const step = stepper(t);
      const issuer = await ClusterCa.create("issuer");
      const caKey = await crypto.subtle.importKey(
        "pkcs8",
        x509.PemConverter.decode(issuer.pem.key)[0],
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["sign"],
      );
      let signing = true;
      const signed = new Set<string>();
      // The stand-in issuer: every request without a certificate gets one.
      const signer = (async () => {
        while (signing) {
          const list = JSON.parse(
            await run(["get", "certificaterequests", "-o", "json"]).catch(() => '{"items":[]}'),
          );
          for (const request of list.items) {
            if (request.status?.certificate) continue;
            const csr = Buffer.from(request.spec.request, "base64").toString();
            const certificate = await signAsIssuer(issuer.ca, caKey, csr);
            const status = {
              status: {
                certificate: Buffer.from(certificate).toString("base64"),
                ca: Buffer.from(issuer.pem.cert).toString("base64"),
                conditions: [{
                  type: "Ready",
                  status: "True",
                  reason: "Issued",
                  message: "signed by the test",
                }],
              },
            };
            await run([
              "patch",
              "certificaterequest",
              request.metadata.name,
              "--subresource=status",
              "--type=merge",
              "-p",
              JSON.stringify(status),
            ]);
            signed.add(request.metadata.name);
          }
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      teardown.add("the stand-in signer", async () => {
        signing = false;
        await signer;
      });
      let operator: OperatorProcess | undefined;
      try {
        await step("a RaftCluster with an issuerRef forms on the issuer's CA and serves HTTPS", async () => {
          await installCrd(kube, namespace);
          await kubectl(
            kube.kubectl,
            kube.kubeconfigPath,
            ["apply", "-f", "-"],
            JSON.stringify(CERTIFICATE_REQUEST_CRD),
          );
          await kubectl(kube.kubectl, kube.kubeconfigPath, [
            "wait",
            "--for=condition=Established",
            "crd/certificaterequests.cert-manager.io",
            "--timeout=30s",
          ]);
          const started = await OperatorProcess.start(`${dir}/operator.log`, [
            ...["--kubeconfig", kube.kubeconfigPath, "--namespace", namespace],
            ...["--lease-namespace", namespace, "--identity", "operator-cm"],
          ]);
          operator = started;
          teardown.add(`operator (pid ${started.pid})`, () => started.terminate(), { pid: started.pid });
          await run(
            ["apply", "-f", "-"],
            JSON.stringify({
              apiVersion: "storage.sys/v1",
              kind: "RaftCluster",
              metadata: { name: "issued" },
              spec: {
                replicas: 3,
                image: "localhost:5000/raft-kv:latest",
                tls: { enabled: true, issuerRef: { name: "test-ca", kind: "ClusterIssuer" } },
              },
            }),
          );
          const body = await waitFor(
            "issued Running with 3 voters",
            async () => {
              const b = await api.getCluster(namespace, "issued");
              const s = (b?.status ?? {}) as RaftClusterStatus;
              return b && s.phase === "Running" && s.voters?.length === 3 && s.readyReplicas === 3 && b;
            },
            180_000,
            250,
          );
          assert.deepEqual(
            [...signed].sort(),
            ["issued-ca-probe", "issued-node-1", "issued-node-2", "issued-node-3"],
            "a probe request for the CA, then one request per member",
          );
          const trust = atob(await run(["get", "secret", "issued-trust", "-o", "jsonpath={.data.ca\\.crt}"]));
          assert.equal(trust.trim(), issuer.pem.cert.trim(), "the members trust the issuer's CA");
          await assert.rejects(run(["get", "secret", "issued-ca"]), "no operator CA with an issuer");
          const requests = JSON.parse(await run(["get", "certificaterequests", "-o", "json"])).items;
          for (const request of requests) {
            assert.ok(!JSON.stringify(request).includes("PRIVATE KEY"), "no key in a request");
            assert.deepEqual(request.spec.issuerRef, {
              name: "test-ca",
              kind: "ClusterIssuer",
              group: "cert-manager.io",
            });
          }
          const ref = { namespace, name: "issued", uid: body.metadata.uid };
          const pods = await api.listPods(namespace, labelSelector(ref));
          for (const pod of pods) {
            const response = await namedFetch(`https://${podDnsName(ref, pod.name)}:8080/status`, {
              connectTo: pod.ip!,
              tls: { ca: [issuer.pem.cert] },
              signal: AbortSignal.timeout(5_000),
            });
            const status = await response.json();
            assert.ok(
              status.id >= 1,
              `${pod.name} answers over HTTPS verified by the issuer's CA as node ${status.id}`,
            );
          }
        });
      } catch (error) {
        if (operator) {
          console.error(
            `--- operator log (tail) ---\n${(await operator.log()).split("\n").slice(-60).join("\n")}`,
          );
        }
        throw error;
      }
    });
  },
});
