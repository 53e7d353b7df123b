/**
 * Certificates and tokens of a local cluster started with `deno task local up --tls`, kept in
 * <state dir>/tls: the cluster CA (ca.crt, ca.key), a certificate per node (node-<id>.crt/.key,
 * issued when the node is first started), and the client auth file with three tokens (admin,
 * read-write, read-only). Private keys and the auth file are readable by the owner only.
 */
import { ClusterCa } from "./certificates.ts";
import type { ClientTls } from "../client/mod.ts";

export interface LocalSecurity {
  dir: string;
  caFile: string;
  authFile: string;
  /** The client tokens of the auth file: the CLI, benchmark and experiments use `readWrite`. */
  tokens: { admin: string; readWrite: string; readOnly: string };
  /** false: the nodes run with --client-cert-auth off (tokens only, Deno's native TLS). */
  clientCertAuth?: boolean;
}

function randomToken(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

async function writePrivate(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
}

/** Creates the CA and the auth file; throws if <state dir>/tls already holds a CA. */
export async function createLocalSecurity(stateDir: string, clusterId: string): Promise<LocalSecurity> {
  const dir = `${stateDir}/tls`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const security: LocalSecurity = {
    dir,
    caFile: `${dir}/ca.crt`,
    authFile: `${dir}/auth.json`,
    tokens: { admin: randomToken(), readWrite: randomToken(), readOnly: randomToken() },
  };
  try {
    await Deno.stat(security.caFile);
    throw new Error(`${security.caFile} exists already: remove ${dir} or the whole state directory first`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const { pem } = await ClusterCa.create(clusterId);
  await Deno.writeTextFile(security.caFile, pem.cert);
  await writePrivate(`${dir}/ca.key`, pem.key);
  const { admin, readWrite, readOnly } = security.tokens;
  await writePrivate(
    security.authFile,
    JSON.stringify(
      {
        tokens: [
          { name: "local-admin", token: admin, role: "admin" },
          { name: "local-client", token: readWrite, role: "read-write" },
          { name: "local-reader", token: readOnly, role: "read-only" },
        ],
      },
      null,
      2,
    ) + "\n",
  );
  return security;
}

export interface NodeTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Where node `nodeId`'s certificate files are (see ensureNodeCertificate). */
export function nodeTlsFiles(security: LocalSecurity, nodeId: number): NodeTlsFiles {
  return {
    certFile: `${security.dir}/node-${nodeId}.crt`,
    keyFile: `${security.dir}/node-${nodeId}.key`,
    caFile: security.caFile,
  };
}

/** Node `nodeId`'s certificate files, issued by the local CA the first time they are asked for. */
export async function ensureNodeCertificate(
  security: LocalSecurity,
  clusterId: string,
  nodeId: number,
): Promise<NodeTlsFiles> {
  const files = nodeTlsFiles(security, nodeId);
  const exists = await Deno.stat(files.certFile).then(() => true, () => false);
  if (exists) return files;
  const ca = await ClusterCa.load({
    cert: await Deno.readTextFile(security.caFile),
    key: await Deno.readTextFile(`${security.dir}/ca.key`),
  });
  // Every name a local node is reached by: the loopback address and localhost.
  const issued = await ca.issueNode({
    nodeId,
    clusterId,
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  await writePrivate(files.keyFile, issued.key);
  await Deno.writeTextFile(files.certFile, issued.cert);
  return files;
}

/** What a client of the local cluster needs: trust in its CA, and its read-write token. */
export async function localClientAccess(
  security: LocalSecurity | undefined,
  token: keyof LocalSecurity["tokens"] = "readWrite",
): Promise<{ tls?: ClientTls; token?: string }> {
  if (!security) return {};
  return { tls: { caCerts: [await Deno.readTextFile(security.caFile)] }, token: security.tokens[token] };
}

/** A fetch client that trusts the local cluster's CA, or undefined for a plain-text cluster. */
export function localHttpClient(security: LocalSecurity | undefined): Deno.HttpClient | undefined {
  if (!security) return undefined;
  return Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(security.caFile)] });
}
