/** Public surface of the raft-kv client library. */
export {
  type DeleteOptions,
  type DeleteResult,
  type GetOptions,
  type GetResult,
  KvClient,
  type KvClientOptions,
  type PutOptions,
  type PutResult,
  type ServedBy,
} from "./kv_client.ts";
export {
  type AdminCallOptions,
  AdminClient,
  type AdminClientOptions,
  type LearnerSpec,
  type NodeIdentity,
} from "./admin_client.ts";
export type { ClientEvent, ClientTls, NodeTarget } from "./cluster_connection.ts";
export { describeFailure } from "./cluster_connection.ts";
export type { EndpointSpec, NodeEndpoint } from "./endpoint_book.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry_policy.ts";
export {
  type AttemptFailure,
  CasMismatchError,
  KvError,
  NotFoundError,
  type SentWrite,
  UnavailableError,
  UnknownOutcomeError,
} from "./errors.ts";
export { checkKey, MAX_KEY_BYTES } from "./key_check.ts";
export { fetchNodeStatus } from "./node_status.ts";
export type {
  AdminResult,
  ClusterStatus,
  ConfState,
  ErrorBody,
  FaultAction,
  MemberAddress,
  PeerProgress,
  Readiness,
} from "./wire_types.ts";
