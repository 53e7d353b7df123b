import { deepEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import { AuthPolicy, principalOfCertificate, refusal } from "./auth_policy.ts";
import { startTestServer } from "../server/test_server.ts";

const READER = "reader-token-0123456789";
const WRITER = "writer-token-0123456789";
const APP_WRITER = "app-writer-token-0123456789";
const ADMIN = "admin-token-0123456789ab";

const AUTH_FILE = JSON.stringify({
  tokens: [
    { name: "reader", token: READER, role: "read-only" },
    { name: "writer", token: WRITER, role: "read-write" },
    { name: "app", token: APP_WRITER, role: "read-write", prefix: "app/" },
    // The same kind of entry with only the token's digest in the file.
    {
      name: "root",
      sha256: Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(ADMIN))),
        (b) => b.toString(16).padStart(2, "0"),
      ).join(""),
      role: "admin",
    },
  ],
});

Deno.test("the auth file is checked entry by entry, with the fix in the message", () => {
  assertThrows(() => AuthPolicy.parse("{"), /not JSON/);
  assertThrows(
    () => AuthPolicy.parse(`{"tokens": [{"name": "a", "token": "short", "role": "read-only"}]}`),
    /16/,
  );
  assertThrows(
    () => AuthPolicy.parse(`{"tokens": [{"name": "a", "token": "${READER}", "role": "superuser"}]}`),
    /read-only, read-write, admin/,
  );
  assertThrows(
    () =>
      AuthPolicy.parse(JSON.stringify({
        tokens: [{ name: "a", token: READER, role: "admin" }, {
          name: "b",
          token: READER,
          role: "read-only",
        }],
      })),
    /listed twice/,
  );
  const policy = AuthPolicy.parse(AUTH_FILE);
  assertEquals(policy.byToken(ADMIN)?.name, "root");
  assertEquals(policy.byToken("nope"), undefined);
});

Deno.test("roles and prefixes decide, certificates carry their role", () => {
  const policy = AuthPolicy.parse(AUTH_FILE);
  const reader = policy.byToken(READER)!;
  const app = policy.byToken(APP_WRITER)!;
  assert(refusal(reader, "read-only", "x") === undefined);
  assert(refusal(reader, "read-write", "x")?.includes("may not write"));
  assert(refusal(app, "read-write", "app/a") === undefined);
  assert(refusal(app, "read-write", "other")?.includes(`may not use key "other"`));
  assertEquals(principalOfCertificate({ CN: "alice", OU: "read-only" })?.role, "read-only");
  assertEquals(principalOfCertificate({ CN: "node-2", OU: "node" })?.role, "admin");
  assertEquals(principalOfCertificate({ CN: "eve", OU: "root" }), undefined);
});

Deno.test("a server with --auth-file answers 401 without a credential and 403 without the permission, and nothing changes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv-auth-" });
  await Deno.writeTextFile(`${dir}/auth.json`, AUTH_FILE);
  const server = await startTestServer(["--auth-file", `${dir}/auth.json`]);
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: await response.json() };
  };
  try {
    assertEquals((await call("PUT", "/kv/k", WRITER, { value: "v1" })).status, 200);
    const anonymous = await call("PUT", "/kv/k", undefined, { value: "anon" });
    assertEquals(anonymous.status, 401);
    assertEquals(anonymous.body.error.code, "unauthorized");
    assertEquals((await call("GET", "/kv/k", "wrong-token-0123456789")).status, 401);
    const readerWrite = await call("PUT", "/kv/k", READER, { value: "by reader" });
    assertEquals(readerWrite.status, 403);
    assert(readerWrite.body.error.message.includes("may not write"), readerWrite.body.error.message);
    assertEquals((await call("DELETE", "/kv/k", READER)).status, 403);
    assertEquals((await call("PUT", "/kv/k", APP_WRITER, { value: "outside its prefix" })).status, 403);
    assertEquals((await call("PUT", "/kv/app%2Fa", APP_WRITER, { value: "inside" })).status, 200);
    // A batch is checked key by key: one key outside the prefix refuses all of it.
    const batch = { puts: [{ key: "app/b", value: "in" }, { key: "k", value: "outside" }] };
    const refusedBatch = await call("POST", "/kv-batch", APP_WRITER, batch);
    assertEquals(refusedBatch.status, 403);
    assert(refusedBatch.body.error.message.includes('may not use key "k"'), refusedBatch.body.error.message);
    assertEquals((await call("GET", "/kv/app%2Fb", READER)).status, 404);
    assertEquals((await call("POST", "/kv-batch", READER, { puts: [{ key: "x", value: "y" }] })).status, 403);
    assertEquals((await call("POST", "/kv-batch", APP_WRITER, { puts: [batch.puts[0]] })).status, 200);
    // Nothing of the refused requests reached the store.
    const read = await call("GET", "/kv/k", READER);
    assertEquals([read.status, read.body.value], [200, "v1"]);
    // Probes stay open; the admin API takes an admin principal as well as its own token.
    assertEquals(await fetch(`${server.url}/healthz`).then((r) => (r.body?.cancel(), r.status)), 200);
    assertEquals(await fetch(`${server.url}/status`).then((r) => (r.body?.cancel(), r.status)), 200);
    assertEquals((await call("GET", "/trace", WRITER)).status, 403);
    assertEquals((await call("GET", "/admin/config", ADMIN)).status, 200);
    assertEquals((await call("GET", "/admin/config", WRITER)).status, 401);
    assert(server.logLines.some((l) => l.includes("client authentication on: 4 token(s)")));
    assert(server.logLines.some((l) => l.includes("running WITHOUT TLS")));
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
