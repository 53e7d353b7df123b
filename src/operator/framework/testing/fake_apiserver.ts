import { KubeConfigH1 } from "../kube_config.ts";
import { deepEqual } from "../structs/diffs.ts";
import { cloneJson, isPlainObject, type KubeObject } from "../structs/objects.ts";
import { applyMergePatch } from "../structs/patches.ts";

/** A collection of objects: `{ group: "", version: "v1", plural: "events" }` is the core group. */
export interface CollectionRef {
  group: string;
  version: string;
  plural: string;
}

interface Watcher {
  collection: string;
  namespace?: string;
  bookmarks: boolean;
  stalled: boolean;
  send(line: unknown): void;
  close(): void;
}

interface HistoryEntry {
  collection: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  resourceVersion: number;
}

/** An object to create: name (or generateName) and namespace are enough metadata. */
export type NewObject = Omit<KubeObject, "metadata"> & {
  metadata: { name?: string; generateName?: string; namespace?: string; [key: string]: unknown };
};

export interface RecordedRequest {
  /** When the server received it (epoch ms). */
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  body?: unknown;
}

/** An injected failure: the next `count` requests matching are answered with `status`. */
interface Fault {
  method: string;
  path: RegExp;
  status: number;
  count: number;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
  }
}

const COLLECTION_PATH =
  /^\/(?:api\/(?<coreVersion>v1)|apis\/(?<group>[^/]+)\/(?<version>[^/]+))(?:\/namespaces\/(?<namespace>[^/]+))?\/(?<plural>[^/]+)(?:\/(?<name>[^/]+))?(?:\/(?<subresource>status))?$/;

/** Kinds without a status subresource: a main write may change their status. */
const NO_STATUS_SUBRESOURCE = new Set(["events", "leases"]);

/**
 * An in-process fake kube-apiserver for unit tests, on 127.0.0.1 over plain HTTP. It keeps the
 * semantics the framework relies on: list with a resourceVersion; watch streams that replay from a
 * resourceVersion, send bookmarks and answer 410 Expired after a compaction; get; JSON merge patch of
 * the object and of its status subresource; a resourceVersion precondition answered with 409;
 * finalizers and deletionTimestamp; generation; create (with generateName) and replace (Leases).
 * Faults are injected by the tests: compaction, closed or stalled watches, HTTP errors, hooks.
 */
export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  watchConnections = 0;
  /** Delivers watch events this much later (in order): a slow watch, so echoes of writes lag. */
  watchDelayMs = 0;
  /** Runs before each request is served (after it is recorded): a test's concurrent writer. */
  beforeRequest?: (request: RecordedRequest) => void;

  #store = new Map<string, Map<string, KubeObject>>();
  #history: HistoryEntry[] = [];
  #resourceVersion = 100;
  #compactedBelow = 0;
  #uid = 0;
  #watchers = new Set<Watcher>();
  #faults: Fault[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => this.#serve(request),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** A KubeConfig pointing at this server with a bearer token. */
  kubeConfig(): KubeConfigH1 {
    const kubeConfig = new KubeConfigH1();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "tester", token: "fake-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "tester", namespace: "default" }],
      currentContext: "fake",
    });
    return kubeConfig;
  }

  async stop(): Promise<void> {
    for (const watcher of this.#watchers) {
      watcher.stalled = false;
      watcher.close();
    }
    await this.#server.shutdown();
  }

  // ---- direct access for tests (same semantics as the HTTP API, and watchers see the changes) ----

  create(ref: CollectionRef, object: NewObject): KubeObject {
    return this.#create(collectionKey(ref), object.metadata.namespace, cloneJson(object) as KubeObject);
  }

  get(ref: CollectionRef, namespace: string | undefined, name: string): KubeObject | undefined {
    return cloneJson(this.#collection(collectionKey(ref)).get(objectKey(namespace, name)));
  }

  list(ref: CollectionRef, namespace?: string): KubeObject[] {
    return [...this.#collection(collectionKey(ref)).values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace).map(cloneJson);
  }

  patch(ref: CollectionRef, namespace: string | undefined, name: string, patch: Record<string, unknown>) {
    return this.#patch(collectionKey(ref), namespace, name, patch, false);
  }

  patchStatus(
    ref: CollectionRef,
    namespace: string | undefined,
    name: string,
    patch: Record<string, unknown>,
  ) {
    return this.#patch(collectionKey(ref), namespace, name, patch, true);
  }

  delete(ref: CollectionRef, namespace: string | undefined, name: string) {
    return this.#delete(collectionKey(ref), namespace, name);
  }

  // ---- fault injection ----

  /** Forgets history: a watch resuming from an older resourceVersion gets 410 Expired. */
  compact(): void {
    this.#compactedBelow = this.#resourceVersion + 1;
    this.#history = [];
  }

  /** Ends every open watch stream cleanly (as the server does at timeoutSeconds). */
  closeWatches(): void {
    for (const watcher of this.#watchers) watcher.close();
  }

  /** The open watches go silent for good without closing, like a half-open connection; new ones work. */
  stallOpenWatches(): void {
    for (const watcher of this.#watchers) watcher.stalled = true;
  }

  /** Sends a BOOKMARK with the current resourceVersion to watches that asked for bookmarks. */
  bookmark(): void {
    for (const watcher of this.#watchers) {
      if (!watcher.bookmarks) continue;
      watcher.send({
        type: "BOOKMARK",
        object: { metadata: { resourceVersion: String(this.#resourceVersion) } },
      });
    }
  }

  /** Answers the next `count` requests whose method and path match with HTTP `status`. */
  failNext(method: string, path: RegExp, status: number, count = 1): void {
    this.#faults.push({ method, path, status, count });
  }

  countRequests(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.method === method && path.test(r.path)).length;
  }

  // ---- HTTP ----

  async #serve(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = request.method === "GET" || request.method === "DELETE" ? undefined : await request.json();
    const recorded: RecordedRequest = {
      at: Date.now(),
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      body,
    };
    this.requests.push(recorded);
    try {
      this.beforeRequest?.(recorded);
      const fault = this.#faults.find((f) => f.method === request.method && f.path.test(url.pathname));
      if (fault) {
        if (--fault.count <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
        throw new HttpError(fault.status, "InjectedFault", `injected ${fault.status} by the test`);
      }
      return this.#route(request, url, body);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      return statusResponse(error.status, error.reason, error.message);
    }
  }

  #route(request: Request, url: URL, body: unknown): Response {
    const match = COLLECTION_PATH.exec(url.pathname);
    if (!match?.groups) throw new HttpError(404, "NotFound", `no route for ${url.pathname}`);
    const { coreVersion, group, version, namespace, plural, name, subresource } = match.groups;
    const collection = collectionKey({ group: group ?? "", version: version ?? coreVersion, plural });
    const isStatus = subresource === "status";
    switch (request.method) {
      case "GET":
        if (name) return Response.json(this.#getOrThrow(collection, namespace, name));
        if (url.searchParams.get("watch") === "true") {
          return this.#watch(collection, namespace, url.searchParams);
        }
        return Response.json(this.#listBody(collection, namespace));
      case "POST":
        return Response.json(this.#create(collection, namespace, body as KubeObject), { status: 201 });
      case "PUT":
        return Response.json(this.#replace(collection, namespace, name, body as KubeObject));
      case "PATCH": {
        const type = request.headers.get("content-type") ?? "";
        if (!type.startsWith("application/merge-patch+json")) {
          throw new HttpError(415, "UnsupportedMediaType", `the fake serves only merge patches, not ${type}`);
        }
        return Response.json(
          this.#patch(collection, namespace, name, body as Record<string, unknown>, isStatus),
        );
      }
      case "DELETE":
        return Response.json(this.#delete(collection, namespace, name));
    }
    throw new HttpError(405, "MethodNotAllowed", `${request.method} is not served`);
  }

  #listBody(collection: string, namespace?: string) {
    const items = [...this.#collection(collection).values()].filter((o) =>
      namespace === undefined || o.metadata.namespace === namespace
    );
    return {
      kind: "List",
      apiVersion: "v1",
      metadata: { resourceVersion: String(this.#resourceVersion) },
      items,
    };
  }

  #watch(collection: string, namespace: string | undefined, query: URLSearchParams): Response {
    this.watchConnections++;
    const from = Number(query.get("resourceVersion") || "0");
    const timeoutSeconds = Number(query.get("timeoutSeconds") || "0");
    let watcher: Watcher;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const encoder = new TextEncoder();
        let closed = false;
        let timeout: ReturnType<typeof setTimeout> | undefined;
        watcher = {
          collection,
          namespace,
          bookmarks: query.get("allowWatchBookmarks") === "true",
          stalled: false,
          send: (line) => {
            if (closed || watcher.stalled) return;
            const bytes = encoder.encode(JSON.stringify(line) + "\n");
            const deliver = () => {
              if (closed || watcher.stalled) return;
              try {
                controller.enqueue(bytes);
              } catch {
                watcher.close(); // the client went away
              }
            };
            if (this.watchDelayMs > 0) setTimeout(deliver, this.watchDelayMs);
            else deliver();
          },
          close: () => {
            if (closed) return;
            closed = true;
            clearTimeout(timeout);
            this.#watchers.delete(watcher);
            try {
              controller.close();
            } catch { /* the client cancelled the stream first */ }
          },
        };
        if (timeoutSeconds > 0) {
          timeout = setTimeout(() => watcher.stalled || watcher.close(), timeoutSeconds * 1000);
        }
        if (from !== 0 && from < this.#compactedBelow) {
          // What kube-apiserver sends when the resourceVersion is older than etcd's compaction.
          watcher.send({
            type: "ERROR",
            object: statusBody(410, "Expired", `too old resource version: ${from} (${this.#compactedBelow})`),
          });
          watcher.close();
          return;
        }
        this.#watchers.add(watcher);
        const backlog = from === 0
          ? this.#listBody(collection, namespace).items.map((object) => ({ type: "ADDED", object }))
          : this.#history.filter((e) =>
            e.collection === collection && e.resourceVersion > from &&
            (namespace === undefined || e.object.metadata.namespace === namespace)
          );
        for (const entry of backlog) watcher.send({ type: entry.type, object: entry.object });
      },
      cancel: () => watcher?.close(),
    });
    return new Response(stream, { headers: { "content-type": "application/json" } });
  }

  // ---- storage ----

  #collection(key: string): Map<string, KubeObject> {
    let collection = this.#store.get(key);
    if (!collection) this.#store.set(key, collection = new Map());
    return collection;
  }

  #getOrThrow(collection: string, namespace: string | undefined, name: string): KubeObject {
    const object = this.#collection(collection).get(objectKey(namespace, name));
    if (!object) throw new HttpError(404, "NotFound", `${collection} "${name}" not found`);
    return object;
  }

  #commit(collection: string, type: HistoryEntry["type"], object: KubeObject): KubeObject {
    this.#resourceVersion++;
    object.metadata.resourceVersion = String(this.#resourceVersion);
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    if (type === "DELETED") this.#collection(collection).delete(key);
    else this.#collection(collection).set(key, object);
    const entry = { collection, type, object: cloneJson(object), resourceVersion: this.#resourceVersion };
    this.#history.push(entry);
    for (const watcher of this.#watchers) {
      const namespaceMatches = watcher.namespace === undefined ||
        watcher.namespace === object.metadata.namespace;
      if (watcher.collection === collection && namespaceMatches) watcher.send({ type, object: entry.object });
    }
    return cloneJson(object);
  }

  #create(collection: string, namespace: string | undefined, object: KubeObject): KubeObject {
    const metadata = object.metadata ?? {};
    if (!metadata.name && typeof metadata.generateName === "string") {
      metadata.name = `${metadata.generateName}${(++this.#uid).toString(36).padStart(5, "0")}`;
    }
    if (!metadata.name) throw new HttpError(422, "Invalid", "metadata.name is required");
    if (this.#collection(collection).has(objectKey(namespace, metadata.name))) {
      throw new HttpError(409, "AlreadyExists", `${collection} "${metadata.name}" already exists`);
    }
    object.metadata = {
      ...metadata,
      namespace,
      uid: `uid-${++this.#uid}`,
      generation: 1,
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    } as KubeObject["metadata"];
    return this.#commit(collection, "ADDED", object);
  }

  #replace(collection: string, namespace: string | undefined, name: string, object: KubeObject): KubeObject {
    const current = this.#getOrThrow(collection, namespace, name);
    const expected = object.metadata?.resourceVersion;
    if (expected && expected !== current.metadata.resourceVersion) throw conflict(collection, name);
    object.metadata = { ...object.metadata, uid: current.metadata.uid, namespace, name };
    return this.#commit(collection, "MODIFIED", object);
  }

  #patch(
    collection: string,
    namespace: string | undefined,
    name: string,
    patch: Record<string, unknown>,
    statusOnly: boolean,
  ): KubeObject {
    const current = this.#getOrThrow(collection, namespace, name);
    const expected = isPlainObject(patch.metadata) ? patch.metadata.resourceVersion : undefined;
    if (expected !== undefined && expected !== current.metadata.resourceVersion) {
      throw conflict(collection, name);
    }
    const patched = applyMergePatch(current, patch) as KubeObject;
    const hasStatusSubresource = !NO_STATUS_SUBRESOURCE.has(collection.split("/").at(-1)!);
    const next: KubeObject = statusOnly
      ? { ...cloneJson(current), status: patched.status }
      : { ...patched, ...(hasStatusSubresource ? { status: cloneJson(current.status) } : {}) };
    if (next.status === undefined) delete next.status;
    next.metadata = { ...next.metadata, uid: current.metadata.uid, name, namespace };
    if (deepEqual(next, current)) return cloneJson(current); // a no-op patch writes nothing
    const withoutMeta = (o: KubeObject) => ({ ...o, metadata: undefined, status: undefined });
    if (!deepEqual(withoutMeta(next), withoutMeta(current))) {
      next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    }
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      return this.#commit(collection, "DELETED", next);
    }
    return this.#commit(collection, "MODIFIED", next);
  }

  #delete(collection: string, namespace: string | undefined, name: string): KubeObject {
    const current = cloneJson(this.#getOrThrow(collection, namespace, name));
    if ((current.metadata.finalizers ?? []).length === 0) return this.#commit(collection, "DELETED", current);
    if (current.metadata.deletionTimestamp) return current;
    current.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    return this.#commit(collection, "MODIFIED", current);
  }
}

function collectionKey(ref: CollectionRef): string {
  return `${ref.group}/${ref.version}/${ref.plural}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

function statusBody(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

function statusResponse(code: number, reason: string, message: string): Response {
  return Response.json(statusBody(code, reason, message), { status: code });
}

function conflict(collection: string, name: string): HttpError {
  return new HttpError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${collection} "${name}": the object has been modified; ` +
      `please apply your changes to the latest version and try again`,
  );
}
