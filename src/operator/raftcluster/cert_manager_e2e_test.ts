/**
 * spec.tls.issuerRef on localkube against cert-manager itself: its CRDs (from the Go module's
 * deploy/crds) and its own controllers for a CA Issuer (the internal approver, the Issuer controller and
 * the CertificateRequest CA issuer), built from the published Go module by `cert_manager_ca.ts` and run
 * as a process, since cert-manager's images (quay.io) cannot be pulled here. cert-manager's webhook is
 * not run. What is tested: the probe request that tells the operator the CA, one request per member
 * carrying the member's own CSR, approved and signed by cert-manager, the certificates reaching the
 * members, and the cluster serving HTTPS under the Issuer's CA.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as x509 from "@peculiar/x509";
import { waitFor } from "../framework/testing/wait.ts";
import { ClusterCa } from "../../security/certificates.ts";
import { namedFetch } from "../../security/named_fetch.ts";
import { CertManagerCaProcess, certManagerCrdDir, ensureCertManagerCa } from "./cert_manager_ca.ts";
import { ClusterApi } from "./cluster_api.ts";
import { installCrd, kubectl, OperatorProcess, stepper, withLocalKube } from "./e2e_support.ts";
import { labelSelector, podDnsName } from "./names.ts";
import { localKubeUnavailable } from "../../localkube/testing.ts";
import type { RaftClusterStatus } from "./types.ts";

const CERT_MANAGER_CRDS = ["certificaterequests", "issuers", "clusterissuers", "certificates"];

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

Deno.test({
  name:
    "e2e: spec.tls.issuerRef: members' own CSRs go out as CertificateRequests; the cluster runs on the issuer's CA",
  async fn(t) {
    // Built (or waited for: CI starts the build beside the tests) before localkube starts, since a cold
    // build takes minutes; a failed build fails the test with go build's error. Where localkube cannot
    // run, withLocalKube says why and skips, and nothing is built.
    const binary = await localKubeUnavailable()
      ? ""
      : await ensureCertManagerCa((line) => console.error(line));
    await withLocalKube("raftcluster-cm-e2e-", async ({ kube, kubeConfig, teardown, dir }) => {
      const api = new ClusterApi(kubeConfig);
      const namespace = "raft-cm";
      const run = (args: string[], stdin?: string) =>
        kubectl(kube.kubectl, kube.kubeconfigPath, ["-n", namespace, ...args], stdin);
      const step = stepper(t);
      const issuer = await ClusterCa.create("issuer");
      let certManager: CertManagerCaProcess | undefined;
      let operator: OperatorProcess | undefined;
      try {
        await step("a RaftCluster with an issuerRef forms on the issuer's CA and serves HTTPS", async () => {
          await installCrd(kube, namespace);
          const crds = await certManagerCrdDir();
          for (const crd of CERT_MANAGER_CRDS) {
            await kubectl(kube.kubectl, kube.kubeconfigPath, [
              "apply",
              "-f",
              `${crds}/cert-manager.io_${crd}.yaml`,
            ]);
          }
          await kubectl(kube.kubectl, kube.kubeconfigPath, [
            "wait",
            "--for=condition=Established",
            ...CERT_MANAGER_CRDS.map((crd) => `crd/${crd}.cert-manager.io`),
            "--timeout=30s",
          ]);
          // A CA Issuer as cert-manager's docs set one up: a kubernetes.io/tls Secret holding the CA.
          await run(
            ["apply", "-f", "-"],
            JSON.stringify({
              apiVersion: "v1",
              kind: "List",
              items: [{
                apiVersion: "v1",
                kind: "Secret",
                metadata: { name: "test-ca-key" },
                type: "kubernetes.io/tls",
                data: {
                  "tls.crt": Buffer.from(issuer.pem.cert).toString("base64"),
                  "tls.key": Buffer.from(issuer.pem.key).toString("base64"),
                },
              }, {
                apiVersion: "cert-manager.io/v1",
                kind: "Issuer",
                metadata: { name: "test-ca" },
                spec: { ca: { secretName: "test-ca-key" } },
              }],
            }),
          );
          const signer = await CertManagerCaProcess.start(
            binary,
            kube.kubeconfigPath,
            namespace,
            `${dir}/cert-manager.log`,
          );
          certManager = signer;
          teardown.add(`cert-manager's CA issuer (pid ${signer.pid})`, () => signer.stop(), {
            pid: signer.pid,
          });
          await waitFor(
            "cert-manager marks the CA Issuer Ready",
            async () => {
              const body = JSON.parse(await run(["get", "issuer", "test-ca", "-o", "json"]));
              return (body.status?.conditions ?? []).some((c: Condition) =>
                c.type === "Ready" && c.status === "True"
              );
            },
            60_000,
            250,
          );
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
                tls: { enabled: true, issuerRef: { name: "test-ca", kind: "Issuer" } },
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
          const requests = JSON.parse(await run(["get", "certificaterequests", "-o", "json"])).items;
          assert.deepEqual(
            requests.map((r: { metadata: { name: string } }) => r.metadata.name).sort(),
            ["issued-ca-probe", "issued-node-1", "issued-node-2", "issued-node-3"],
            "a probe request for the CA, then one request per member",
          );
          const trust = atob(await run(["get", "secret", "issued-trust", "-o", "jsonpath={.data.ca\\.crt}"]));
          assert.equal(trust.trim(), issuer.pem.cert.trim(), "the members trust the issuer's CA");
          await assert.rejects(run(["get", "secret", "issued-ca"]), "no operator CA with an issuer");
          for (const request of requests) {
            const name = request.metadata.name;
            const conditions: Condition[] = request.status?.conditions ?? [];
            assert.ok(
              conditions.some((c) =>
                c.type === "Approved" && c.status === "True" && c.reason === "cert-manager.io"
              ),
              `${name} was approved by cert-manager's approver`,
            );
            assert.ok(
              conditions.some((c) => c.type === "Ready" && c.status === "True" && c.reason === "Issued"),
              `${name} was issued`,
            );
            const csr = new x509.Pkcs10CertificateRequest(
              Buffer.from(request.spec.request, "base64").toString(),
            );
            const certificate = new x509.X509Certificate(
              Buffer.from(request.status.certificate, "base64").toString(),
            );
            assert.ok(
              await certificate.verify({ publicKey: issuer.ca.certificate.publicKey, signatureOnly: true }),
              `${name}'s certificate is signed by the Issuer's CA`,
            );
            assert.equal(
              Buffer.from(certificate.publicKey.rawData).toString("hex"),
              Buffer.from(csr.publicKey.rawData).toString("hex"),
              `${name}'s certificate is for the key of its CSR`,
            );
            assert.ok(!JSON.stringify(request).includes("PRIVATE KEY"), "no key in a request");
            assert.deepEqual(request.spec.issuerRef, {
              name: "test-ca",
              kind: "Issuer",
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
        if (certManager) {
          console.error(
            `--- cert-manager log (tail) ---\n${(await certManager.log()).split("\n").slice(-40).join("\n")}`,
          );
        }
        if (operator) {
          console.error(
            `--- operator log (tail) ---\n${(await operator.log()).split("\n").slice(-60).join("\n")}`,
          );
        }
        throw error;
      }
    }, { seedImages: true });
  },
});
