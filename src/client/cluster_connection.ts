/**
 * The part KvClient and AdminClient share: one pool of keep-alive connections, the endpoint book,
 * and the attempt loop that fails over between nodes, honours `Retry-After`, backs off on 5xx, and
 * tells "certainly not applied" apart from "may have been applied" when it gives up.
 */
import {
  type AttemptFailure,
  KvError,
  type SentWrite,
  UnavailableError,
  UnknownOutcomeError,
} from "./errors.ts";
import { EndpointBook, type EndpointSpec, normalizeEndpoint } from "./endpoint_book.ts";
import { exchange, type ExchangeFetch, type HttpRequest } from "./http_exchange.ts";
import { backoffMs, resolveRetryPolicy, retryAfterMs, type RetryPolicy } from "./retry_policy.ts";
import type { ClusterStatus, NodeStatus, UninitializedStatus } from "./wire_types.ts";

/** What the client reports while it works, for a CLI or a log to show. */
export type ClientEvent =
  /** The previous node failed hard (refused, timed out, dropped); the client moves on to `to`. */
  | { kind: "failover"; from: AttemptFailure; to: { url: string; node?: number } }
  /** Every node worth asking asked to wait (503) or is backing off; the client sleeps `ms`. */
  | { kind: "wait"; ms: number; after: AttemptFailure };

export interface ConnectionOptions {
  /** Client URLs of some nodes (any will do: followers forward). */
  endpoints: readonly EndpointSpec[];
  retry?: Partial<RetryPolicy>;
  /** One HTTP request per call: no retry, no failover (for harnesses that retry on their own). */
  oneAttempt?: boolean;
  onEvent?: (event: ClientEvent) => void;
  /** Sent as `Authorization: Bearer <token>` with every request (clusters run with --auth-file). */
  token?: string;
  /** HTTPS: the cluster CA to trust, and optionally a client certificate (whose subject names a role). */
  tls?: ClientTls;
  /** Replaces fetch for every request (the operator's pod client); `tls` is then not used. */
  fetch?: ExchangeFetch;
}

export interface ClientTls {
  caCerts: string[];
  cert?: string;
  key?: string;
}

/** One call to make against the cluster. */
export interface CallPlan extends HttpRequest {
  /** Names the call in error messages: "put greeting". */
  describe: string;
  /** The call changes state: when it may have reached a node without a definite answer, say so. */
  changesState: boolean;
  /** Send only to this URL: no failover. */
  pinnedUrl?: string;
  /** Attached to an UnknownOutcomeError so the write can be retried with the same sequence number. */
  write?: SentWrite;
}

/** A node by id (resolved through the member list) or by client URL. */
export type NodeTarget = number | string;

/** A definite answer: 2xx, or an error status that retrying would not change. */
export interface Answer {
  status: number;
  body: unknown;
  text: string;
  url: string;
  /** `X-Raft-Node`: the node that answered. */
  node?: number;
  /** `X-Raft-Leader`: 0 when that node knows no leader. */
  leader?: number;
  /** `X-Raft-Forwarded-By`: the follower that passed the request on to `node`. */
  forwardedBy?: number;
}

/** Statuses that another attempt may turn into an answer. 503 means "not applied"; the rest may hide an apply. */
const RETRYABLE = new Set([500, 502, 503, 504]);

export class ClusterConnection {
  readonly book: EndpointBook;
  readonly policy: RetryPolicy;
  readonly oneAttempt: boolean;
  readonly #httpClient: Deno.HttpClient;
  readonly #authorization: Record<string, string>;
  readonly #fetch: ConnectionOptions["fetch"];
  readonly #onEvent: (event: ClientEvent) => void;
  #membersRefresh: Promise<void> | undefined;
  /** The leader a member refresh was last started for: one refresh per leader, not one per answer. */
  #refreshedForLeader = 0;
  #closed = false;
  /** Aborted by close(): ends requests in flight and waits between attempts at once. */
  readonly #closing = new AbortController();

  constructor(options: ConnectionOptions) {
    this.policy = resolveRetryPolicy(options.retry);
    this.book = new EndpointBook(options.endpoints);
    this.oneAttempt = options.oneAttempt ?? false;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#authorization = options.token ? { authorization: `Bearer ${options.token}` } : {};
    this.#fetch = options.fetch;
    // Last, so that a constructor refusing its options leaves no pool open.
    this.#httpClient = Deno.createHttpClient(options.tls ?? {});
  }

  /** Runs a call, retrying and failing over as the policy allows; throws the typed errors of errors.ts. */
  async call(plan: CallPlan): Promise<Answer> {
    const deadline = performance.now() + this.policy.operationTimeoutMs;
    const failures: AttemptFailure[] = [];
    const failedHard = new Set<string>();
    const notBefore = new Map<string, number>();
    let mayHaveApplied = false;
    let retriesOfAnswers = 0;
    let previous: AttemptFailure | undefined;

    for (let attempt = 1;; attempt++) {
      const url = await this.#pick(plan, failedHard, notBefore, deadline, previous);
      if (this.#closed) throw this.#closedError(plan, failures, mayHaveApplied);
      if (url === undefined) break;
      if (previous && failedHard.has(previous.url) && previous.url !== url) {
        this.#onEvent({ kind: "failover", from: previous, to: { url, node: this.book.nodeOf(url) } });
      }
      const timeoutMs = Math.max(1, Math.min(this.policy.requestTimeoutMs, deadline - performance.now()));
      const request = { ...plan, headers: { ...this.#authorization, ...plan.headers } };
      const result = await exchange(
        this.#httpClient,
        url,
        request,
        timeoutMs,
        this.#closing.signal,
        this.#fetch,
      );
      const node = this.book.nodeOf(url);

      if (result.kind === "answer") {
        const answerNode = headerNumber(result.headers, "x-raft-node");
        const leader = headerNumber(result.headers, "x-raft-leader");
        const forwardedBy = headerNumber(result.headers, "x-raft-forwarded-by");
        this.book.noteAnswer(url, leader);
        // A /status answer brings the member list itself.
        if (plan.path !== "/status") this.#refreshMembersIfLeaderUnknown(url);
        if (!RETRYABLE.has(result.status)) {
          return {
            status: result.status,
            body: result.body,
            text: result.text,
            url,
            node: answerNode,
            forwardedBy,
            leader,
          };
        }
        const code = errorCode(result.body) ?? "error";
        // The node at `url` is the forwarder when there was one, not the leader that answered through it.
        previous = { url, node: node ?? forwardedBy ?? answerNode, reason: `${result.status} ${code}` };
        if (result.status !== 503) mayHaveApplied = true;
        const pause = result.status === 503
          ? retryAfterMs(result.headers.get("retry-after"), this.policy)
          : backoffMs(retriesOfAnswers++, this.policy);
        notBefore.set(url, performance.now() + pause);
      } else {
        previous = { url, node, reason: result.reason };
        // Even "connection refused" does not prove a write never arrived: when a pooled keep-alive
        // connection dies under a request, Deno's HTTP client retries it on a new connection and
        // reports only that connect error (see http_exchange_test.ts). So for a call that changes
        // state, any failure may have applied it; only reads can tell "unreachable" apart.
        if (result.kind === "lost" || plan.changesState) mayHaveApplied = true;
        failedHard.add(url);
        this.book.markDown(url, performance.now());
      }
      failures.push(previous);
      if (this.#closed) throw this.#closedError(plan, failures, mayHaveApplied);
      if (this.oneAttempt || attempt >= this.policy.maxAttempts) break;
    }
    throw this.#giveUp(plan, failures, mayHaveApplied);
  }

  /** `GET /status` of one node (or any, leader first); also refreshes the member list. */
  async status(pinnedUrl?: string): Promise<NodeStatus> {
    const answer = await this.call({
      method: "GET",
      path: "/status",
      describe: "status",
      changesState: false,
      pinnedUrl,
    });
    const fresh = answer.body as UninitializedStatus;
    if (answer.status === 200 && fresh?.initialized === false && typeof fresh.clusterId === "string") {
      return fresh;
    }
    const status = answer.body as ClusterStatus;
    if (answer.status !== 200 || typeof status?.id !== "number" || typeof status.members !== "object") {
      throw unexpectedAnswer("status", answer);
    }
    this.book.learnMembers(status.members);
    return status;
  }

  /** The URL of node `id`, asking the cluster for its member list when the id is not known yet. */
  async urlOfNode(id: number): Promise<string> {
    if (!this.book.urlOf(id)) await this.#membersRefresh;
    if (!this.book.urlOf(id)) await this.status();
    const url = this.book.urlOf(id);
    if (url === undefined) {
      const known = this.book.knownNodes().join(", ") || "none";
      throw new KvError("unknown_node", 0, `node ${id} is not a member of this cluster (members: ${known})`);
    }
    return url;
  }

  /** The URL a caller's node id or URL designates. */
  async urlOfTarget(target: NodeTarget): Promise<string> {
    if (typeof target === "string") return normalizeEndpoint(target);
    if (!Number.isSafeInteger(target) || target <= 0) {
      throw new KvError("bad_request", 0, `node id must be a positive integer, got ${target}`);
    }
    return await this.urlOfNode(target);
  }

  /**
   * Ends the calls in flight (a write among them becomes an UnknownOutcomeError if it was sent) and
   * closes the pooled connections.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    await this.#membersRefresh;
    this.#httpClient.close();
  }

  /**
   * The next URL to try, sleeping first when every usable one asked to wait; undefined when none is
   * left or the deadline would pass.
   */
  async #pick(
    plan: CallPlan,
    failedHard: Set<string>,
    notBefore: Map<string, number>,
    deadline: number,
    previous: AttemptFailure | undefined,
  ): Promise<string | undefined> {
    const now = performance.now();
    const candidates = plan.pinnedUrl ? [plan.pinnedUrl] : this.book.candidates(now);
    const usable = candidates.filter((url) => !failedHard.has(url));
    if (usable.length === 0 || now >= deadline) return undefined;
    const ready = usable.find((url) => (notBefore.get(url) ?? 0) <= now);
    if (ready) return ready;
    const soonest = usable.reduce((a, b) => notBefore.get(a)! <= notBefore.get(b)! ? a : b);
    const waitMs = notBefore.get(soonest)! - now;
    if (now + waitMs >= deadline) return undefined;
    if (previous) this.#onEvent({ kind: "wait", ms: waitMs, after: previous });
    await sleep(waitMs, this.#closing.signal);
    return soonest;
  }

  /** What a call that meets close() reports: an unknown outcome if it may have been applied. */
  #closedError(plan: CallPlan, failures: AttemptFailure[], mayHaveApplied: boolean): KvError {
    if (plan.changesState && mayHaveApplied) return this.#giveUp(plan, failures, true);
    return new KvError("closed", 0, `${plan.describe}: this client was closed; create a new one`);
  }

  #giveUp(plan: CallPlan, failures: AttemptFailure[], mayHaveApplied: boolean): KvError {
    const lastByUrl = new Map(failures.map((failure) => [failure.url, failure]));
    const summary = [...lastByUrl.values()].map(describeFailure).join("; ") || "no attempt was possible";
    if (plan.changesState && mayHaveApplied) {
      const retry = plan.write
        ? "retry it with the same sequence number (KvClient.retryUnknown) to apply it at most once"
        : "the call is idempotent: repeat it";
      return new UnknownOutcomeError(
        `${plan.describe}: gave up without knowing whether it was applied (${summary}); ${retry}`,
        failures,
        plan.write,
      );
    }
    return new UnavailableError(
      `${plan.describe}: no node could serve it (${summary}); check that the nodes are running ` +
        `and that the endpoints point at them`,
      failures,
    );
  }

  /** Learns the leader's URL in the background when an answer names a leader the book cannot place. */
  #refreshMembersIfLeaderUnknown(url: string): void {
    const leader = this.book.leader;
    if (this.book.knowsLeaderUrl() || leader === this.#refreshedForLeader || this.#membersRefresh) return;
    if (this.#closed) return;
    this.#refreshedForLeader = leader;
    const request = { method: "GET", path: "/status", headers: this.#authorization };
    this.#membersRefresh = exchange(this.#httpClient, url, request, 2_000, this.#closing.signal, this.#fetch)
      .then((result) => {
        const members = result.kind === "answer"
          ? (result.body as Partial<ClusterStatus>)?.members
          : undefined;
        if (members && typeof members === "object") this.book.learnMembers(members);
      })
      .catch(() => {
        // Best effort: without the member list, writes still work through a forwarding follower.
      })
      .finally(() => this.#membersRefresh = undefined);
  }
}

/** Resolves after `ms`, or at once when `stop` aborts. */
function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener("abort", done, { once: true });
  });
}

export function describeFailure(failure: AttemptFailure): string {
  const who = failure.node === undefined ? failure.url : `node ${failure.node} at ${failure.url}`;
  return `${who}: ${failure.reason}`;
}

function headerNumber(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || value.trim() === "") return undefined;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

export function errorCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === "string" ? code : undefined;
}

export function errorMessage(body: unknown): string | undefined {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === "string" ? message : undefined;
}

/** An answer the API contract does not allow: named with its status and a bit of its body. */
export function unexpectedAnswer(describe: string, answer: Answer): KvError {
  const who = answer.node === undefined ? answer.url : `node ${answer.node} (${answer.url})`;
  const code = errorCode(answer.body);
  if (code) {
    const message = errorMessage(answer.body) ?? "";
    return new KvError(
      code,
      answer.status,
      `${describe}: ${who} answered ${answer.status} ${code}: ${message}`,
      answer.node,
    );
  }
  return new KvError(
    "bad_response",
    answer.status,
    `${describe}: ${who} answered ${answer.status} with an unexpected body: ${answer.text.slice(0, 200)}; ` +
      `is this URL a raft-kv client endpoint?`,
    answer.node,
  );
}
