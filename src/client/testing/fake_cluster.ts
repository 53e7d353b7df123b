/**
 * A fake raft-kv cluster for tests: N HTTP nodes on 127.0.0.1 that speak the client and admin API
 * contract over one shared in-memory state, with no Raft behind it. Followers "forward" by serving
 * from the shared state while the leader is reachable and answer 503 no_leader otherwise. Tests
 * steer it: kill and revive a node (connection refused), pause one (requests hang), change the
 * leader, script error answers, and lose the replies of applied writes (outcome unknown).
 *
 *   const fake = await FakeCluster.start({ nodes: 3 });
 *   const client = new KvClient({ endpoints: fake.urls });
 *   ...
 *   await client.close();
 *   await fake.close();
 */
import { type Context, Hono } from "hono";
import type {
  AdminResult,
  ClusterStatus,
  ConfState,
  FaultAction,
  FaultState,
  IdentityResult,
  MemberAddress,
} from "../wire_types.ts";

export interface FakeClusterOptions {
  /** Number of voters, ids 1..N. Default 3. */
  nodes?: number;
  /** Initial leader; 0 for none. Default 1. */
  leader?: number;
  clusterId?: string;
  adminToken?: string;
  /** Whether `/admin/faults` is served (a real node serves it only with fault injection enabled). */
  faultInjection?: boolean;
  /** Values longer than this many bytes get 413. Default 1 MiB. */
  maxValueBytes?: number;
  /** Decides which unsafe admin calls are allowed (voters-direct, adopt-config). Default "safe". */
  safetyMode?: "safe" | "unsafe-early-vote" | "unsafe-no-joint";
}

/** An error answer a node gives instead of serving the next request. */
export interface ScriptedAnswer {
  status: number;
  code: string;
  message?: string;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
}

/** One request a node received, in arrival order. */
export interface FakeRequest {
  node: number;
  method: string;
  path: string;
  clientId?: string;
  seq?: number;
}

interface StoredValue {
  value: string;
  index: number;
}

interface DedupEntry {
  seq: number;
  status: number;
  body: unknown;
}

interface FakeNode {
  id: number;
  port: number;
  url: string;
  server?: Deno.HttpServer;
  paused: boolean;
  scripted: ScriptedAnswer[];
}

type Held = () => void;

export class FakeCluster {
  readonly clusterId: string;
  readonly adminToken: string;
  /** Every request any node received, oldest first. */
  readonly requests: FakeRequest[] = [];
  /** Writes actually applied to the state (a deduplicated retry does not count). */
  applied = 0;
  /** Times a client id had two writes in flight at once (the contract allows one). */
  overlappingWrites = 0;
  /** Configurations that nodes were told to adopt outside the log (`/admin/adopt-config`). */
  readonly adoptedConfigs: { node: number; voters: number[]; learners: number[] }[] = [];

  readonly #nodes = new Map<number, FakeNode>();
  readonly #data = new Map<string, StoredValue>();
  readonly #dedup = new Map<string, DedupEntry>();
  /** Learners added through the admin API that have no fake node behind them. */
  readonly #extraMembers = new Map<number, MemberAddress>();
  /** Client id -> sequence number of the write a node is handling for it. */
  readonly #writesInFlight = new Map<string, number>();
  readonly #held = new Set<Held>();
  readonly #faults = new Map<number, FaultState>();
  /** "node clientPort" of every TCP connection a request arrived on. */
  readonly #connections = new Set<string>();
  readonly #options: Required<FakeClusterOptions>;
  #leader: number;
  #term = 1;
  #index = 1;
  #conf: ConfState;
  #lostReplies = { count: 0, how: "504" as "504" | "hang" };

  private constructor(options: Required<FakeClusterOptions>) {
    this.#options = options;
    this.clusterId = options.clusterId;
    this.adminToken = options.adminToken;
    this.#leader = options.leader;
    const voters = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.#conf = { voters, votersOutgoing: [], learners: [], learnersNext: [], joint: false, index: 1 };
  }

  static async start(options: FakeClusterOptions = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster({
      nodes: options.nodes ?? 3,
      leader: options.leader ?? 1,
      clusterId: options.clusterId ?? "fake",
      adminToken: options.adminToken ?? "fake-admin-token",
      faultInjection: options.faultInjection ?? false,
      maxValueBytes: options.maxValueBytes ?? 1 << 20,
      safetyMode: options.safetyMode ?? "safe",
    });
    for (const id of cluster.#conf.voters) await cluster.#listen(id, 0);
    return cluster;
  }

  /** Client URLs of all nodes, by id. */
  get urls(): string[] {
    return [...this.#nodes.values()].map((node) => node.url);
  }

  url(id: number): string {
    return this.#node(id).url;
  }

  get leader(): number {
    return this.#leader;
  }

  /** Distinct client connections requests arrived on, all nodes together (keep-alive keeps this small). */
  get connectionsSeen(): number {
    return this.#connections.size;
  }

  /** The current value of a key, straight from the shared state. */
  valueOf(key: string): string | undefined {
    return this.#data.get(key)?.value;
  }

  /** Makes `id` the leader (0: no leader) in a new term. */
  setLeader(id: number): void {
    if (id !== 0) this.#node(id);
    this.#leader = id;
    this.#term++;
  }

  /** Stops node `id` listening: connections to it are refused until `revive`. */
  async kill(id: number): Promise<void> {
    const node = this.#node(id);
    const server = node.server;
    node.server = undefined;
    node.paused = false;
    this.#releaseHeld();
    await server?.shutdown();
  }

  /** Starts a killed node again on its old port. */
  async revive(id: number): Promise<void> {
    const node = this.#node(id);
    if (!node.server) await this.#listen(id, node.port);
  }

  /** Node `id` accepts connections but answers nothing until `resume` (or `kill`, or `close`). */
  pause(id: number): void {
    this.#node(id).paused = true;
  }

  resume(id: number): void {
    this.#node(id).paused = false;
    this.#releaseHeld();
  }

  /** Node `id` answers its next requests with these errors, one each, before serving normally again. */
  scriptAnswers(id: number, ...answers: ScriptedAnswer[]): void {
    this.#node(id).scripted.push(...answers);
  }

  /**
   * The next `count` writes (first attempts and retries alike) are applied, and then their reply is lost: "504" answers 504 timeout
   * (what the server says when it cannot tell whether a write applied), "hang" never answers.
   */
  loseWriteReplies(count: number, how: "504" | "hang" = "504"): void {
    this.#lostReplies = { count, how };
  }

  async close(): Promise<void> {
    for (const node of this.#nodes.values()) node.paused = false;
    this.#releaseHeld();
    await Promise.all([...this.#nodes.keys()].map((id) => this.kill(id)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #node(id: number): FakeNode {
    const node = this.#nodes.get(id);
    if (!node) {
      throw new Error(`fake cluster has no node ${id} (nodes: ${[...this.#nodes.keys()].join(", ")})`);
    }
    return node;
  }

  async #listen(id: number, port: number): Promise<void> {
    const app = this.#app(id);
    const listening = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: (addr) => listening.resolve(addr as Deno.NetAddr) },
      (request, info) => {
        this.#connections.add(`${id} ${info.remoteAddr.port}`);
        return app.fetch(request);
      },
    );
    const addr = await listening.promise;
    const existing = this.#nodes.get(id);
    if (existing) {
      existing.server = server;
    } else {
      const url = `http://127.0.0.1:${addr.port}`;
      this.#nodes.set(id, { id, port: addr.port, url, server, paused: false, scripted: [] });
    }
  }

  #releaseHeld(): void {
    for (const release of this.#held) release();
    this.#held.clear();
  }

  /** Waits until `release` runs (resume, kill, close). */
  #hold(): Promise<void> {
    return new Promise((resolve) => this.#held.add(resolve));
  }

  async #waitWhilePaused(id: number): Promise<void> {
    while (this.#nodes.get(id)?.paused && this.#nodes.get(id)?.server) await this.#hold();
  }

  /** Whether the leader could serve a forwarded request right now. */
  #leaderReachable(): boolean {
    const leader = this.#nodes.get(this.#leader);
    return leader?.server !== undefined;
  }

  #reply(id: number, status: number, body: unknown, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), {
      status,
      headers: {
        "content-type": "application/json",
        "x-raft-node": String(id),
        "x-raft-leader": String(this.#leader),
        ...headers,
      },
    });
  }

  #error(id: number, status: number, code: string, message: string): Response {
    const headers: Record<string, string> = status === 503 ? { "retry-after": "1" } : {};
    return this.#reply(id, status, { error: { code, message } }, headers);
  }

  /** Serving a linearizable read or a write needs the leader: a follower forwards, and waits if it is paused. */
  async #needLeader(id: number): Promise<Response | undefined> {
    if (this.#leader !== id) await this.#waitWhilePaused(this.#leader);
    if (this.#leader === 0 || !this.#leaderReachable()) {
      return this.#error(id, 503, "no_leader", `node ${id} knows no reachable leader; retry later`);
    }
    return undefined;
  }

  #app(id: number): Hono {
    const app = new Hono();
    app.use("*", async (c, next) => {
      const seq = c.req.header("x-request-seq");
      this.requests.push({
        node: id,
        method: c.req.method,
        path: new URL(c.req.url).pathname + new URL(c.req.url).search,
        clientId: c.req.header("x-client-id"),
        seq: seq === undefined ? undefined : Number(seq),
      });
      await this.#waitWhilePaused(id);
      const scripted = this.#nodes.get(id)?.scripted.shift();
      if (scripted) {
        const headers: Record<string, string> = scripted.retryAfter === undefined
          ? {}
          : { "retry-after": String(scripted.retryAfter) };
        const message = scripted.message ?? `scripted ${scripted.code}`;
        return this.#reply(id, scripted.status, { error: { code: scripted.code, message } }, headers);
      }
      await next();
    });
    app.get("/healthz", () => this.#reply(id, 200, { status: "ok" }));
    app.get("/readyz", () => {
      const ready = this.#leader !== 0 && this.#leaderReachable();
      return this.#reply(id, ready ? 200 : 503, ready ? { ready } : { ready, reason: "no leader" });
    });
    app.get("/status", () => this.#reply(id, 200, this.#status(id)));
    app.get("/metrics", (c) => {
      c.header("x-raft-node", String(id));
      c.header("x-raft-leader", String(this.#leader));
      return c.text(`raftkv_term ${this.#term}\nraftkv_commit_index ${this.#index}\n`);
    });
    app.get("/kv/:key", async (c) => {
      const key = c.req.param("key");
      if (c.req.query("consistency") !== "stale") {
        const refused = await this.#needLeader(id);
        if (refused) return refused;
      }
      const stored = this.#data.get(key);
      if (!stored) return this.#error(id, 404, "not_found", `key ${JSON.stringify(key)} not found`);
      // As the server: index is what the node has applied, modIndex the write that set the value.
      return this.#reply(id, 200, { key, value: stored.value, index: this.#index, modIndex: stored.index });
    });
    const write = (c: Context) => this.#write(c, id);
    app.put("/kv/:key", write);
    app.post("/kv/:key", write);
    app.delete("/kv/:key", write);
    this.#nodeLocalRoutes(app, id);
    this.#adminRoutes(app, id);
    app.notFound((c) => this.#error(id, 404, "not_found", `no route ${c.req.method} ${c.req.path}`));
    return app;
  }

  async #write(c: Context, id: number): Promise<Response> {
    const key = c.req.param("key")!;
    const clientId = c.req.header("x-client-id");
    const seq = Number(c.req.header("x-request-seq"));
    const keyProblem = badKey(key);
    if (keyProblem) return this.#error(id, 400, "bad_request", keyProblem);
    let body: { value?: unknown; prevValue?: unknown } = {};
    if (c.req.method !== "DELETE") {
      try {
        body = await c.req.json();
      } catch {
        return this.#error(id, 400, "bad_request", 'the body must be JSON: {"value": "..."}');
      }
      if (typeof body?.value !== "string") {
        return this.#error(id, 400, "bad_request", "value must be a string");
      }
      if (new TextEncoder().encode(body.value).length > this.#options.maxValueBytes) {
        return this.#error(
          id,
          413,
          "value_too_large",
          `values are limited to ${this.#options.maxValueBytes} bytes`,
        );
      }
    }
    const refused = await this.#needLeader(id);
    if (refused) return refused;

    if (clientId === undefined) return await this.#deliver(id, ...this.#apply(c.req.method, key, body));
    const otherSeq = this.#writesInFlight.get(clientId);
    if (otherSeq !== undefined && otherSeq !== seq) this.overlappingWrites++;
    this.#writesInFlight.set(clientId, seq);
    try {
      const previous = this.#dedup.get(clientId);
      if (previous && seq < previous.seq) {
        return this.#error(id, 400, "bad_request", `sequence ${seq} is older than ${previous.seq}`);
      }
      if (previous?.seq === seq) return await this.#deliver(id, previous.status, previous.body);
      const [status, result] = this.#apply(c.req.method, key, body);
      this.#dedup.set(clientId, { seq, status, body: result });
      return await this.#deliver(id, status, result);
    } finally {
      if (this.#writesInFlight.get(clientId) === seq) this.#writesInFlight.delete(clientId);
    }
  }

  /**
   * Answers a write as the real server does: a follower relays the leader's answer (X-Raft-Node is
   * the leader, X-Raft-Forwarded-By the follower). Loses the answer when `loseWriteReplies` asked.
   */
  async #deliver(id: number, status: number, result: unknown): Promise<Response> {
    if (this.#lostReplies.count > 0) {
      this.#lostReplies.count--;
      if (this.#lostReplies.how === "hang") await this.#hold();
      return this.#error(
        id,
        504,
        "timeout",
        "the write may or may not have applied; retry with the same seq",
      );
    }
    return this.#replyAsLeader(id, status, result);
  }

  #replyAsLeader(id: number, status: number, body: unknown): Response {
    if (id === this.#leader) return this.#reply(id, status, body);
    return this.#reply(this.#leader, status, body, { "x-raft-forwarded-by": String(id) });
  }

  #apply(method: string, key: string, body: { value?: unknown; prevValue?: unknown }): [number, unknown] {
    const current = this.#data.get(key);
    if (method === "DELETE") {
      if (!current) {
        return [404, { error: { code: "not_found", message: `key ${JSON.stringify(key)} not found` } }];
      }
      this.#data.delete(key);
      this.applied++;
      return [200, { key, deleted: true, index: ++this.#index }];
    }
    if ("prevValue" in body && body.prevValue !== (current?.value ?? null)) {
      const error = {
        code: "cas_mismatch",
        message: "the current value differs",
        current: current?.value ?? null,
      };
      return [409, { error }];
    }
    const index = ++this.#index;
    this.#data.set(key, { value: body.value as string, index });
    this.applied++;
    return [200, { key, value: body.value, index }];
  }

  #status(id: number): ClusterStatus {
    const members: Record<string, MemberAddress> = {};
    for (const node of this.#nodes.values()) {
      members[node.id] = { peer: `127.0.0.1:${node.port + 10_000}`, client: node.url };
    }
    for (const [memberId, address] of this.#extraMembers) members[memberId] = address;
    const status: ClusterStatus = {
      id,
      clusterId: this.clusterId,
      role: id === this.#leader ? "leader" : "follower",
      term: this.#term,
      leader: this.#leader,
      commit: this.#index,
      applied: this.#index,
      lastIndex: this.#index,
      snapshotIndex: 0,
      safetyMode: this.#options.safetyMode,
      conf: structuredClone(this.#conf),
      members,
    };
    if (id === this.#leader) {
      status.progress = {};
      for (const memberId of [...this.#conf.voters, ...this.#conf.learners]) {
        if (memberId === id) continue;
        const learner = this.#conf.learners.includes(memberId);
        status.progress[memberId] = {
          match: this.#index,
          next: this.#index + 1,
          state: "replicate",
          learner,
        };
      }
    }
    return status;
  }

  #adminRoutes(app: Hono, id: number): void {
    app.use("/admin/*", async (c, next) => {
      if (c.req.header("authorization") !== `Bearer ${this.adminToken}`) {
        return this.#error(id, 401, "unauthorized", "missing or wrong admin token");
      }
      if (!c.req.path.startsWith("/admin/identity")) {
        const refused = await this.#needLeader(id);
        if (refused) return refused;
      }
      await next();
    });
    const result = (changed: boolean, extra = {}) => {
      if (changed) this.#conf.index = ++this.#index;
      const body: AdminResult = { index: this.#conf.index, changed, conf: structuredClone(this.#conf) };
      return this.#replyAsLeader(id, 200, { ...body, ...extra });
    };
    app.get("/admin/config", () => {
      const body: AdminResult = {
        index: this.#conf.index,
        changed: false,
        conf: structuredClone(this.#conf),
      };
      return this.#reply(id, 200, { ...body, members: this.#status(id).members });
    });
    app.post("/admin/learners", async (c) => {
      const body = await c.req.json().catch(() => undefined) as {
        id?: unknown;
        peer?: unknown;
        client?: unknown;
      };
      if (typeof body?.id !== "number" || typeof body.peer !== "string" || typeof body.client !== "string") {
        return this.#error(
          id,
          400,
          "bad_request",
          'body must be {"id": number, "peer": string, "client": string}',
        );
      }
      if (this.#conf.voters.includes(body.id)) {
        return this.#error(id, 409, "conflict", `node ${body.id} is already a voter`);
      }
      const known = this.#conf.learners.includes(body.id);
      if (!known) this.#conf.learners.push(body.id);
      this.#extraMembers.set(body.id, { peer: body.peer, client: body.client });
      return result(!known);
    });
    app.post("/admin/joint", async (c) => {
      const body = await c.req.json().catch(() => undefined) as { voters?: unknown };
      const voters = body?.voters;
      if (!Array.isArray(voters) || voters.length === 0 || !voters.every(Number.isSafeInteger)) {
        return this.#error(id, 400, "bad_request", 'body must be {"voters": [ids...]}');
      }
      const same = sameSet(voters, this.#conf.voters);
      if (this.#conf.joint) {
        return same ? result(false) : this.#error(id, 409, "conflict", "leave the joint configuration first");
      }
      if (same) return result(false);
      this.#conf.votersOutgoing = this.#conf.voters;
      this.#conf.voters = [...voters].sort((a, b) => a - b);
      this.#conf.learners = this.#conf.learners.filter((learner) => !voters.includes(learner));
      this.#conf.joint = true;
      return result(true);
    });
    app.post("/admin/leave-joint", () => {
      if (!this.#conf.joint) return result(false);
      this.#conf.votersOutgoing = [];
      this.#conf.joint = false;
      return result(true);
    });
    app.post("/admin/transfer-leader", async (c) => {
      const body = await c.req.json().catch(() => undefined) as { to?: unknown };
      const to = body?.to;
      if (typeof to !== "number" || !this.#conf.voters.includes(to) || !this.#nodes.has(to)) {
        return this.#error(id, 400, "bad_request", `"to" must be a voter with a running node`);
      }
      if (to !== this.#leader) this.setLeader(to);
      return result(false, { leader: to });
    });
    app.delete("/admin/members/:id", (c) => {
      const member = Number(c.req.param("id"));
      if (this.#conf.voters.includes(member)) {
        return this.#error(
          id,
          409,
          "conflict",
          `node ${member} is a voter; voters leave through a joint configuration`,
        );
      }
      const known = this.#conf.learners.includes(member);
      this.#conf.learners = this.#conf.learners.filter((learner) => learner !== member);
      this.#extraMembers.delete(member);
      return result(known);
    });
    app.post("/admin/snapshot", () => this.#reply(id, 200, { index: this.#index }));
    app.post("/admin/voters-direct", async (c) => {
      if (this.#options.safetyMode !== "unsafe-early-vote") {
        return this.#error(id, 409, "invalid_change", "a multi-voter simple change needs unsafe-early-vote");
      }
      const body = await c.req.json().catch(() => undefined) as { voters?: unknown; members?: unknown };
      const voters = body?.voters;
      if (!Array.isArray(voters) || voters.length === 0 || !voters.every(Number.isSafeInteger)) {
        return this.#error(id, 400, "bad_request", '"voters" must be a non-empty array of ids');
      }
      if (sameSet(voters, this.#conf.voters)) return result(false);
      const members = (body.members ?? {}) as Record<string, MemberAddress>;
      for (const voter of voters) if (members[voter]) this.#extraMembers.set(voter, members[voter]);
      this.#conf.voters = [...voters].sort((a, b) => a - b);
      this.#conf.learners = this.#conf.learners.filter((learner) => !voters.includes(learner));
      return result(true);
    });
    app.post("/admin/identity", async (c) => {
      const body = await c.req.json().catch(() => undefined) as { id?: unknown; clusterId?: unknown };
      if (body?.id !== id || body.clusterId !== this.clusterId) {
        return this.#error(id, 409, "conflict", `this node is ${id} of cluster ${this.clusterId}`);
      }
      const identity: IdentityResult = {
        id,
        clusterId: this.clusterId,
        incarnation: `fake-${id}`,
        changed: false,
      };
      return this.#reply(id, 200, identity);
    });
  }

  /** `/admin/faults` and `/admin/adopt-config` concern one node and are never forwarded. */
  #nodeLocalRoutes(app: Hono, id: number): void {
    const authorized = (c: Context) => c.req.header("authorization") === `Bearer ${this.adminToken}`;
    const unauthorized = () => this.#error(id, 401, "unauthorized", "missing or wrong admin token");
    app.post("/admin/adopt-config", async (c) => {
      if (!authorized(c)) return unauthorized();
      if (this.#options.safetyMode !== "unsafe-no-joint") {
        return this.#error(
          id,
          403,
          "forbidden",
          "adopting a configuration outside the log needs unsafe-no-joint",
        );
      }
      const body = await c.req.json().catch(() => undefined) as { voters?: unknown; learners?: unknown };
      if (!Array.isArray(body?.voters) || !body.voters.every(Number.isSafeInteger)) {
        return this.#error(id, 400, "bad_request", '"voters" must be an array of ids');
      }
      this.adoptedConfigs.push({
        node: id,
        voters: body.voters,
        learners: (body.learners ?? []) as number[],
      });
      const answer: AdminResult = {
        index: this.#conf.index,
        changed: true,
        conf: structuredClone(this.#conf),
      };
      return this.#reply(id, 200, answer);
    });
    app.get("/admin/faults", (c) => {
      if (!authorized(c)) return unauthorized();
      return this.#faultsDisabled(id) ?? this.#reply(id, 200, this.#faultState(id));
    });
    app.post("/admin/faults", async (c) => {
      if (!authorized(c)) return unauthorized();
      const disabled = this.#faultsDisabled(id);
      if (disabled) return disabled;
      const fault = await c.req.json().catch(() => undefined) as FaultAction | undefined;
      const state = this.#faultState(id);
      switch (fault?.action) {
        case "partition":
          state.partitioned = [...fault.peers];
          break;
        case "isolate":
          state.isolated = true;
          break;
        case "drop":
          state.drop = [...state.drop.filter((rule) => rule.peer !== fault.peer), {
            peer: fault.peer,
            probability: fault.probability,
          }];
          break;
        case "delay":
          state.delay = [...state.delay.filter((rule) => rule.peer !== fault.peer), {
            peer: fault.peer,
            ms: fault.ms,
            jitterMs: fault.jitterMs ?? 0,
          }];
          break;
        case "heal":
          this.#faults.delete(id);
          break;
        default:
          return this.#error(
            id,
            400,
            "bad_request",
            '"action" must be partition, isolate, drop, delay or heal',
          );
      }
      return this.#reply(id, 200, this.#faultState(id));
    });
  }

  /** The faults node `id` was told to inject (the fake only records them). */
  faultsOf(id: number): FaultState {
    return structuredClone(this.#faultState(id));
  }

  #faultState(id: number): FaultState {
    let state = this.#faults.get(id);
    if (!state) {
      state = { enabled: true, isolated: false, partitioned: [], drop: [], delay: [] };
      this.#faults.set(id, state);
    }
    return state;
  }

  #faultsDisabled(id: number): Response | undefined {
    if (this.#options.faultInjection) return undefined;
    return this.#error(
      id,
      403,
      "faults_disabled",
      "fault injection is off; start the fake with faultInjection",
    );
  }
}

function badKey(key: string): string | undefined {
  const bytes = new TextEncoder().encode(key).length;
  if (bytes === 0 || bytes > 512) return `keys are 1 to 512 bytes, got ${bytes}`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return "keys must not hold control characters";
  return undefined;
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
