/**
 * The cluster CA and the certificates it issues, built with @peculiar/x509 on WebCrypto (ECDSA
 * P-256): one CA per cluster, a certificate per node (usable as TLS server and as TLS client, so
 * peers authenticate each other with it), and client certificates that carry a role.
 *
 * Who a certificate speaks for is in its subject: `OU=node, CN=node-<id>` for a member,
 * `OU=<role>, CN=<name>` for a client. The CA signs the subject, so a holder cannot change it.
 */
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata polyfill first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { type Role, ROLES } from "./roles.ts";
import { nodeIdFromSubject } from "./certificate_subject.ts";
export { nodeIdFromSubject };

x509.cryptoProvider.set(crypto);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and its private key, both PEM (what Deno.serve, node:tls and fetch clients take). */
export interface CertifiedKey {
  cert: string;
  key: string;
}

export interface NodeCertificateRequest {
  nodeId: number;
  clusterId: string;
  /** Every DNS name the node is reached by (pod name, headless Service, Service, localhost). */
  dnsNames: string[];
  /** Every IP address the node is reached by. */
  ipAddresses: string[];
  validDays?: number;
}

export interface ClientCertificateRequest {
  name: string;
  role: Role;
  validDays?: number;
}

/** The subject CN of node `id`'s certificate. */
export function nodeCommonName(id: number): string {
  return `node-${id}`;
}

/** The node id a PEM certificate speaks for, or undefined when it is not a node certificate. */
export function nodeIdOfCertificate(pem: string): number | undefined {
  const subject = new x509.X509Certificate(pem).subjectName;
  return nodeIdFromSubject({ CN: subject.getField("CN")[0], OU: subject.getField("OU")[0] });
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  return await crypto.subtle.importKey("pkcs8", x509.PemConverter.decode(pem)[0], ALGORITHM, false, ["sign"]);
}

/** A certificate authority: the one that signs every certificate of one cluster. */
export class ClusterCa {
  readonly certificate: x509.X509Certificate;
  readonly #signingKey: CryptoKey;

  private constructor(certificate: x509.X509Certificate, signingKey: CryptoKey) {
    this.certificate = certificate;
    this.#signingKey = signingKey;
  }

  /** A new self-signed CA named after the cluster. */
  static async create(clusterId: string, validDays = 3650): Promise<{ ca: ClusterCa; pem: CertifiedKey }> {
    const keys = await generateKeys();
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=raft-kv CA ${clusterId}, O=raft-kv`,
      keys,
      signingAlgorithm: ALGORITHM,
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + validDays * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pem = { cert: certificate.toString("pem"), key: await privateKeyPem(keys.privateKey) };
    return { ca: new ClusterCa(certificate, keys.privateKey), pem };
  }

  /** The CA from its PEM files; throws with the reason if they do not fit together. */
  static async load(pem: CertifiedKey): Promise<ClusterCa> {
    const certificate = new x509.X509Certificate(pem.cert);
    const key = await importPrivateKey(pem.key);
    const ca = new ClusterCa(certificate, key);
    // Sign a throwaway certificate and check it against the CA's public key: catches a key that
    // belongs to another CA before it signs anything that peers would refuse.
    const probe = await ca.#issue("CN=probe", (await generateKeys()).publicKey, 1, []);
    if (!await probe.verify({ publicKey: certificate.publicKey, signatureOnly: true })) {
      throw new Error("the CA key does not belong to the CA certificate");
    }
    return ca;
  }

  async issueNode(request: NodeCertificateRequest): Promise<CertifiedKey> {
    return await this.#issueKeyPair(
      `CN=${nodeCommonName(request.nodeId)}, OU=node, O=${escapeRdn(request.clusterId)}`,
      request.validDays ?? 365,
      nodeExtensions(request),
    );
  }

  /**
   * A node certificate for the key of a certificate request (PEM CSR) the node made itself: the CA
   * never sees the node's private key. The subject and names come from `request`, not from the CSR.
   */
  async signNodeRequest(csrPem: string, request: NodeCertificateRequest): Promise<string> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (error) {
      throw new Error(`not a PEM certificate request: ${(error as Error).message}`);
    }
    if (!await csr.verify()) throw new Error("the certificate request's signature does not verify");
    const publicKey = await csr.publicKey.export(ALGORITHM, ["verify"]);
    const certificate = await this.#issue(
      `CN=${nodeCommonName(request.nodeId)}, OU=node, O=${escapeRdn(request.clusterId)}`,
      publicKey,
      request.validDays ?? 365,
      [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.certificate),
        ...nodeExtensions(request),
      ],
    );
    return certificate.toString("pem");
  }

  async issueClient(request: ClientCertificateRequest): Promise<CertifiedKey> {
    if (!ROLES.includes(request.role)) throw new Error(`unknown role "${request.role}"`);
    if (!/^[A-Za-z0-9._-]+$/.test(request.name)) {
      throw new Error(`client name "${request.name}" may only hold letters, digits, ".", "_" and "-"`);
    }
    return await this.#issueKeyPair(
      `CN=${request.name}, OU=${request.role}, O=raft-kv`,
      request.validDays ?? 365,
      [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    );
  }

  async #issueKeyPair(
    subject: string,
    validDays: number,
    extensions: x509.Extension[],
  ): Promise<CertifiedKey> {
    const keys = await generateKeys();
    const certificate = await this.#issue(subject, keys.publicKey, validDays, [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(this.certificate),
      ...extensions,
    ]);
    return { cert: certificate.toString("pem"), key: await privateKeyPem(keys.privateKey) };
  }

  async #issue(
    subject: string,
    publicKey: CryptoKey,
    validDays: number,
    extensions: x509.Extension[],
  ): Promise<x509.X509Certificate> {
    const now = Date.now();
    return await x509.X509CertificateGenerator.create({
      subject,
      issuer: this.certificate.subject,
      publicKey,
      signingKey: this.#signingKey,
      signingAlgorithm: ALGORITHM,
      // A little slack backwards: clocks of freshly started pods are not all equal.
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(Math.min(now + validDays * DAY_MS, this.certificate.notAfter.getTime())),
      extensions,
    });
  }
}

/** What makes a node certificate: server and client use, and every name the node is reached by. */
function nodeExtensions(request: NodeCertificateRequest): x509.Extension[] {
  if (!Number.isSafeInteger(request.nodeId) || request.nodeId < 1) {
    throw new Error(`node id must be an integer >= 1, got ${request.nodeId}`);
  }
  const names = [
    ...request.dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...request.ipAddresses.map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length === 0) {
    throw new Error(`node ${request.nodeId}: give at least one DNS name or IP address`);
  }
  return [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension(names),
  ];
}

/** RFC 4514: a cluster id is user input and must not add attributes to a subject. */
function escapeRdn(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
}

/** Subject, names and validity of a PEM certificate, for logs and checks (no secret in it). */
export function describeCertificate(pem: string): {
  subject: string;
  dnsNames: string[];
  ipAddresses: string[];
  notAfter: Date;
} {
  const certificate = new x509.X509Certificate(pem);
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  return {
    subject: certificate.subject,
    dnsNames: names.filter((n) => n.type === "dns").map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === "ip").map((n) => n.value),
    notAfter: certificate.notAfter,
  };
}
