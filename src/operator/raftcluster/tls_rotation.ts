/**
 * The CA rotation without downtime (pure), started by raising spec.tls.rotate:
 *
 *   Stable --rotate raised--> TrustNew: a new CA is made; the members' trust bundle holds the old
 *     and the new CA; members are restarted one by one (the rolling-upgrade path, leader last).
 *   TrustNew --every member restarted--> Reissue: each member gets a certificate of the new CA for
 *     its own key (POST /admin/tls/certificate); then the certificate generation is raised, which
 *     restarts the members one by one again, now presenting the new certificates.
 *   Reissue --every member restarted--> DropOld: the new CA becomes the only one; members restarted
 *     once more to drop the old CA from their bundle.
 *   DropOld --every member restarted--> Stable.
 *
 * At each moment every pair of members trusts each other: a member only presents a new certificate
 * once all trust the new CA, and the old CA is dropped only once no member presents an old one.
 */
import type { TlsStatus } from "./types.ts";

export type RotationAction =
  | { kind: "none" }
  | { kind: "wait"; message: string }
  /** Make the new CA and put it in the trust bundle next to the old one. */
  | { kind: "createNextCa" }
  /** Give these members a certificate of the new CA. */
  | { kind: "reissue"; ids: number[] }
  /** The new CA replaces the old one. */
  | { kind: "dropOldCa" };

export interface RotationInput {
  /** spec.tls.rotate. */
  asked: number;
  status: TlsStatus;
  /** The members' node ids. */
  members: number[];
  /** Every member runs the StatefulSet's current template, and is back and ready. */
  rolled: boolean;
  now: Date;
}

/** A new cluster starts at the rotation its spec asks for: there is nothing to rotate yet. */
export function initialTlsStatus(asked: number): TlsStatus {
  return { rotation: asked, phase: "Stable", certificates: 0 };
}

export function planRotation(input: RotationInput): { status: TlsStatus; action: RotationAction } {
  const s = input.status;
  const target = s.rotation + 1;
  switch (s.phase) {
    case "Stable": {
      if (input.asked <= s.rotation) return { status: s, action: { kind: "none" } };
      return {
        status: {
          ...s,
          phase: "TrustNew",
          startedAt: input.now.toISOString(),
          message:
            `rotation ${target}: a new CA; members restarted one by one to trust it next to the old one`,
        },
        action: { kind: "createNextCa" },
      };
    }
    case "TrustNew":
      if (!input.rolled) return { status: s, action: { kind: "wait", message: s.message ?? "" } };
      return {
        status: {
          ...s,
          phase: "Reissue",
          reissued: [],
          message: `rotation ${target}: every member trusts the new CA; issuing member certificates from it`,
        },
        action: { kind: "none" },
      };
    case "Reissue": {
      const done = new Set(s.reissued ?? []);
      const missing = input.members.filter((id) => !done.has(id));
      if (missing.length) return { status: s, action: { kind: "reissue", ids: missing } };
      if (s.certificates < target) {
        return {
          status: {
            ...s,
            certificates: target,
            message: `rotation ${target}: members restarted one by one with their new certificates`,
          },
          action: { kind: "none" },
        };
      }
      if (!input.rolled) return { status: s, action: { kind: "wait", message: s.message ?? "" } };
      return {
        status: {
          ...s,
          phase: "DropOld",
          message: `rotation ${target}: every member presents a new certificate; dropping the old CA`,
        },
        action: { kind: "dropOldCa" },
      };
    }
    case "DropOld": {
      if (!input.rolled) return { status: s, action: { kind: "wait", message: s.message ?? "" } };
      const { reissued: _r, startedAt: _s, ...rest } = s;
      return {
        status: { ...rest, rotation: target, phase: "Stable", message: `rotation ${target} done` },
        action: { kind: "none" },
      };
    }
  }
}

/** Records a member that got its new certificate. */
export function withReissued(status: TlsStatus, id: number): TlsStatus {
  return { ...status, reissued: [...new Set([...(status.reissued ?? []), id])].sort((a, b) => a - b) };
}
