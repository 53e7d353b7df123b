/** Reads a node's TLS material (its certificate and key, the CA bundle) and checks it fits. */

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Every CA trusted: during a CA rotation both the old and the new one. */
  ca: string[];
}

export interface TlsPaths {
  certFile: string;
  keyFile: string;
  caFile: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into its certificates (a CA file may hold the old and the new CA). */
export function splitPemBundle(text: string): string[] {
  return [...text.matchAll(PEM_CERTIFICATE)].map((m) => `${m[0]}\n`);
}

async function readFile(what: string, flag: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`${flag} ${path}: cannot read the ${what}: ${(error as Error).message}`);
  }
}

/** Throws with the file and the fix when a file is missing, empty or not PEM. */
export async function loadTlsMaterial(paths: TlsPaths): Promise<TlsMaterial> {
  const cert = await readFile("certificate", "--tls-cert", paths.certFile);
  const key = await readFile("private key", "--tls-key", paths.keyFile);
  const caText = await readFile("CA bundle", "--tls-ca", paths.caFile);
  const ca = splitPemBundle(caText);
  if (ca.length === 0) throw new Error(`--tls-ca ${paths.caFile}: no PEM certificate in it`);
  if (splitPemBundle(cert).length === 0) {
    throw new Error(`--tls-cert ${paths.certFile}: no PEM certificate in it`);
  }
  if (!/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(key)) {
    throw new Error(`--tls-key ${paths.keyFile}: no PEM private key in it`);
  }
  try {
    // Loaded here, not at the top: a node without TLS never needs the X.509 library.
    const { describeCertificate } = await import("./certificates.ts");
    describeCertificate(cert);
  } catch (error) {
    throw new Error(`--tls-cert ${paths.certFile}: not a readable certificate: ${(error as Error).message}`);
  }
  return { cert, key, ca };
}
