/**
 * The admin API (bearer token): the membership steps the reconfiguration planner drives, one
 * call per step, each idempotent and answering with the configuration index it produced (or
 * the current one when there was nothing to do), so a restarted operator can repeat a step
 * safely. Changes go to the leader; a follower forwards them.
 */
import { type Context, Hono, type Next } from "hono";
import { timingSafeEqual } from "node:crypto";
import type { ConfChange, ConfState, NodeId } from "../raft/mod.ts";
import { ProposalDroppedError, voterChangeOps } from "../raft/mod.ts";
import { ConfChangeError } from "../raft/mod.ts";
import type { RaftKvNode } from "../kv/raft_kv_node.ts";
import { encodeMembersContext } from "../kv/members.ts";
import type { NodeHolder } from "./node_holder.ts";
import { badRequest, conflict, HttpError } from "./http_errors.ts";
import { forwardToLeader } from "./forward.ts";
import { AdminCallLog } from "./admin_call_log.ts";
import { memberFetch } from "../security/cluster_fetch.ts";
import { principalOf } from "../security/auth_middleware.ts";

const encoder = new TextEncoder();

function tokenMatches(given: string, expected: string): boolean {
  const a = encoder.encode(given), b = encoder.encode(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function confView(node: RaftKvNode): ConfState & { joint: boolean; index: number } {
  const conf = node.confState();
  return { ...conf, joint: conf.votersOutgoing.length > 0, index: node.confIndex };
}

/** A proposed change's index, and the configuration index it was proposed on (what an audit chains). */
interface Proposed {
  index: number;
  previousIndex: number;
}

function answer(node: RaftKvNode, changed: boolean, at: number | Proposed = node.confIndex) {
  const made = typeof at === "number" ? { index: at } : at;
  return { ...made, changed, conf: confView(node) };
}

async function json(c: Context): Promise<Record<string, unknown>> {
  try {
    const body = await c.req.json();
    if (typeof body === "object" && body !== null && !Array.isArray(body)) {
      return body as Record<string, unknown>;
    }
  } catch {
    // fall through
  }
  throw badRequest("the body must be a JSON object");
}

function nodeId(value: unknown, field: string): NodeId {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw badRequest(`"${field}" must be a positive integer node id`);
  }
  return value;
}

/** A request's voter set: a non-empty array of node ids, deduplicated and sorted. */
function voterSet(value: unknown): NodeId[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw badRequest('"voters" must be a non-empty array of ids');
  }
  return [...new Set(value.map((v, i) => nodeId(v, `voters[${i}]`)))].sort((a, b) => a - b);
}

const sameSet = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x) => b.includes(x));

/**
 * Proposes a change, retrying briefly while the leader cannot take one yet (a new leader that
 * has not committed in its term, or the previous change still being applied).
 */
async function propose(node: RaftKvNode, change: ConfChange, timeoutMs: number): Promise<Proposed> {
  const deadline = performance.now() + timeoutMs;
  for (let attempt = 0;; attempt++) {
    try {
      // Read in the same turn as the proposal, which is refused while an earlier change is unapplied.
      const previousIndex = node.confIndex;
      return { index: await node.changeMembership(change), previousIndex };
    } catch (e) {
      const transient = e instanceof ProposalDroppedError ||
        (e instanceof ConfChangeError && e.message.includes("not applied yet"));
      if (!transient || performance.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(200, 20 * 2 ** attempt)));
    }
  }
}

/** The joining node's incarnation, asked from the node itself when the caller did not give it. */
async function fetchIncarnation(client: string): Promise<string> {
  try {
    const r = await memberFetch(`${client}/status`, { signal: AbortSignal.timeout(3000) });
    const status = await r.json() as { incarnation?: unknown };
    if (typeof status.incarnation === "string") return status.incarnation;
    throw new Error("its /status has no incarnation (is it initialized?)");
  } catch (e) {
    throw new HttpError(
      400,
      "learner_unreachable",
      `could not read the new node's incarnation from ${client}/status: ${(e as Error).message}; ` +
        `start it first (or pass "incarnation")`,
    );
  }
}

export function adminApi(holder: NodeHolder): Hono {
  const app = new Hono();
  const config = holder.config;
  const timeout = config.requestTimeoutMs * 2;

  app.use("*", async (c: Context, next: Next) => {
    const header = c.req.header("authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (principalOf(c)?.role !== "admin" && (!token || !tokenMatches(token, config.adminToken))) {
      return c.json({
        error: { code: "unauthorized", message: "the admin API needs Authorization: Bearer <admin token>" },
      }, 401);
    }
    await next();
  });
  // Fault injection: a node told to refuse admin calls answers as if its admin port were cut off, all
  // but the fault endpoint that lifts it (heal).
  app.use("*", async (c: Context, next: Next) => {
    if (config.faultInjection && holder.node?.faults.adminRefused && !c.req.path.endsWith("/faults")) {
      return c.json({
        error: {
          code: "admin_refused_by_fault",
          message: "this node's admin API refuses calls (injected fault refuse-admin; heal lifts it)",
        },
      }, 503);
    }
    await next();
  });
  // Who changed what, and the configuration index before and after (GET /admin/calls).
  const calls = new AdminCallLog(holder, (message) => console.error(message));
  app.use("*", calls.middleware);
  app.get("/calls", async (c) => c.json({ node: holder.identity?.nodeId, calls: await calls.records() }));

  /** Runs `change` on the leader, or forwards the request there. */
  const onLeader = async (
    c: Context,
    body: string | undefined,
    change: (node: RaftKvNode) => Promise<Response>,
  ) => {
    const node = holder.require();
    if (!node.isLeader) return await forwardToLeader(c, node, body, timeout + 1000);
    return await change(node);
  };

  app.get("/config", (c) => {
    const node = holder.require();
    return c.json({ ...answer(node, false), members: Object.fromEntries(node.members()) });
  });

  app.post("/identity", async (c) => {
    const body = await json(c);
    const id = nodeId(body.id, "id");
    if (typeof body.clusterId !== "string" || !body.clusterId) {
      throw badRequest('"clusterId" must be a non-empty string');
    }
    const { changed } = await holder.assign(id, body.clusterId, body.bootstrap === true);
    return c.json({ id, clusterId: body.clusterId, incarnation: holder.node?.incarnation, changed });
  });

  // A renewed certificate for this node's own key (CA rotation): used from its next start.
  app.post("/tls/certificate", async (c) => {
    const body = await json(c);
    if (!holder.memberTls || !holder.identity) {
      throw conflict(
        "no_member_tls",
        "this node does not keep its own key (--tls-bootstrap) or has no identity yet",
      );
    }
    if (typeof body.certificate !== "string") throw badRequest('"certificate" (PEM) is required');
    try {
      const staged = await holder.memberTls.stage(body.certificate, config.clusterId, holder.identity.nodeId);
      return c.json({ id: holder.identity.nodeId, ...staged, takesEffect: "at the next start" });
    } catch (error) {
      throw new HttpError(403, "certificate_refused", `certificate refused: ${(error as Error).message}`);
    }
  });

  app.post("/learners", async (c) => {
    const text = await c.req.text();
    return await onLeader(c, text, async (node) => {
      const body = JSON.parse(text || "{}") as Record<string, unknown>;
      const id = nodeId(body.id, "id");
      if (typeof body.peer !== "string" || typeof body.client !== "string") {
        throw badRequest('"peer" (host:port) and "client" (URL) are required');
      }
      const conf = node.confState();
      if (conf.learners.includes(id) || conf.voters.includes(id) || conf.votersOutgoing.includes(id)) {
        return c.json(answer(node, false));
      }
      const incarnation = typeof body.incarnation === "string"
        ? body.incarnation
        : await fetchIncarnation(body.client);
      const index = await propose(node, {
        ops: [{ op: "addLearner", node: id }],
        joint: false,
        context: encodeMembersContext({ [id]: { peer: body.peer, client: body.client, incarnation } }),
      }, timeout);
      return c.json(answer(node, true, index));
    });
  });

  app.post("/joint", async (c) => {
    const text = await c.req.text();
    return await onLeader(c, text, async (node) => {
      const body = JSON.parse(text || "{}") as Record<string, unknown>;
      const target = voterSet(body.voters);
      const conf = node.confState();
      if (conf.votersOutgoing.length) {
        if (sameSet(conf.voters, target)) return c.json(answer(node, false));
        throw conflict(
          "joint_in_progress",
          `already joint toward [${conf.voters}]; leave it first (POST /admin/leave-joint)`,
        );
      }
      if (sameSet(conf.voters, target)) return c.json(answer(node, false));
      const unknown = target.filter((id) => !conf.voters.includes(id) && !conf.learners.includes(id));
      if (unknown.length) {
        throw conflict(
          "not_a_learner",
          `nodes [${unknown}] are not learners: add them (POST /admin/learners) and let them catch up first`,
        );
      }
      const index = await propose(node, { ops: voterChangeOps(conf.voters, target), joint: true }, timeout);
      return c.json(answer(node, true, index));
    });
  });

  /**
   * unsafe-early-vote only: one simple change straight to `voters` (new members become voters
   * at once, no learner stage). Safe mode refuses a multi-voter simple change (409).
   * `members` gives the addresses of new voters: {"4": {"peer": "h:p", "client": "http://..."}}.
   */
  app.post("/voters-direct", async (c) => {
    const text = await c.req.text();
    return await onLeader(c, text, async (node) => {
      const body = JSON.parse(text || "{}") as Record<string, unknown>;
      const target = voterSet(body.voters);
      const conf = node.confState();
      if (sameSet(conf.voters, target) && !conf.votersOutgoing.length) return c.json(answer(node, false));
      const members =
        (typeof body.members === "object" && body.members !== null ? body.members : {}) as Record<
          string,
          { peer?: unknown; client?: unknown }
        >;
      const announced: Record<number, { peer: string; client: string }> = {};
      for (const id of target.filter((v) => !conf.voters.includes(v))) {
        const info = members[String(id)];
        if (typeof info?.peer !== "string" || typeof info?.client !== "string") {
          throw badRequest(`"members" must give "peer" and "client" of new voter ${id}`);
        }
        announced[id] = { peer: info.peer, client: info.client };
      }
      const change: ConfChange = {
        ops: voterChangeOps(conf.voters, target),
        joint: false,
        context: encodeMembersContext(announced),
      };
      const index = await propose(node, change, timeout);
      return c.json(answer(node, true, index));
    });
  });

  app.post("/leave-joint", (c) =>
    onLeader(c, undefined, async (node) => {
      if (!node.confState().votersOutgoing.length) return c.json(answer(node, false));
      const index = await propose(node, { ops: [], joint: false }, timeout);
      return c.json(answer(node, true, index));
    }));

  app.post("/transfer-leader", async (c) => {
    const text = await c.req.text();
    return await onLeader(c, text, async (node) => {
      const body = JSON.parse(text || "{}") as Record<string, unknown>;
      const to = nodeId(body.to, "to");
      if (to !== node.id) await node.transferLeadership(to, timeout);
      return c.json({ leader: to, ...answer(node, to !== node.id) });
    });
  });

  app.delete("/members/:id", (c) =>
    onLeader(c, undefined, async (node) => {
      const id = nodeId(Number(c.req.param("id")), "id");
      const conf = node.confState();
      if (conf.voters.includes(id) || conf.votersOutgoing.includes(id)) {
        throw conflict(
          "is_voter",
          `node ${id} is a voter: voters leave through a joint configuration (POST /admin/joint)`,
        );
      }
      if (!conf.learners.includes(id) && !conf.learnersNext.includes(id)) return c.json(answer(node, false));
      const index = await propose(node, { ops: [{ op: "remove", node: id }], joint: false }, timeout);
      return c.json(answer(node, true, index));
    }));

  app.post("/snapshot", async (c) => {
    const node = holder.require();
    return c.json({ index: await node.snapshotNow() });
  });

  app.post("/adopt-config", async (c) => {
    const node = holder.require();
    const body = await json(c);
    const voters = voterSet(body.voters);
    const learners = Array.isArray(body.learners)
      ? body.learners.map((v, i) => nodeId(v, `learners[${i}]`))
      : [];
    try {
      node.adoptConfigUnsafe({ voters, votersOutgoing: [], learners, learnersNext: [] });
    } catch (e) {
      throw new HttpError(403, "forbidden", (e as Error).message);
    }
    return c.json(answer(node, true));
  });

  app.get("/faults", (c) => c.json(faults(holder).describe()));
  app.post("/faults", async (c) => {
    const f = faults(holder);
    const body = await json(c);
    const peers = Array.isArray(body.peers) ? body.peers.map((p, i) => nodeId(p, `peers[${i}]`)) : [];
    switch (body.action) {
      case "partition":
        f.partition(peers);
        break;
      case "isolate":
        f.isolate();
        break;
      case "refuse-admin":
        f.refuseAdmin();
        break;
      case "drop":
        f.drop(nodeId(body.peer, "peer"), Number(body.probability ?? 1));
        break;
      case "delay":
        f.delay(nodeId(body.peer, "peer"), Number(body.ms ?? 0), Number(body.jitterMs ?? 0));
        break;
      case "heal":
        f.heal();
        break;
      default:
        throw badRequest('"action" must be partition, isolate, refuse-admin, drop, delay or heal');
    }
    return c.json(f.describe());
  });

  return app;
}

function faults(holder: NodeHolder) {
  if (!holder.config.faultInjection) {
    throw new HttpError(
      403,
      "faults_disabled",
      "fault injection is off; start the server with --fault-injection (tests only)",
    );
  }
  return holder.require().faults;
}
