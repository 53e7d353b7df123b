/**
 * A member that keeps its own private key (the operator's TLS mode, `--tls-bootstrap`): the key is
 * made on the member's first start inside its own data volume (mode 0600) and never leaves it. The
 * operator gets a certificate request (CSR) from the member, signs it with the cluster CA once it
 * knows the member's id, and hands back only the certificate. So no Secret holds member keys, and a
 * pod cannot read another member's key: each pod's data volume is its own claim.
 *
 * Until its certificate arrives, the member serves HTTPS with a self-signed certificate of the same
 * key (nobody trusts it; the operator does not send secrets over it, see bootstrap_api.ts).
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createHmac, timingSafeEqual } from "node:crypto";
import { nodeIdOfCertificate } from "./certificates.ts";

x509.cryptoProvider.set(crypto);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface MemberKey {
  /** PKCS#8 PEM, for node:tls. */
  keyPem: string;
  keys: CryptoKeyPair;
}

/** Loads `path`, or creates it (0600) when it does not exist yet. */
export async function loadOrCreateMemberKey(path: string): Promise<MemberKey> {
  let keyPem: string | undefined;
  try {
    keyPem = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (keyPem === undefined) {
    keyPem = (await generateMemberKey()).keyPem;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || ".", { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp`;
    await Deno.writeTextFile(tmp, keyPem, { mode: 0o600 });
    await Deno.rename(tmp, path);
  }
  return { keyPem, keys: await keyPairOf(keyPem) };
}

/** A fresh key, in memory only. */
export async function generateMemberKey(): Promise<MemberKey> {
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as CryptoKeyPair;
  const keyPem = x509.PemConverter.encode(
    await crypto.subtle.exportKey("pkcs8", keys.privateKey),
    "PRIVATE KEY",
  );
  return { keyPem, keys };
}

async function keyPairOf(pem: string): Promise<CryptoKeyPair> {
  const der = x509.PemConverter.decode(pem)[0];
  const privateKey = await crypto.subtle.importKey("pkcs8", der, ALGORITHM, true, ["sign"]);
  // The public half: export the private JWK and drop `d`.
  const { d: _d, ...jwk } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", { ...jwk, key_ops: ["verify"] }, ALGORITHM, true, [
    "verify",
  ]);
  return { privateKey, publicKey };
}

/**
 * A CSR for the key. The operator's own CA ignores its subject (it sets the subject and names it
 * signs); an external issuer (cert-manager) signs what the CSR says, so then the operator asks for
 * the node's subject and DNS names (`names`) and checks them before it submits the request.
 */
export async function certificateRequest(
  key: MemberKey,
  name: string,
  names?: { subject: string; dnsNames: string[] },
): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: names?.subject ?? `CN=${name}`,
    keys: key.keys,
    signingAlgorithm: ALGORITHM,
    extensions: names
      ? [
        new x509.SubjectAlternativeNameExtension(
          names.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ),
      ]
      : [],
  });
  return csr.toString("pem");
}

/** The subject and DNS names a CSR asks for (what the operator checks before an issuer signs it). */
export function describeRequest(csrPem: string): { subject: string; dnsNames: string[] } {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const san = csr.extensions.find((e) => e instanceof x509.SubjectAlternativeNameExtension) as
    | x509.SubjectAlternativeNameExtension
    | undefined;
  return {
    subject: csr.subject,
    dnsNames: (san?.names.toJSON() ?? []).filter((n) => n.type === "dns").map((n) => n.value),
  };
}

/** A self-signed certificate of the member's key, served only until the real one arrives. */
export async function bootstrapCertificate(key: MemberKey, name: string): Promise<string> {
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}, OU=bootstrap`,
    keys: key.keys,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + 7 * 24 * 3_600_000),
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return certificate.toString("pem");
}

/**
 * The member's proof that the CSR comes from a pod of this cluster: an HMAC of the CSR under the
 * admin token, which the pods hold and an outsider does not. The operator checks it before it
 * signs, so nobody who merely intercepts the call gets their own key certified.
 */
export function csrMac(adminToken: string, csrPem: string): string {
  return createHmac("sha256", adminToken).update(csrPem).digest("base64");
}

export function csrMacMatches(adminToken: string, csrPem: string, mac: string): boolean {
  const expected = new TextEncoder().encode(csrMac(adminToken, csrPem));
  const given = new TextEncoder().encode(mac);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

async function spki(key: CryptoKey): Promise<string> {
  return btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.exportKey("spki", key))));
}

/**
 * Checks a certificate offered to this member: it certifies this member's own key, it was issued by
 * one of the trusted CAs, it is valid now, it is a node certificate of `clusterId`. Returns the node
 * id it names; throws with the reason otherwise.
 */
export async function checkOfferedCertificate(
  pem: string,
  key: MemberKey,
  trusted: string[],
  clusterId: string,
): Promise<number> {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(pem);
  } catch (error) {
    throw new Error(`not a PEM certificate: ${(error as Error).message}`);
  }
  const nodeId = nodeIdOfCertificate(pem);
  if (nodeId === undefined) {
    throw new Error(`${certificate.subject} is not a node certificate (OU=node, CN=node-<id>)`);
  }
  const organization = certificate.subjectName.getField("O")[0];
  if (organization !== clusterId) {
    throw new Error(`the certificate is for cluster "${organization}", this server runs for "${clusterId}"`);
  }
  if (await spki(await certificate.publicKey.export()) !== await spki(key.keys.publicKey)) {
    throw new Error("the certificate is for another key than this member's");
  }
  const now = new Date();
  if (certificate.notBefore > now || certificate.notAfter < now) {
    throw new Error(
      `the certificate is not valid now (${certificate.notBefore.toISOString()} .. ${certificate.notAfter.toISOString()})`,
    );
  }
  for (const caPem of trusted) {
    const ca = new x509.X509Certificate(caPem);
    if (ca.subject !== certificate.issuer) continue;
    if (await certificate.verify({ publicKey: ca.publicKey, signatureOnly: true })) return nodeId;
  }
  throw new Error(`the certificate was not issued by a trusted CA (issuer ${certificate.issuer})`);
}
