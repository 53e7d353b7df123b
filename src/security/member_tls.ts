/**
 * The TLS material of a member that keeps its own key (`--tls-bootstrap`, the operator's mode):
 * the key and, once issued, the certificate in the member's data volume; a self-signed stand-in
 * until then. Accepting a certificate writes it next to the key and tells the listeners, which
 * switch to it for new connections (node:https setSecureContext); the peer channel starts with it.
 */
import { dirname } from "node:path";
import { splitPemBundle, type TlsMaterial, type TlsPaths } from "./tls_files.ts";
import {
  bootstrapCertificate,
  certificateRequest,
  checkOfferedCertificate,
  loadOrCreateMemberKey,
  type MemberKey,
} from "./member_key.ts";
import { nodeIdOfCertificate } from "./certificates.ts";

export class MemberTls {
  #material: TlsMaterial;
  #issued: boolean;
  #csr: string | undefined;
  readonly #listeners: ((material: TlsMaterial) => void)[] = [];

  private constructor(
    readonly paths: TlsPaths,
    private readonly key: MemberKey,
    material: TlsMaterial,
    issued: boolean,
  ) {
    this.#material = material;
    this.#issued = issued;
  }

  /** Loads the key (creating it on first start) and the certificate, or makes the stand-in. */
  static async open(paths: TlsPaths): Promise<MemberTls> {
    await Deno.mkdir(dirname(paths.keyFile), { recursive: true, mode: 0o700 });
    const key = await loadOrCreateMemberKey(paths.keyFile);
    let caText: string;
    try {
      caText = await Deno.readTextFile(paths.caFile);
    } catch (error) {
      throw new Error(`--tls-ca ${paths.caFile}: cannot read the CA bundle: ${(error as Error).message}`);
    }
    const ca = splitPemBundle(caText);
    if (ca.length === 0) throw new Error(`--tls-ca ${paths.caFile}: no PEM certificate in it`);
    let cert: string | undefined;
    try {
      cert = await Deno.readTextFile(paths.certFile);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const issued = cert !== undefined;
    cert ??= await bootstrapCertificate(key, "raft-kv member awaiting its certificate");
    return new MemberTls(paths, key, { cert, key: key.keyPem, ca }, issued);
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /** A certificate issued by the cluster CA is in use (not the self-signed stand-in). */
  get issued(): boolean {
    return this.#issued;
  }

  /** The node id the certificate in use names (undefined for the stand-in). */
  get nodeId(): number | undefined {
    return this.#issued ? nodeIdOfCertificate(this.#material.cert) : undefined;
  }

  /** With `names`: a CSR that asks for them (for an external issuer such as cert-manager). */
  async certificateRequest(names?: { subject: string; dnsNames: string[] }): Promise<string> {
    if (names) return await certificateRequest(this.key, "raft-kv member", names);
    return this.#csr ??= await certificateRequest(this.key, "raft-kv member");
  }

  onChange(listener: (material: TlsMaterial) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Takes the member's first certificate (with its identity): checked against the key and the CA
   * bundle, written, and in use at once. Returns the node id it names.
   */
  async accept(pem: string, clusterId: string): Promise<number> {
    const nodeId = await checkOfferedCertificate(pem, this.key, this.#material.ca, clusterId);
    if (this.#issued) {
      if (this.nodeId !== nodeId) {
        throw new Error(
          `this member already holds a certificate for node ${this.nodeId}, not node ${nodeId}`,
        );
      }
      return nodeId;
    }
    await this.#write(pem);
    this.#material = { ...this.#material, cert: pem };
    this.#issued = true;
    for (const listener of this.#listeners) listener(this.#material);
    return nodeId;
  }

  /**
   * A renewed certificate (a CA rotation): checked, written, used from the next start (members are
   * restarted one by one, so the whole cluster never switches at once).
   */
  async stage(pem: string, clusterId: string, nodeId: number): Promise<{ notAfter: string }> {
    const named = await checkOfferedCertificate(pem, this.key, this.#material.ca, clusterId);
    if (named !== nodeId) throw new Error(`the certificate is for node ${named}, this is node ${nodeId}`);
    await this.#write(pem);
    const { X509Certificate } = await import("@peculiar/x509");
    return { notAfter: new X509Certificate(pem).notAfter.toISOString() };
  }

  async #write(pem: string): Promise<void> {
    const tmp = `${this.paths.certFile}.tmp`;
    await Deno.writeTextFile(tmp, pem, { mode: 0o644 });
    await Deno.rename(tmp, this.paths.certFile);
  }
}
