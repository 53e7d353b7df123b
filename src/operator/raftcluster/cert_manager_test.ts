/**
 * spec.tls.issuerRef, without a cert-manager (its images cannot be pulled here): the CertificateRequest
 * objects the operator submits, and how it reads cert-manager's answers (the conditions and fields of
 * cert-manager.io/v1 as documented). A member's CSR asks for the node's subject and names.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as x509 from "@peculiar/x509";
import { ClusterCa, describeCertificate, nodeIdOfCertificate } from "../../security/certificates.ts";
import { certificateRequest, describeRequest, generateMemberKey } from "../../security/member_key.ts";
import {
  type CertificateRequestObject,
  certificateRequestObject,
  memberRequestName,
  memberSubject,
  requestOutcome,
} from "./cert_manager.ts";
import { clusterId, memberDnsNames } from "./names.ts";
import { ownerReference } from "./resources.ts";

const ref = { name: "demo", namespace: "shop", uid: "0123456789abcdef" };
const issuerRef = { name: "shop-ca", kind: "ClusterIssuer", group: "cert-manager.io" };

Deno.test("cert-manager: a CertificateRequest per member carries the member's own CSR, never a key", async () => {
  const key = await generateMemberKey();
  const names = { subject: memberSubject(ref, 4), dnsNames: memberDnsNames(ref, "demo-1") };
  const csr = await certificateRequest(key, "x", names);
  assert.deepEqual(describeRequest(csr).dnsNames, names.dnsNames);
  assert.match(describeRequest(csr).subject, /^CN=node-4, OU=node, O=shop\.demo\.01234567$/);
  const request = certificateRequestObject(
    ref,
    ownerReference(ref),
    memberRequestName(ref, 4),
    csr,
    issuerRef,
  );
  assert.equal(request.apiVersion, "cert-manager.io/v1");
  assert.equal(request.kind, "CertificateRequest");
  assert.equal(request.metadata.name, "demo-node-4");
  assert.equal(request.metadata.ownerReferences![0].uid, ref.uid);
  assert.deepEqual(request.spec.issuerRef, issuerRef);
  assert.deepEqual(request.spec.usages, ["digital signature", "key agreement", "server auth", "client auth"]);
  assert.equal(Buffer.from(request.spec.request, "base64").toString(), csr);
  assert.ok(!JSON.stringify(request).includes("PRIVATE KEY"));
  // What a CA issuer would sign from it: the subject the peers check, every name of the member.
  const { ca } = await ClusterCa.create("issuer");
  const parsed = new x509.Pkcs10CertificateRequest(csr);
  const signed = await x509.X509CertificateGenerator.create({
    subject: parsed.subject,
    issuer: ca.certificate.subject,
    publicKey: await parsed.publicKey.export(),
    signingKey: (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]))
      .privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: parsed.extensions,
  });
  assert.equal(nodeIdOfCertificate(signed.toString("pem")), 4);
  assert.deepEqual(describeCertificate(signed.toString("pem")).dnsNames, names.dnsNames);
  assert.equal(clusterId(ref), "shop.demo.01234567");
});

Deno.test("cert-manager: Ready gives the certificate and CA; Denied/InvalidRequest/Failed are errors; else waiting", () => {
  const base = certificateRequestObject(ref, ownerReference(ref), "demo-node-4", "csr", issuerRef);
  const withStatus = (status: CertificateRequestObject["status"]) => ({ ...base, status });
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  assert.deepEqual(requestOutcome(base), {
    kind: "pending",
    message: "waiting for cert-manager to sign CertificateRequest demo-node-4",
  });
  assert.equal(
    requestOutcome(
      withStatus({ conditions: [{ type: "Ready", status: "False", reason: "Pending", message: "issuing" }] }),
    )
      .kind,
    "pending",
  );
  assert.deepEqual(
    requestOutcome(withStatus({
      certificate: b64("CERT"),
      ca: b64("CA"),
      conditions: [{ type: "Approved", status: "True" }, { type: "Ready", status: "True" }],
    })),
    { kind: "ready", certificate: "CERT", ca: "CA" },
  );
  assert.deepEqual(
    requestOutcome(
      withStatus({ conditions: [{ type: "Denied", status: "True", message: "policy says no" }] }),
    ),
    { kind: "failed", message: "Denied: policy says no" },
  );
  assert.equal(
    requestOutcome(
      withStatus({ conditions: [{ type: "Ready", status: "False", reason: "Failed", message: "x" }] }),
    )
      .kind,
    "failed",
  );
});
