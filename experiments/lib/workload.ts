/**
 * Clients that record every call and return into a history: random get/put/delete/cas on a small
 * key set, one operation at a time per client, each HTTP request tried once. Outcomes are
 * classified the way the checker needs them: ok (with its output), fail (certainly not applied),
 * unknown (may have applied). After an unknown outcome the client takes a new identity, as a
 * Jepsen process does, because its session can no longer be trusted to be in order.
 */
import {
  CasMismatchError,
  KvClient,
  type KvClientOptions,
  NotFoundError,
  UnavailableError,
  UnknownOutcomeError,
} from "../../src/client/mod.ts";
import { HistoryRecorder } from "../../src/check/history.ts";

export interface OperationMix {
  get: number;
  put: number;
  delete: number;
  cas: number;
}

export interface WorkloadOptions {
  keys: number;
  /** Each client sends to one node (round robin over these), which forwards writes to the leader. */
  endpoints: () => string[];
  requestTimeoutMs: number;
  /** Operation mix, for every client or per client index; weights need not sum to 1. */
  mix?: OperationMix | ((client: number) => OperationMix);
  /** Fixed node per client (for the bug experiments); default: client i uses endpoints()[i % n]. */
  pin?: (client: number) => string;
  /** A cluster with TLS and client tokens: the CA to trust and the token to send. */
  access?: Pick<KvClientOptions, "tls" | "token" | "fetch">;
}

const DEFAULT_MIX: OperationMix = { get: 0.4, put: 0.35, delete: 0.08, cas: 0.17 };

/** One acknowledged operation, with what the server said about it: what the verdicts are explained from. */
export interface Acknowledged {
  client: string;
  /** The node the client sent it to. */
  endpoint: string;
  op: "get" | "put" | "delete" | "cas";
  key: string;
  /** put/cas: the value written; get: the value read ("" for a missing key). */
  value: string;
  /** The log index a write was committed at. */
  index?: number;
  /** performance.now() at the call and at the answer. */
  call: number;
  ret: number;
}

export class RecordedWorkload {
  readonly counts = { ok: 0, fail: 0, unknown: 0 };
  readonly acknowledged: Acknowledged[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly lastSeen = new Map<string, string>();

  constructor(readonly recorder: HistoryRecorder, private readonly options: WorkloadOptions) {}

  /** What stopped a client early (rethrown by stop(), never left as an unhandled rejection). */
  private failure: unknown;

  start(clients: number): void {
    this.running = true;
    for (let i = 0; i < clients; i++) {
      // Caught here: a worker's rejection would otherwise surface as an unhandled promise rejection,
      // which ends the whole test module before its clean-up runs.
      this.workers.push(
        this.worker(i).catch((e) => {
          this.failure ??= e;
        }),
      );
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
  }

  private client(endpoint: string, identity: string): KvClient {
    return new KvClient({
      endpoints: [endpoint],
      oneAttempt: true,
      clientId: identity,
      retry: { requestTimeoutMs: this.options.requestTimeoutMs },
      ...this.options.access,
    });
  }

  private ack(a: Omit<Acknowledged, "ret">): void {
    this.acknowledged.push({ ...a, ret: performance.now() });
  }

  private async worker(i: number): Promise<void> {
    let generation = 0;
    let identity = `c${i}`;
    let endpoint = await this.endpointFor(i);
    if (endpoint === undefined) return;
    let kv = this.client(endpoint, identity);
    let n = 0;
    while (this.running) {
      const outcome = await this.operate(kv, identity, n++, this.mixFor(i), endpoint);
      if (outcome === "unknown") {
        await kv.close();
        identity = `c${i}.${++generation}`;
        const next = await this.endpointFor(i);
        if (next === undefined) return;
        endpoint = next;
        kv = this.client(endpoint, identity);
      }
      if (outcome !== "ok") await new Promise((r) => setTimeout(r, 20));
    }
    await kv.close();
  }

  private mixFor(i: number): OperationMix {
    const mix = this.options.mix ?? DEFAULT_MIX;
    return typeof mix === "function" ? mix(i) : mix;
  }

  /**
   * The node client i sends to; while the endpoint list is empty (no member known yet), waits for one.
   * Undefined once the workload is stopped while waiting.
   */
  private async endpointFor(i: number): Promise<string | undefined> {
    if (this.options.pin) return this.options.pin(i);
    while (this.running) {
      const all = this.options.endpoints();
      if (all.length) return all[i % all.length];
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  /** One recorded operation. */
  async operate(
    kv: KvClient,
    identity: string,
    n: number,
    mix: OperationMix = DEFAULT_MIX,
    endpoint = "",
  ): Promise<"ok" | "fail" | "unknown"> {
    const key = `k${Math.floor(Math.random() * this.options.keys)}`;
    const total = mix.get + mix.put + mix.delete + mix.cas;
    let r = Math.random() * total;
    const op = (r -= mix.get) < 0
      ? "get"
      : (r -= mix.put) < 0
      ? "put"
      : (r -= mix.delete) < 0
      ? "delete"
      : "cas";
    const value = `${identity}-${n}`;
    const rec = this.recorder;
    const call = performance.now();
    if (op === "get") {
      const id = rec.call(identity, "get", key);
      try {
        const got = await kv.get(key);
        this.lastSeen.set(key, got.value);
        rec.ok(id, got.value);
        this.ack({ client: identity, endpoint, op, key, value: got.value, call });
      } catch (e) {
        if (e instanceof NotFoundError) {
          rec.ok(id, "");
          this.ack({ client: identity, endpoint, op, key, value: "", call });
        } else {
          rec.fail(id); // a read changes nothing: whatever happened, it constrains nothing
          this.counts.fail++;
          return "fail";
        }
      }
      this.counts.ok++;
      return "ok";
    }
    const prev = op === "cas" ? this.lastSeen.get(key) ?? `never-${n}` : undefined;
    const id = op === "put"
      ? rec.call(identity, "put", key, value)
      : op === "delete"
      ? rec.call(identity, "delete", key)
      : rec.call(identity, "cas", key, value, prev);
    try {
      let index: number | undefined;
      if (op === "put") index = (await kv.put(key, value)).index;
      else if (op === "delete") await kv.delete(key);
      else index = (await kv.put(key, value, { prevValue: prev })).index;
      rec.ok(id, op === "cas" ? true : undefined);
      this.ack({ client: identity, endpoint, op, key, value: op === "delete" ? "" : value, index, call });
      this.counts.ok++;
      return "ok";
    } catch (e) {
      if (e instanceof CasMismatchError) {
        rec.ok(id, false);
        this.counts.ok++;
        return "ok";
      }
      if (e instanceof NotFoundError && op === "delete") {
        rec.ok(id);
        this.counts.ok++;
        return "ok";
      }
      if (e instanceof UnavailableError) {
        rec.fail(id);
        this.counts.fail++;
        return "fail";
      }
      if (!(e instanceof UnknownOutcomeError)) {
        console.error(`  unexpected error from ${op} ${key}: ${(e as Error).message}`);
      }
      rec.unknown(id);
      this.counts.unknown++;
      return "unknown";
    }
  }

  /** After the run: one read of every key through a fresh client, to pin down the final state. */
  async finalReads(endpoints: string[]): Promise<void> {
    const kv = new KvClient({ endpoints, clientId: "final-reader", ...this.options.access });
    for (let k = 0; k < this.options.keys; k++) {
      const key = `k${k}`;
      const id = this.recorder.call("final-reader", "get", key);
      try {
        this.recorder.ok(id, (await kv.get(key)).value);
      } catch (e) {
        if (e instanceof NotFoundError) this.recorder.ok(id, "");
        else this.recorder.fail(id);
      }
    }
    await kv.close();
  }
}
