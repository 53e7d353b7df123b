/**
 * Secrets of one localkube instance, made fresh at start-up with WebCrypto (no openssl needed):
 * bearer tokens for each component and the service-account token signing key pair.
 */

/** 32 random bytes, hex: a bearer token for the apiserver's `--token-auth-file`. */
export function randomToken(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** An ECDSA P-256 key pair as PEM (PKCS#8 private, SPKI public): the apiserver signs ES256 service-account tokens. */
export async function serviceAccountKeyPair(): Promise<{ privatePem: string; publicPem: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  return {
    privatePem: pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    publicPem: pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", pair.publicKey)),
  };
}

function pem(label: string, der: ArrayBuffer): string {
  const base64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export interface TokenUser {
  token: string;
  user: string;
  groups: string[];
}

/** The `--token-auth-file` format: `token,user,uid,"group1,group2"`. */
export function tokenAuthFile(users: TokenUser[]): string {
  return users.map((u) => `${u.token},${u.user},${u.user},"${u.groups.join(",")}"`).join("\n") + "\n";
}
