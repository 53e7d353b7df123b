/** What a client may do. Each role includes the ones before it. */
export const ROLES = ["read-only", "read-write", "admin"] as const;
export type Role = typeof ROLES[number];

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** True when `held` allows at least what `needed` allows. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}
