/**
 * The RaftCluster's spec as a user writes it (the seed's field names: storageSize, snapshotInterval,
 * electionTimeoutMs, reconfig.rateLimit, reconfig.maxParallel), resolved into what the operator acts
 * on, with every default filled in. The CRD schema (crd.ts) refuses most bad values at `kubectl apply`;
 * resolveSpec refuses the rest (and anything written before the schema existed) with a message naming
 * the field and the fix. Earlier names (`storage.size`) are accepted as aliases.
 */
import { SAFETY_MODES, type SafetyMode } from "../../raft/mod.ts";

export { SAFETY_MODES };
export const MIN_REPLICAS = 1;
export const MAX_REPLICAS = 9;
/** A rate limit allows at most this many starts per period (status keeps that many start times). */
export const MAX_RATE_COUNT = 10;
export const MIN_ELECTION_TIMEOUT_MS = 100;
export const MAX_ELECTION_TIMEOUT_MS = 60_000;
/** The server's default tick, to check an election timeout against when spec.tickMs is absent. */
export const SERVER_DEFAULT_TICK_MS = 50;
/** The server needs an election timeout of at least this many ticks. */
export const MIN_ELECTION_TICKS = 3;
export const MIN_SNAPSHOT_INTERVAL_MS = 1_000;

export const QUANTITY_PATTERN = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$";
export const DURATION_PATTERN = "^([0-9]+(ms|s|m|h))+$";
export const RATE_LIMIT_PATTERN = "^[0-9]+/([0-9]*(ms|s|m|h)|sec|second|min|minute|hour)$";

export type PullPolicy = "Always" | "IfNotPresent" | "Never";
export const PULL_POLICIES: readonly PullPolicy[] = ["Always", "IfNotPresent", "Never"];

export interface ResourceList {
  cpu?: string;
  memory?: string;
}
export interface Resources {
  requests?: ResourceList;
  limits?: ResourceList;
}

/** What a user writes. */
export interface RaftClusterSpec {
  replicas: number;
  image?: string;
  imagePullPolicy?: PullPolicy;
  storageSize?: string;
  /** How often each server also snapshots on a timer, e.g. "30s"; "0s" turns the timer off. */
  snapshotInterval?: string;
  electionTimeoutMs?: number;
  safetyMode?: SafetyMode;
  reconfig?: { rateLimit?: string; maxParallel?: number };
  resources?: Resources;
  /** Raft tick in ms (the server's default if absent). */
  tickMs?: number;
  /**
   * Starts the servers with --fault-injection: their admin fault endpoints take partitions, delays and
   * losses (deno task fault --kube, deno task experiment --kube). Experiments and tests only.
   */
  faultInjection?: boolean;
  /** The old name of storageSize. */
  storage?: { size?: string };
  /** TLS on every port (see docs/security.md); fixed after creation, except `rotate`. */
  tls?: TlsSpec;
  /** Client tokens with roles: the operator writes them (see README, spec.auth). */
  auth?: { enabled?: boolean };
}

export interface IssuerRef {
  name: string;
  kind?: string;
  group?: string;
}

export interface TlsSpec {
  enabled?: boolean;
  /** A cert-manager issuer; absent: the operator keeps the cluster CA in a Secret. */
  issuerRef?: IssuerRef;
  /** Raise it to rotate the cluster CA and every member certificate without downtime. */
  rotate?: number;
}

/** spec.tls resolved: present only when TLS is on. */
export interface ResolvedTls {
  issuerRef?: { name: string; kind: string; group: string };
  /** The CA rotation asked for (0: none yet). */
  rotate: number;
}

export interface RateLimit {
  /** As written, for messages. */
  text: string;
  count: number;
  periodMs: number;
}

/** The spec with every default filled in. */
export interface ResolvedSpec {
  replicas: number;
  safetyMode: SafetyMode;
  image: string;
  imagePullPolicy: PullPolicy;
  storageSize: string;
  /** 0: no timed snapshots. */
  snapshotIntervalMs: number;
  /** Absent: the server's own default. */
  electionTimeoutMs?: number;
  tickMs?: number;
  /** Experiments and tests only: the servers run with --fault-injection. */
  faultInjection: boolean;
  reconfig: { maxParallel: number; rateLimit?: RateLimit };
  resources: { requests: ResourceList; limits: ResourceList };
  /** Absent: plain text. */
  tls?: ResolvedTls;
  /** Client authentication with operator-written tokens. */
  auth: boolean;
}

export const SPEC_DEFAULTS = {
  safetyMode: "safe",
  image: "raft-kv:latest",
  imagePullPolicy: "IfNotPresent",
  storageSize: "1Gi",
  snapshotInterval: "0s",
  maxParallel: 1,
  // Requests small enough for a laptop cluster; a memory limit (the state machine lives in memory),
  // no CPU limit: CFS throttling stalls heartbeats and causes needless elections.
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
} as const;

export class SpecError extends Error {
  override name = "SpecError";
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WORD_MS: Record<string, number> = {
  sec: 1_000,
  second: 1_000,
  min: 60_000,
  minute: 60_000,
  hour: 3_600_000,
};

/** "30s", "5m", "1h30m", "250ms" -> milliseconds; undefined if it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  if (!new RegExp(DURATION_PATTERN).test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(n) * UNIT_MS[unit];
  return total;
}

/** "1/min", "2/5m", "1/30s" -> at most `count` starts per `periodMs`; undefined if malformed. */
export function parseRateLimit(text: string): RateLimit | undefined {
  if (!new RegExp(RATE_LIMIT_PATTERN).test(text)) return undefined;
  const [countText, periodText] = text.split("/");
  const count = Number(countText);
  const periodMs = WORD_MS[periodText] ??
    parseDuration(/^[0-9]/.test(periodText) ? periodText : `1${periodText}`);
  if (!Number.isSafeInteger(count) || count < 1 || !periodMs) return undefined;
  return { text, count, periodMs };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function resourceList(field: string, value: unknown, fallback: ResourceList): ResourceList {
  if (value === undefined) return { ...fallback };
  if (!isObject(value)) {
    throw new SpecError(`${field} must be an object such as {cpu: "100m", memory: "128Mi"}`);
  }
  const out: ResourceList = {};
  for (const [key, quantity] of Object.entries(value)) {
    if (key !== "cpu" && key !== "memory") {
      throw new SpecError(`${field}.${key}: only cpu and memory are set here`);
    }
    if (typeof quantity !== "string" || !new RegExp(QUANTITY_PATTERN).test(quantity)) {
      throw new SpecError(
        `${field}.${key} must be a quantity such as "250m" or "256Mi", got ${JSON.stringify(quantity)}`,
      );
    }
    out[key] = quantity;
  }
  return out;
}

/**
 * Fills in the defaults and refuses what cannot work, naming the field and the fix. Every message is
 * also what the InvalidSpec condition and Event say.
 */
export function resolveSpec(spec: Record<string, unknown> | undefined): ResolvedSpec {
  const s = (spec ?? {}) as Partial<Record<keyof RaftClusterSpec, unknown>>;
  const replicas = s.replicas;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < MIN_REPLICAS) {
    throw new SpecError(
      `spec.replicas must be an integer from ${MIN_REPLICAS} to ${MAX_REPLICAS}, got ${replicas}`,
    );
  }
  if (replicas > MAX_REPLICAS) {
    throw new SpecError(`spec.replicas must be at most ${MAX_REPLICAS}, got ${replicas}`);
  }
  const safetyMode = s.safetyMode ?? SPEC_DEFAULTS.safetyMode;
  if (!SAFETY_MODES.includes(safetyMode as SafetyMode)) {
    throw new SpecError(`spec.safetyMode must be one of ${SAFETY_MODES.join(", ")}, got "${safetyMode}"`);
  }
  const image = s.image ?? SPEC_DEFAULTS.image;
  if (typeof image !== "string" || image.trim() === "") {
    throw new SpecError('spec.image must name an image, such as "localhost:5000/raft-kv:latest"');
  }
  const imagePullPolicy = s.imagePullPolicy ?? SPEC_DEFAULTS.imagePullPolicy;
  if (!PULL_POLICIES.includes(imagePullPolicy as PullPolicy)) {
    throw new SpecError(
      `spec.imagePullPolicy must be one of ${PULL_POLICIES.join(", ")}, got "${imagePullPolicy}"`,
    );
  }

  const legacySize = isObject(s.storage) ? s.storage.size : undefined;
  if (s.storageSize !== undefined && legacySize !== undefined && s.storageSize !== legacySize) {
    throw new SpecError(
      `spec.storageSize (${s.storageSize}) and its old name spec.storage.size (${legacySize}) disagree: keep storageSize only`,
    );
  }
  const storageSize = s.storageSize ?? legacySize ?? SPEC_DEFAULTS.storageSize;
  if (typeof storageSize !== "string" || !new RegExp(QUANTITY_PATTERN).test(storageSize)) {
    throw new SpecError(
      `spec.storageSize must be a quantity such as "1Gi" or "500Mi", got ${JSON.stringify(storageSize)}`,
    );
  }

  const tickMs = s.tickMs;
  if (tickMs !== undefined && (typeof tickMs !== "number" || !Number.isInteger(tickMs) || tickMs < 1)) {
    throw new SpecError(`spec.tickMs must be a positive integer (milliseconds), got ${tickMs}`);
  }
  const electionTimeoutMs = s.electionTimeoutMs;
  if (electionTimeoutMs !== undefined) {
    if (
      typeof electionTimeoutMs !== "number" || !Number.isInteger(electionTimeoutMs) ||
      electionTimeoutMs < MIN_ELECTION_TIMEOUT_MS || electionTimeoutMs > MAX_ELECTION_TIMEOUT_MS
    ) {
      throw new SpecError(
        `spec.electionTimeoutMs must be an integer from ${MIN_ELECTION_TIMEOUT_MS} to ${MAX_ELECTION_TIMEOUT_MS} (milliseconds), got ${electionTimeoutMs}`,
      );
    }
    const tick = (tickMs as number | undefined) ?? SERVER_DEFAULT_TICK_MS;
    if (Math.round(electionTimeoutMs / tick) < MIN_ELECTION_TICKS) {
      throw new SpecError(
        `spec.electionTimeoutMs ${electionTimeoutMs} is less than ${MIN_ELECTION_TICKS} ticks of ${tick} ms: ` +
          `raise it to at least ${MIN_ELECTION_TICKS * tick}, or lower spec.tickMs`,
      );
    }
  }

  const faultInjection = s.faultInjection ?? false;
  if (typeof faultInjection !== "boolean") {
    throw new SpecError(
      `spec.faultInjection must be true or false (true: experiments and tests only), got ${
        JSON.stringify(faultInjection)
      }`,
    );
  }

  const snapshotText = s.snapshotInterval ?? SPEC_DEFAULTS.snapshotInterval;
  const snapshotIntervalMs = typeof snapshotText === "string" ? parseDuration(snapshotText) : undefined;
  if (snapshotIntervalMs === undefined) {
    throw new SpecError(
      `spec.snapshotInterval must be a duration such as "30s", "5m" or "1h" ("0s": no timed snapshots), got ${
        JSON.stringify(snapshotText)
      }`,
    );
  }
  if (snapshotIntervalMs > 0 && snapshotIntervalMs < MIN_SNAPSHOT_INTERVAL_MS) {
    throw new SpecError(
      `spec.snapshotInterval must be at least 1s (or "0s" for none), got "${snapshotText}"`,
    );
  }

  if (s.reconfig !== undefined && !isObject(s.reconfig)) {
    throw new SpecError('spec.reconfig must be an object such as {rateLimit: "1/min", maxParallel: 1}');
  }
  const reconfig = (s.reconfig ?? {}) as Record<string, unknown>;
  const maxParallel = reconfig.maxParallel ?? SPEC_DEFAULTS.maxParallel;
  if (
    typeof maxParallel !== "number" || !Number.isInteger(maxParallel) || maxParallel < 1 ||
    maxParallel > MAX_REPLICAS
  ) {
    throw new SpecError(
      `spec.reconfig.maxParallel must be an integer from 1 to ${MAX_REPLICAS} (members added or removed per membership change), got ${maxParallel}`,
    );
  }
  let rateLimit: RateLimit | undefined;
  if (reconfig.rateLimit !== undefined) {
    rateLimit = typeof reconfig.rateLimit === "string" ? parseRateLimit(reconfig.rateLimit) : undefined;
    if (!rateLimit) {
      throw new SpecError(
        `spec.reconfig.rateLimit must read COUNT/PERIOD such as "1/min", "2/hour" or "1/30s", got ${
          JSON.stringify(reconfig.rateLimit)
        }`,
      );
    }
    if (rateLimit.count > MAX_RATE_COUNT) {
      throw new SpecError(
        `spec.reconfig.rateLimit allows at most ${MAX_RATE_COUNT} changes per period, got ${rateLimit.count}`,
      );
    }
  }

  if (s.resources !== undefined && !isObject(s.resources)) {
    throw new SpecError(
      'spec.resources must be an object with requests and limits, such as {requests: {cpu: "100m"}}',
    );
  }
  const resources = (s.resources ?? {}) as Record<string, unknown>;
  const tls = resolveTls(s.tls);
  const auth = resolveAuth(s.auth);
  if (auth && !tls) {
    throw new SpecError(
      "spec.auth needs spec.tls.enabled: true: without TLS the tokens would travel in clear text",
    );
  }

  return {
    replicas,
    safetyMode: safetyMode as SafetyMode,
    image,
    imagePullPolicy: imagePullPolicy as PullPolicy,
    storageSize,
    snapshotIntervalMs,
    ...(electionTimeoutMs === undefined ? {} : { electionTimeoutMs: electionTimeoutMs as number }),
    ...(tickMs === undefined ? {} : { tickMs: tickMs as number }),
    faultInjection,
    reconfig: { maxParallel, ...(rateLimit ? { rateLimit } : {}) },
    resources: {
      requests: resourceList("spec.resources.requests", resources.requests, SPEC_DEFAULTS.resources.requests),
      limits: resourceList("spec.resources.limits", resources.limits, SPEC_DEFAULTS.resources.limits),
    },
    ...(tls ? { tls } : {}),
    auth,
  };
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
export const ISSUER_KINDS = ["Issuer", "ClusterIssuer"] as const;

function resolveTls(value: unknown): ResolvedTls | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    throw new SpecError(
      "spec.tls must be an object such as {enabled: true} or {enabled: true, issuerRef: {name: my-issuer}}",
    );
  }
  for (const key of Object.keys(value)) {
    if (!["enabled", "issuerRef", "rotate"].includes(key)) {
      throw new SpecError(`spec.tls.${key} is not a field: spec.tls takes enabled, issuerRef and rotate`);
    }
  }
  const enabled = value.enabled ?? false;
  if (typeof enabled !== "boolean") {
    throw new SpecError(`spec.tls.enabled must be true or false, got ${JSON.stringify(enabled)}`);
  }
  const rotate = value.rotate ?? 0;
  if (typeof rotate !== "number" || !Number.isSafeInteger(rotate) || rotate < 0) {
    throw new SpecError(
      `spec.tls.rotate must be a whole number >= 0 (raise it by one to rotate the CA), got ${
        JSON.stringify(rotate)
      }`,
    );
  }
  let issuerRef: ResolvedTls["issuerRef"];
  if (value.issuerRef !== undefined) {
    const ref = value.issuerRef;
    if (!isObject(ref) || typeof ref.name !== "string" || !K8S_NAME.test(ref.name)) {
      throw new SpecError(
        `spec.tls.issuerRef must name a cert-manager issuer, such as {name: my-ca, kind: ClusterIssuer}, got ${
          JSON.stringify(ref)
        }`,
      );
    }
    const kind = ref.kind ?? "Issuer";
    if (!ISSUER_KINDS.includes(kind as typeof ISSUER_KINDS[number])) {
      throw new SpecError(
        `spec.tls.issuerRef.kind must be Issuer or ClusterIssuer, got ${JSON.stringify(kind)}`,
      );
    }
    const group = ref.group ?? "cert-manager.io";
    if (typeof group !== "string" || group === "") {
      throw new SpecError(`spec.tls.issuerRef.group must be an API group such as cert-manager.io`);
    }
    if (rotate > 0) {
      throw new SpecError(
        "spec.tls.rotate rotates the operator's own CA: with spec.tls.issuerRef the issuer owns the CA (rotate it there)",
      );
    }
    issuerRef = { name: ref.name, kind: kind as string, group };
  }
  if (!enabled) {
    if (issuerRef || rotate > 0) {
      throw new SpecError("spec.tls.issuerRef and spec.tls.rotate need spec.tls.enabled: true");
    }
    return undefined;
  }
  return { rotate, ...(issuerRef ? { issuerRef } : {}) };
}

function resolveAuth(value: unknown): boolean {
  if (value === undefined) return false;
  if (!isObject(value)) throw new SpecError("spec.auth must be an object such as {enabled: true}");
  for (const key of Object.keys(value)) {
    if (key !== "enabled") throw new SpecError(`spec.auth.${key} is not a field: spec.auth takes enabled`);
  }
  const enabled = value.enabled ?? false;
  if (typeof enabled !== "boolean") {
    throw new SpecError(`spec.auth.enabled must be true or false, got ${JSON.stringify(enabled)}`);
  }
  return enabled;
}
