import type * as k8s from "@kubernetes/client-node";
import type { KubeClient } from "../client/kube_client.ts";
import { describeApiError } from "../client/api_error.ts";
import type { EventType } from "../intents/handler_context.ts";
import type { Logger } from "./logging.ts";
import type { OperatorStats } from "./stats.ts";
import type { KubeObject, ResourceRef } from "../structs/objects.ts";

const MAX_MESSAGE = 1024; // kube-apiserver rejects longer Event messages

/**
 * Posts core/v1 Events about objects. A failure to post is logged, never thrown: an Event is a
 * courtesy to humans and must not fail the handler that posts it.
 */
export class EventPoster {
  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly instance: string,
    private readonly stats: OperatorStats,
    private readonly logger: Logger,
  ) {}

  async post(resource: ResourceRef, body: KubeObject, type: EventType, reason: string, message: string) {
    const now = new Date();
    const namespace = body.metadata.namespace ?? "default";
    const event: k8s.CoreV1Event = {
      metadata: { generateName: `${body.metadata.name}.`, namespace },
      involvedObject: {
        apiVersion: body.apiVersion ?? `${resource.group}/${resource.version}`,
        kind: body.kind ?? resource.kind ?? resource.plural,
        name: body.metadata.name,
        namespace: body.metadata.namespace,
        uid: body.metadata.uid,
        resourceVersion: body.metadata.resourceVersion,
      },
      type,
      reason,
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.instance,
    };
    try {
      await this.client.createEvent(namespace, event);
      this.stats.eventsPosted++;
    } catch (error) {
      this.logger.warn(
        `could not post Event ${reason} about ${body.metadata.name}: ${describeApiError(error)}`,
      );
    }
  }
}
