/**
 * The raft-kv client library: put, get, delete and status against a cluster, with leader
 * preference, failover, bounded retries and exactly-once writes (client id + sequence number, the
 * same number on every retry of one write; one write in flight per client).
 */
import {
  type Answer,
  type CallPlan,
  ClusterConnection,
  type ConnectionOptions,
  type NodeTarget,
  unexpectedAnswer,
} from "./cluster_connection.ts";
import {
  CasMismatchError,
  KvError,
  NotFoundError,
  type SentWrite,
  type UnknownOutcomeError,
} from "./errors.ts";
import { checkKey, checkValue } from "./key_check.ts";
import type { ClusterStatus } from "./wire_types.ts";

export interface KvClientOptions extends ConnectionOptions {
  /** Identifies this client's writes for deduplication; random by default. Never share one between clients. */
  clientId?: string;
}

export interface PutOptions {
  /** Compare-and-swap: write only if the current value is this; `null` writes only if the key is absent. */
  prevValue?: string | null;
  /** Send to this node only (it forwards to the leader): no failover. */
  node?: NodeTarget;
}

export interface GetOptions {
  /** Read the node's local copy without ReadIndex: faster, possibly stale. */
  stale?: boolean;
  node?: NodeTarget;
}

export interface DeleteOptions {
  node?: NodeTarget;
}

/**
 * Who served an answer: `node` from `X-Raft-Node`, `leader` from `X-Raft-Leader` (0 = none known),
 * `forwardedBy` from `X-Raft-Forwarded-By` when a follower passed the request on to `node`.
 */
export interface ServedBy {
  node?: number;
  leader?: number;
  forwardedBy?: number;
}

export interface PutResult extends ServedBy {
  key: string;
  value: string;
  index: number;
}

export interface GetResult extends ServedBy {
  key: string;
  value: string;
  /** The serving node's applied index: the read reflects at least every write up to it. */
  index: number;
  /**
   * The log index of the write that set this value (like etcd's mod_revision); 0 when the server cannot
   * tell (a value restored from a snapshot of an older server version, or an older server).
   */
  modIndex: number;
}

export interface DeleteResult extends ServedBy {
  key: string;
  deleted: true;
  index: number;
}

export class KvClient implements AsyncDisposable {
  readonly clientId: string;
  readonly #connection: ClusterConnection;
  /** Sequence number of the latest write; the next new write takes seq + 1. */
  #seq = 0;
  /** Writes run one after another: the server deduplicates only the latest write of a client id. */
  #writeTail: Promise<void> = Promise.resolve();

  constructor(options: KvClientOptions) {
    this.clientId = options.clientId ?? crypto.randomUUID();
    if (this.clientId.length < 1 || this.clientId.length > 128) {
      throw new KvError(
        "bad_request",
        0,
        `clientId must be 1 to 128 characters, got ${this.clientId.length}`,
      );
    }
    this.#connection = new ClusterConnection(options);
  }

  /** The leader as last reported by a node (id 0 when unknown), with its URL when the member list has it. */
  get leader(): { id: number; url?: string } {
    return { id: this.#connection.book.leader, url: this.#connection.book.leaderUrl() };
  }

  /** Writes `value` under `key`. Throws CasMismatchError when `prevValue` does not match. */
  async put(key: string, value: string, options: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    checkValue(value);
    if (options.prevValue !== undefined && options.prevValue !== null) {
      checkValue(options.prevValue, "prevValue");
    }
    const pinnedUrl = await this.#resolveTarget(options.node);
    const body = options.prevValue === undefined ? { value } : { value, prevValue: options.prevValue };
    return await this.#serialWrite(() => this.#sendPut({ ...this.#nextWrite("PUT", key), body }, pinnedUrl));
  }

  /** Reads `key` (linearizable unless `stale`). Throws NotFoundError when it is absent. */
  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    checkKey(key);
    const pinnedUrl = await this.#resolveTarget(options.node);
    const answer = await this.#connection.call({
      method: "GET",
      path: keyPath(key) + (options.stale ? "?consistency=stale" : ""),
      describe: `get ${key}`,
      changesState: false,
      pinnedUrl,
    });
    const body = this.#expectOk(answer, key, `get ${key}`) as Partial<GetResult>;
    if (typeof body.value !== "string" || typeof body.index !== "number") {
      throw unexpectedAnswer(`get ${key}`, answer);
    }
    const modIndex = typeof body.modIndex === "number" ? body.modIndex : 0;
    return { key, value: body.value, index: body.index, modIndex, ...servedBy(answer) };
  }

  /** Deletes `key`. Throws NotFoundError when it was absent. */
  async delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    checkKey(key);
    const pinnedUrl = await this.#resolveTarget(options.node);
    return await this.#serialWrite(() => this.#sendDelete(this.#nextWrite("DELETE", key), pinnedUrl));
  }

  /**
   * Sends again the write an UnknownOutcomeError gave up on, with its sequence number, so that it
   * applies at most once. Only this client's latest write can be retried: the cluster remembers
   * only the latest result of each client id.
   */
  async retryUnknown(
    error: UnknownOutcomeError,
    options: { node?: NodeTarget } = {},
  ): Promise<PutResult | DeleteResult> {
    const write = error.write;
    if (write === undefined || write.clientId !== this.clientId) {
      throw new KvError(
        "bad_request",
        0,
        "retryUnknown: this error comes from another client; retry it there",
      );
    }
    const pinnedUrl = await this.#resolveTarget(options.node);
    return await this.#serialWrite<PutResult | DeleteResult>(() => {
      if (write.seq !== this.#seq) {
        throw new KvError(
          "bad_request",
          0,
          `retryUnknown: write ${write.seq} is not this client's latest write (${this.#seq}); ` +
            `only the latest write can be retried exactly once`,
        );
      }
      return write.method === "PUT" ? this.#sendPut(write, pinnedUrl) : this.#sendDelete(write, pinnedUrl);
    });
  }

  /**
   * `GET /status` of one node, or of any node (the leader when known) when no target is given.
   * A fresh node with no identity yet is a `not_initialized` KvError (AdminClient.status shows it).
   */
  async status(target?: NodeTarget): Promise<ClusterStatus> {
    const status = await this.#connection.status(await this.#resolveTarget(target));
    if (status.initialized === false) {
      throw new KvError(
        "not_initialized",
        200,
        `status: the node at ${
          status.client ?? "?"
        } has no identity yet; the operator or the local supervisor ` +
          `assigns one (POST /admin/identity)`,
      );
    }
    return status;
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #nextWrite(method: "PUT" | "DELETE", key: string): SentWrite {
    return { clientId: this.clientId, seq: ++this.#seq, method, key };
  }

  async #sendPut(write: SentWrite, pinnedUrl: string | undefined): Promise<PutResult> {
    const describe = `put ${write.key}`;
    const answer = await this.#connection.call(this.#writePlan(write, describe, pinnedUrl));
    const body = this.#expectOk(answer, write.key, describe) as Partial<PutResult>;
    if (typeof body.value !== "string" || typeof body.index !== "number") {
      throw unexpectedAnswer(describe, answer);
    }
    return { key: write.key, value: body.value, index: body.index, ...servedBy(answer) };
  }

  async #sendDelete(write: SentWrite, pinnedUrl: string | undefined): Promise<DeleteResult> {
    const describe = `delete ${write.key}`;
    const answer = await this.#connection.call(this.#writePlan(write, describe, pinnedUrl));
    const body = this.#expectOk(answer, write.key, describe) as Partial<DeleteResult>;
    if (typeof body.index !== "number") throw unexpectedAnswer(describe, answer);
    return { key: write.key, deleted: true, index: body.index, ...servedBy(answer) };
  }

  #writePlan(write: SentWrite, describe: string, pinnedUrl: string | undefined): CallPlan {
    return {
      method: write.method,
      path: keyPath(write.key),
      body: write.body,
      headers: { "x-client-id": write.clientId, "x-request-seq": String(write.seq) },
      describe,
      changesState: true,
      pinnedUrl,
      write,
    };
  }

  /** The body of a 200, or the typed error the answer stands for. */
  #expectOk(answer: Answer, key: string, describe: string): unknown {
    if (answer.status === 200 && typeof answer.body === "object" && answer.body !== null) return answer.body;
    const error = (answer.body as { error?: { code?: unknown; message?: unknown; current?: unknown } })
      ?.error;
    const message = typeof error?.message === "string"
      ? error.message
      : `${describe}: status ${answer.status}`;
    if (answer.status === 404 && error?.code === "not_found") {
      throw new NotFoundError(key, `${describe}: key not found`, answer.node);
    }
    if (answer.status === 409 && error?.code === "cas_mismatch") {
      const current = typeof error.current === "string" ? error.current : null;
      const shown = current === null ? "absent" : JSON.stringify(current);
      const explained = `${describe}: compare-and-swap failed: ${message} (current value: ${shown})`;
      throw new CasMismatchError(key, current, explained, answer.node);
    }
    throw unexpectedAnswer(describe, answer);
  }

  async #resolveTarget(target: NodeTarget | undefined): Promise<string | undefined> {
    return target === undefined ? undefined : await this.#connection.urlOfTarget(target);
  }

  async #serialWrite<T>(send: () => Promise<T>): Promise<T> {
    const previous = this.#writeTail;
    let release!: () => void;
    this.#writeTail = new Promise((resolve) => release = resolve);
    await previous;
    try {
      return await send();
    } finally {
      release();
    }
  }
}

function servedBy(answer: Answer): ServedBy {
  return { node: answer.node, leader: answer.leader, forwardedBy: answer.forwardedBy };
}

function keyPath(key: string): string {
  return `/kv/${encodeURIComponent(key)}`;
}
