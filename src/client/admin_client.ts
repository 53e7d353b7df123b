/**
 * Typed calls to the raft-kv admin API. Every call is idempotent, so the client retries and fails
 * over like KvClient does; calls that concern one node (identity, adopt-config, faults) go to that
 * node only.
 */
import {
  type Answer,
  ClusterConnection,
  type ConnectionOptions,
  type NodeTarget,
  unexpectedAnswer,
} from "./cluster_connection.ts";
import { KvError } from "./errors.ts";
import type {
  AdminResult,
  FaultAction,
  FaultState,
  IdentityResult,
  MemberAddress,
  NodeStatus,
} from "./wire_types.ts";

export interface AdminClientOptions extends ConnectionOptions {
  /** The cluster's admin token (a local cluster keeps it in `.data/local/cluster.json` as `adminToken`). */
  token: string;
  /**
   * Sent with every call as X-Raft-Admin-Caller / X-Raft-Admin-Step: who calls (an operator replica's
   * identity) and what for; the node records them in its admin call log (GET /admin/calls).
   */
  caller?: { identity: string; step?: string };
}

export interface LearnerSpec extends MemberAddress {
  id: number;
  /** The new node's incarnation; the leader asks the node's /status for it when absent. */
  incarnation?: string;
}

export interface NodeIdentity {
  id: number;
  clusterId: string;
  /** True only for the first member of a brand-new cluster. */
  bootstrap: boolean;
}

/** Where to send a call; any node when absent (followers forward to the leader). */
export interface AdminCallOptions {
  node?: NodeTarget;
}

const ADMIN_RETRY = { requestTimeoutMs: 12_000, operationTimeoutMs: 30_000 };

export class AdminClient implements AsyncDisposable {
  readonly #connection: ClusterConnection;
  readonly #token: string;
  readonly #callerHeaders: Record<string, string>;

  constructor(options: AdminClientOptions) {
    if (typeof options.token !== "string" || options.token === "") {
      throw new KvError("bad_request", 0, "AdminClient needs the cluster's admin token (option `token`)");
    }
    // Configuration changes and leader transfers wait for commits: the server allows them twice its
    // request timeout (10 s by default), so give them longer than a key-value call before giving up.
    this.#connection = new ClusterConnection({ ...options, retry: { ...ADMIN_RETRY, ...options.retry } });
    this.#token = options.token;
    const caller = options.caller;
    this.#callerHeaders = caller
      ? {
        "x-raft-admin-caller": caller.identity,
        ...(caller.step ? { "x-raft-admin-step": caller.step } : {}),
      }
      : {};
  }

  /** The current configuration, with the members' addresses. */
  async config(
    options: AdminCallOptions = {},
  ): Promise<AdminResult & { members?: Record<string, MemberAddress> }> {
    const answer = await this.#call("GET", "/admin/config", undefined, options);
    const members = (answer.body as { members?: Record<string, MemberAddress> }).members;
    return { ...adminResult(answer, "config"), ...(members ? { members } : {}) };
  }

  /** Adds a learner (a non-voting member that receives the log). */
  async addLearner(learner: LearnerSpec, options: AdminCallOptions = {}): Promise<AdminResult> {
    return adminResult(await this.#call("POST", "/admin/learners", learner, options), "add learner");
  }

  /** Enters the joint configuration whose incoming voter set is `voters`. */
  async enterJoint(voters: readonly number[], options: AdminCallOptions = {}): Promise<AdminResult> {
    return adminResult(await this.#call("POST", "/admin/joint", { voters }, options), "enter joint");
  }

  /** Leaves the joint configuration: the incoming voters alone decide from then on. */
  async leaveJoint(options: AdminCallOptions = {}): Promise<AdminResult> {
    return adminResult(await this.#call("POST", "/admin/leave-joint", undefined, options), "leave joint");
  }

  /**
   * unsafe-early-vote only: switches straight to `voters` in one simple change (new members vote at
   * once). `members` gives the addresses of the new voters. A node in safe mode refuses (409).
   */
  async votersDirect(
    voters: readonly number[],
    members: Record<number, MemberAddress> = {},
    options: AdminCallOptions = {},
  ): Promise<AdminResult> {
    return adminResult(
      await this.#call("POST", "/admin/voters-direct", { voters, members }, options),
      "voters direct",
    );
  }

  /**
   * unsafe-no-joint only: tells ONE node to adopt a configuration on its own, outside the log.
   * A node in safe mode refuses (403).
   */
  async adoptConfig(
    node: NodeTarget,
    conf: { voters: readonly number[]; learners?: readonly number[] },
  ): Promise<AdminResult> {
    return adminResult(await this.#call("POST", "/admin/adopt-config", conf, { node }), "adopt config");
  }

  /** Moves leadership to voter `to`; resolves once `to` leads. */
  async transferLeader(
    to: number,
    options: AdminCallOptions = {},
  ): Promise<AdminResult & { leader: number }> {
    const answer = await this.#call("POST", "/admin/transfer-leader", { to }, options);
    const result = adminResult(answer, "transfer leader");
    const leader = (answer.body as { leader?: unknown }).leader;
    if (typeof leader !== "number") throw unexpectedAnswer("transfer leader", answer);
    return { ...result, leader };
  }

  /** Removes a learner (voters leave through a joint configuration). */
  async removeMember(id: number, options: AdminCallOptions = {}): Promise<AdminResult> {
    return adminResult(
      await this.#call("DELETE", `/admin/members/${id}`, undefined, options),
      "remove member",
    );
  }

  /** Takes a snapshot now on the node that receives the call; resolves to the index it covers. */
  async snapshot(options: AdminCallOptions = {}): Promise<{ index: number }> {
    const answer = await this.#call("POST", "/admin/snapshot", undefined, options);
    const index = (answer.body as { index?: unknown }).index;
    if (typeof index !== "number") throw unexpectedAnswer("snapshot", answer);
    return { index };
  }

  /** Gives a fresh, uninitialized node its identity. Goes to that node only. */
  async setIdentity(node: NodeTarget, identity: NodeIdentity): Promise<IdentityResult> {
    const answer = await this.#call("POST", "/admin/identity", identity, { node });
    const body = answer.body as Partial<IdentityResult>;
    if (typeof body.id !== "number" || typeof body.changed !== "boolean") {
      throw unexpectedAnswer("set identity", answer);
    }
    return body as IdentityResult;
  }

  /** The faults a node injects (it must run with fault injection enabled). */
  async faults(node: NodeTarget): Promise<FaultState> {
    return (await this.#call("GET", "/admin/faults", undefined, { node })).body as FaultState;
  }

  /** Injects (or, with `{action: "heal"}`, clears) a transport fault on one node. */
  async injectFault(node: NodeTarget, fault: FaultAction): Promise<FaultState> {
    return (await this.#call("POST", "/admin/faults", fault, { node })).body as FaultState;
  }

  /** `GET /status` of one node, or of any node (the leader when known). */
  async status(node?: NodeTarget): Promise<NodeStatus> {
    return await this.#connection.status(
      node === undefined ? undefined : await this.#connection.urlOfTarget(node),
    );
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Sends one admin call and returns its 200 answer; any other final status becomes a KvError. */
  async #call(method: string, path: string, body: unknown, options: AdminCallOptions): Promise<Answer> {
    const describe = `${method} ${path}`;
    const pinnedUrl = options.node === undefined
      ? undefined
      : await this.#connection.urlOfTarget(options.node);
    const answer = await this.#connection.call({
      method,
      path,
      body,
      headers: { authorization: `Bearer ${this.#token}`, ...this.#callerHeaders },
      describe,
      changesState: method !== "GET",
      pinnedUrl,
    });
    if (answer.status === 401) {
      throw new KvError(
        "unauthorized",
        401,
        `${describe}: the admin token was refused by ${answer.url}; use the cluster's admin token ` +
          `(a local cluster keeps it in .data/local/cluster.json as "adminToken")`,
        answer.node,
      );
    }
    if (answer.status !== 200 || typeof answer.body !== "object" || answer.body === null) {
      throw unexpectedAnswer(describe, answer);
    }
    return answer;
  }
}

function adminResult(answer: Answer, describe: string): AdminResult {
  const body = answer.body as Partial<AdminResult>;
  if (typeof body.index !== "number" || typeof body.changed !== "boolean" || typeof body.conf !== "object") {
    throw unexpectedAnswer(describe, answer);
  }
  return { index: body.index, changed: body.changed, conf: body.conf };
}
