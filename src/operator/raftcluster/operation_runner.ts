/**
 * Carries out the operations of operations.ts: StatefulSet and claim changes through the API server,
 * node calls through the raft-kv admin API at the pods' IPs. Every operation is idempotent, so one
 * that was interrupted (an operator killed mid-call) is simply planned and run again.
 */
import { AdminClient } from "../../client/mod.ts";
import type { ClusterApi } from "./cluster_api.ts";
import { type ClusterRef, statefulSetName } from "./names.ts";
import type { Operation } from "./operations.ts";

/**
 * Calls go to one pinned pod with a few attempts: if leadership moved meanwhile, the next planning
 * round finds the new leader (under localkube a follower cannot forward to the leader's DNS name).
 */
const ADMIN_RETRY = { maxAttempts: 3, requestTimeoutMs: 15_000, operationTimeoutMs: 20_000 };

export class OperationRunner {
  constructor(
    private readonly api: ClusterApi,
    private readonly ref: ClusterRef,
    private readonly adminToken: string,
  ) {}

  async run(op: Operation): Promise<void> {
    switch (op.kind) {
      case "scale":
        return await this.api.scaleStatefulSet(this.ref.namespace, statefulSetName(this.ref), op.replicas);
      case "deleteClaim":
        return await this.api.deleteClaim(this.ref.namespace, op.claim);
      case "setIdentity":
        return await this.#admin(op.url, (a) => a.setIdentity(op.url, op.identity));
      case "addLearner":
        return await this.#admin(op.leaderUrl, (a) => a.addLearner(op.learner, { node: op.leaderUrl }));
      case "enterJoint":
        return await this.#admin(op.leaderUrl, (a) => a.enterJoint(op.voters, { node: op.leaderUrl }));
      case "transferLeader":
        return await this.#admin(op.leaderUrl, (a) => a.transferLeader(op.to, { node: op.leaderUrl }));
      case "leaveJoint":
        return await this.#admin(op.leaderUrl, (a) => a.leaveJoint({ node: op.leaderUrl }));
      case "removeLearner":
        return await this.#admin(op.leaderUrl, (a) => a.removeMember(op.id, { node: op.leaderUrl }));
      case "votersDirect":
        return await this.#admin(
          op.leaderUrl,
          (a) => a.votersDirect(op.voters, op.members, { node: op.leaderUrl }),
        );
      case "adoptConfig":
        return await this.#admin(op.url, (a) => a.adoptConfig(op.url, { voters: op.voters }));
    }
  }

  async #admin(url: string, call: (admin: AdminClient) => Promise<unknown>): Promise<void> {
    await using admin = new AdminClient({ endpoints: [url], token: this.adminToken, retry: ADMIN_RETRY });
    await call(admin);
  }
}
