/**
 * Who may do what: client tokens from the --auth-file, and client certificates whose subject
 * carries a role (`OU=<role>`, signed by the cluster CA). A principal may be limited to the keys
 * under one prefix.
 *
 * The auth file (JSON):
 *   { "tokens": [
 *       { "name": "reader", "token": "…", "role": "read-only", "prefix": "app/" },
 *       { "name": "ci", "sha256": "<hex of SHA-256 of the token>", "role": "read-write" } ] }
 * Give `sha256` instead of `token` to keep the secret itself out of the file.
 */
import { createHash } from "node:crypto";
import { isRole, type Role, roleAllows, ROLES } from "./roles.ts";
import { nodeIdFromSubject } from "./certificate_subject.ts";
import type { CertificateSubject } from "./certificate_subject.ts";

export interface Principal {
  name: string;
  role: Role;
  /** Only keys that start with it; every key when absent. */
  prefix?: string;
  /** How it proved who it is, for messages. */
  via: "token" | "certificate";
}

export class AuthFileError extends Error {
  override name = "AuthFileError";
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export class AuthPolicy {
  readonly #byDigest: Map<string, Principal>;

  private constructor(byDigest: Map<string, Principal>) {
    this.#byDigest = byDigest;
  }

  get tokenCount(): number {
    return this.#byDigest.size;
  }

  /** Parses the auth file's text; throws AuthFileError naming the entry and the fix. */
  static parse(text: string, source = "the auth file"): AuthPolicy {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new AuthFileError(`${source} is not JSON: ${(error as Error).message}`);
    }
    const tokens = (document as { tokens?: unknown })?.tokens;
    if (!Array.isArray(tokens)) throw new AuthFileError(`${source} must be {"tokens": [...]}`);
    const byDigest = new Map<string, Principal>();
    const names = new Set<string>();
    tokens.forEach((entry: Record<string, unknown>, index) => {
      const where = `${source}, tokens[${index}]`;
      if (typeof entry !== "object" || entry === null) throw new AuthFileError(`${where} must be an object`);
      const { name, token, sha256, role, prefix } = entry;
      if (typeof name !== "string" || name === "") {
        throw new AuthFileError(`${where}: "name" must be a non-empty string`);
      }
      if (names.has(name)) throw new AuthFileError(`${where}: the name "${name}" is used twice`);
      names.add(name);
      if (!isRole(role)) {
        throw new AuthFileError(`${where} (${name}): "role" must be one of ${ROLES.join(", ")}`);
      }
      if (prefix !== undefined && typeof prefix !== "string") {
        throw new AuthFileError(`${where} (${name}): "prefix" must be a string`);
      }
      let digest: string;
      if (typeof token === "string" && sha256 === undefined) {
        if (token.length < 16) {
          throw new AuthFileError(`${where} (${name}): a token must have at least 16 characters`);
        }
        digest = sha256Hex(token);
      } else if (typeof sha256 === "string" && token === undefined && /^[0-9a-f]{64}$/.test(sha256)) {
        digest = sha256;
      } else {
        throw new AuthFileError(
          `${where} (${name}): give either "token" or "sha256" (64 lowercase hex digits)`,
        );
      }
      if (byDigest.has(digest)) throw new AuthFileError(`${where} (${name}): the same token is listed twice`);
      byDigest.set(digest, { name, role, prefix: prefix || undefined, via: "token" });
    });
    return new AuthPolicy(byDigest);
  }

  static async load(path: string): Promise<AuthPolicy> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new AuthFileError(`--auth-file ${path}: ${(error as Error).message}`);
    }
    return AuthPolicy.parse(text, `--auth-file ${path}`);
  }

  /** The principal of a bearer token, or undefined for an unknown one. */
  byToken(token: string): Principal | undefined {
    // Looked up by digest: the time taken does not depend on how much of a guess was right.
    return this.#byDigest.get(sha256Hex(token));
  }
}

/**
 * The principal of a verified client certificate: `OU=<role>` for clients, and every member's
 * node certificate is admin (a member already holds the peer credentials).
 */
export function principalOfCertificate(subject: CertificateSubject): Principal | undefined {
  if (nodeIdFromSubject(subject) !== undefined) {
    return { name: subject.CN!, role: "admin", via: "certificate" };
  }
  if (isRole(subject.OU) && subject.CN) return { name: subject.CN, role: subject.OU, via: "certificate" };
  return undefined;
}

/** Why `principal` may not do `needed` (on `key`), or undefined when it may. */
export function refusal(principal: Principal, needed: Role, key?: string): string | undefined {
  const who = `"${principal.name}" (${principal.role}${
    principal.prefix ? `, keys under "${principal.prefix}"` : ""
  })`;
  if (!roleAllows(principal.role, needed)) {
    return `${who} may not ${
      needed === "read-only" ? "read" : needed === "read-write" ? "write" : "administer"
    }`;
  }
  // Endpoints without a key (status, metrics) need only the role.
  if (principal.prefix !== undefined && key !== undefined && !key.startsWith(principal.prefix)) {
    return `${who} may not use key "${key}"`;
  }
  return undefined;
}
