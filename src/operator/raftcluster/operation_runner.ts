/**
 * Carries out the operations of operations.ts: StatefulSet and claim changes through the API server,
 * node calls through the raft-kv admin API at the pods' IPs. Every operation is idempotent, so one
 * that was interrupted (an operator killed mid-call) is simply planned and run again.
 */
import { AdminClient } from "../../client/mod.ts";
import type { ClusterApi } from "./cluster_api.ts";
import { adminUrlOf, type ClusterRef, statefulSetName } from "./names.ts";
import type { Operation } from "./operations.ts";
import { certifyNewMember, type MemberIssuer } from "./member_certificates.ts";
import type { FetchLike } from "./pod_client.ts";

/** How the operator reaches members of a TLS cluster, and the CA that signs new members. */
export interface MemberTlsAccess {
  verified: FetchLike;
  unverified: FetchLike;
  /** Signs new members' certificates. */
  issuer: MemberIssuer;
}

/** Thrown instead of starting an operation once this replica may no longer act. */
export class NotLeadingError extends Error {
  override name = "NotLeadingError";
}

/**
 * Calls go to one pinned pod with a few attempts: if leadership moved meanwhile, the next planning
 * round finds the new leader (under localkube a follower cannot forward to the leader's DNS name).
 */
const ADMIN_RETRY = { maxAttempts: 3, requestTimeoutMs: 15_000, operationTimeoutMs: 20_000 };

export class OperationRunner {
  /**
   * `api` is fenced with `signal`; `leading` is checked right before each operation (it reads the
   * clock: false at once when a stopped process resumes past its Lease); an abort of `signal` closes
   * the admin client of a call in flight.
   */
  constructor(
    private readonly api: ClusterApi,
    private readonly ref: ClusterRef,
    private readonly adminToken: string,
    private readonly fence: { signal: AbortSignal; leading: () => boolean } = {
      signal: new AbortController().signal,
      leading: () => true,
    },
    /** Sent with every admin call, recorded by the nodes (GET /admin/calls): which replica, which step. */
    private readonly caller?: { identity: string; step?: string },
    /** With spec.tls: how to reach members (verified, and unverified for the certificate handshake). */
    private readonly tls?: MemberTlsAccess,
  ) {}

  async run(op: Operation): Promise<void> {
    if (this.fence.signal.aborted || !this.fence.leading()) {
      throw new NotLeadingError(
        "this operator replica is not leading any more: the operation is left to the next leader",
      );
    }
    switch (op.kind) {
      case "scale":
        return await this.api.scaleStatefulSet(this.ref.namespace, statefulSetName(this.ref), op.replicas);
      case "deleteClaim":
        return await this.api.deleteClaim(this.ref.namespace, op.claim);
      case "deletePod":
        return await this.api.deletePod(this.ref.namespace, op.pod);
      case "setIdentity":
        if (this.tls) {
          // The identity comes with the certificate naming it (member_certificates.ts).
          return await certifyNewMember(this.tls.unverified, this.tls.issuer, {
            ref: this.ref,
            pod: op.pod,
            url: op.url,
            nodeId: op.identity.id,
            bootstrap: op.identity.bootstrap,
            adminToken: this.adminToken,
          });
        }
        return await this.#admin(op.url, (a, node) => a.setIdentity(node, op.identity));
      case "addLearner":
        return await this.#admin(op.leaderUrl, (a, node) => a.addLearner(op.learner, { node }));
      case "enterJoint":
        return await this.#admin(op.leaderUrl, (a, node) => a.enterJoint(op.voters, { node }));
      case "transferLeader":
        return await this.#admin(op.leaderUrl, (a, node) => a.transferLeader(op.to, { node }));
      case "leaveJoint":
        return await this.#admin(op.leaderUrl, (a, node) => a.leaveJoint({ node }));
      case "removeLearner":
        return await this.#admin(op.leaderUrl, (a, node) => a.removeMember(op.id, { node }));
      case "votersDirect":
        return await this.#admin(op.leaderUrl, (a, node) => a.votersDirect(op.voters, op.members, { node }));
      case "adoptConfig":
        return await this.#admin(op.url, (a, node) => a.adoptConfig(node, { voters: op.voters }));
    }
  }

  /** `url` is the node's client URL; the call goes to its admin port. */
  async #admin(url: string, call: (admin: AdminClient, node: string) => Promise<unknown>): Promise<void> {
    const node = adminUrlOf(url);
    await using admin = new AdminClient({
      endpoints: [node],
      token: this.adminToken,
      retry: ADMIN_RETRY,
      ...(this.tls ? { fetch: this.tls.verified } : {}),
      ...(this.caller ? { caller: this.caller } : {}),
    });
    // Losing the Lease mid-call closes the client: the call (and its retries) stop at once.
    const cancel = () => void admin[Symbol.asyncDispose]();
    this.fence.signal.addEventListener("abort", cancel, { once: true });
    try {
      await call(admin, node);
    } finally {
      this.fence.signal.removeEventListener("abort", cancel);
    }
    if (this.fence.signal.aborted) throw new NotLeadingError("the Lease was lost during the call");
  }
}
