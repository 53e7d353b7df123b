/**
 * One reconcile step's share of the CA rotation (the I/O around tls_rotation.ts): whether the last
 * roll is done, the next phase, the CA Secret changes it asks for, and the reissue calls to members.
 */
import type * as k8s from "@kubernetes/client-node";
import type { Member, PlannerDecision } from "../../reconfig/types.ts";
import { splitPemBundle } from "../../security/tls_files.ts";
import type { ClusterApi } from "./cluster_api.ts";
import type { ClusterView } from "./cluster_view.ts";
import { operatorCaIssuer, reissueMemberCertificate } from "./member_certificates.ts";
import type { ClusterRef } from "./names.ts";
import { PodClient } from "./pod_client.ts";
import { addNextCa, dropOldCa } from "./security_state.ts";
import { TEMPLATE_HASH_ANNOTATION } from "./statefulset_sync.ts";
import type { StepSecurity } from "./step_security.ts";
import { planRotation, type RotationAction, withReissued } from "./tls_rotation.ts";
import type { TlsStatus } from "./types.ts";

export interface RotationStepInput {
  api: ClusterApi;
  ref: ClusterRef;
  /** spec.tls.rotate. */
  asked: number;
  status: TlsStatus;
  /** Its CA and pod client are replaced when the CA changes. */
  security: StepSecurity;
  set: k8s.V1StatefulSet;
  /** The template as the rotation's current state wants it. */
  desiredSet: k8s.V1StatefulSet;
  decision: PlannerDecision;
  upgradeDone: boolean;
  now: Date;
  announce(message: string): Promise<void>;
}

/**
 * The roll of the current template is done: the StatefulSet carries it (its hash), its controller has
 * seen it, and no member runs an older revision (the rolling upgrade has nothing left).
 */
function rolled(input: RotationStepInput, idle: boolean): boolean {
  const { set, desiredSet } = input;
  return idle && input.upgradeDone &&
    set.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION] ===
      desiredSet.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION] &&
    (set.status?.observedGeneration ?? 0) >= (set.metadata?.generation ?? 0) &&
    set.status?.updateRevision !== undefined && set.status?.currentRevision !== undefined;
}

/** Plans the rotation's next move on a settled cluster and makes the CA change it asks for. */
export async function stepRotation(
  input: RotationStepInput,
): Promise<{ status: TlsStatus; action: RotationAction }> {
  const { decision, security } = input;
  const idle = decision.status.phase === "Idle" && decision.action.kind === "none";
  if (!idle) return { status: input.status, action: { kind: "none" } };
  const planned = planRotation({
    asked: input.asked,
    status: input.status,
    members: decision.status.members.map((m) => m.id),
    rolled: rolled(input, idle),
    now: input.now,
  });
  if (
    planned.status.phase !== input.status.phase || planned.status.certificates !== input.status.certificates
  ) {
    await input.announce(planned.status.message ?? planned.status.phase);
  }
  if (planned.action.kind === "createNextCa") {
    security.ca = await addNextCa(input.api, input.ref, security.ca!);
  }
  if (planned.action.kind === "dropOldCa") security.ca = await dropOldCa(input.api, input.ref, security.ca!);
  security.podClient = new PodClient(splitPemBundle(security.ca!.bundle), security.podClient);
  return planned;
}

/** Rotation: members get a certificate of the new CA, one call each; returns the status with them. */
export async function reissueMembers(input: {
  ref: ClusterRef;
  view: ClusterView;
  members: Member[];
  ids: number[];
  adminToken: string;
  security: StepSecurity;
  status: TlsStatus;
  /** Throws when this replica may no longer act. */
  leading(): void;
  log(line: string): void;
  warn(line: string): Promise<void>;
}): Promise<TlsStatus> {
  const ca = input.security.ca!;
  const issuer = operatorCaIssuer(() => ca.signer(true));
  let status = input.status;
  for (const id of input.ids) {
    const member = input.members.find((m) => m.id === id);
    const facts = member ? input.view.slots.get(member.slot) : undefined;
    if (!member || !facts?.url || !facts.pod) continue;
    input.leading();
    try {
      await reissueMemberCertificate(input.security.podClient!.fetcher(true), issuer, {
        ref: input.ref,
        pod: facts.pod,
        url: facts.url,
        nodeId: id,
        adminToken: input.adminToken,
      });
      status = withReissued(status, id);
      input.log(`node ${id} has a certificate of the new CA (used from its next start)`);
    } catch (error) {
      await input.warn(`node ${id}: ${(error as Error).message}`);
    }
  }
  return status;
}
