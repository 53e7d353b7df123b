import assert from "node:assert/strict";
import { ClusterCa } from "../../src/security/certificates.ts";
import { Http1Connection, Http1Error, Http1Pool } from "./http1_client.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A Deno.serve server on loopback; the handler also sees the client's port (one per connection). */
async function withServer(
  handler: (req: Request, clientPort: number) => Response | Promise<Response>,
  body: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => handler(req, (info.remoteAddr as Deno.NetAddr).port),
  );
  try {
    await body(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** A raw TCP server whose every connection is answered by `answer` (for responses Deno.serve never sends). */
async function withRawServer(
  answer: (conn: Deno.Conn) => Promise<void>,
  body: (url: string) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    const handlers: Promise<void>[] = [];
    for await (const conn of listener) {
      conns.add(conn);
      handlers.push(
        answer(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        }),
      );
    }
    await Promise.all(handlers);
  })();
  try {
    await body(`http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  } finally {
    listener.close();
    for (const conn of conns) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    await serving;
  }
}

/** Reads one request head (and ignores any body: the raw servers only get GETs). */
async function readRequestHead(conn: Deno.Conn): Promise<string | undefined> {
  const buf = new Uint8Array(4096);
  let got = "";
  while (!got.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) return undefined;
    got += text(buf.subarray(0, n));
  }
  return got;
}

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("http1: requests, bodies and status codes through one kept-alive connection", async () => {
  await withServer(async (req, port) => {
    const url = new URL(req.url);
    if (url.pathname === "/missing") return new Response("no such key", { status: 404 });
    const body = req.method === "PUT" ? await req.text() : "";
    return Response.json({
      method: req.method,
      path: url.pathname + url.search,
      body,
      port,
      seq: req.headers.get("x-seq"),
    });
  }, async (url) => {
    const pool = new Http1Pool();
    try {
      const ports = new Set<number>();
      for (let i = 0; i < 20; i++) {
        const r = await pool.request(
          `${url}/kv/k${i}?x=1`,
          "PUT",
          { "x-seq": String(i) },
          JSON.stringify({ value: i }),
        );
        assert.equal(r.status, 200);
        const got = JSON.parse(text(r.body));
        assert.deepEqual(
          { method: got.method, path: got.path, body: got.body, seq: got.seq },
          { method: "PUT", path: `/kv/k${i}?x=1`, body: `{"value":${i}}`, seq: String(i) },
        );
        ports.add(got.port);
      }
      assert.equal(ports.size, 1, "every request went over the same connection");
      assert.equal(pool.size, 1);
      const missing = await pool.request(`${url}/missing`, "GET");
      assert.equal(missing.status, 404);
      assert.equal(text(missing.body), "no such key");
      assert.equal(pool.size, 1, "a 404 leaves the connection usable");
    } finally {
      pool.close();
    }
  });
});

Deno.test("http1: concurrent requests get a connection each, and reuse them afterwards", async () => {
  await withServer(async (_req, port) => {
    await new Promise((r) => setTimeout(r, 20));
    return new Response(String(port));
  }, async (url) => {
    const pool = new Http1Pool();
    try {
      const first = await Promise.all(Array.from({ length: 5 }, () => pool.request(`${url}/`, "GET")));
      assert.equal(new Set(first.map((r) => text(r.body))).size, 5);
      assert.equal(pool.size, 5);
      const second = await Promise.all(Array.from({ length: 5 }, () => pool.request(`${url}/`, "GET")));
      assert.deepEqual(new Set(second.map((r) => text(r.body))), new Set(first.map((r) => text(r.body))));
      assert.equal(pool.size, 5, "no new connection for the second wave");
    } finally {
      pool.close();
    }
  });
});

Deno.test("http1: chunked bodies with trailers, byte-by-byte delivery, and close-delimited bodies", async () => {
  let served = 0;
  await withRawServer(async (conn) => {
    while (await readRequestHead(conn) !== undefined) {
      served++;
      if (served === 1) {
        await conn.write(
          enc(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
          ),
        );
      } else if (served === 2) {
        // One byte per write: the head and the body arrive in many reads.
        for (const byte of enc("HTTP/1.1 201 Created\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabc")) {
          await conn.write(new Uint8Array([byte]));
        }
      } else {
        await conn.write(enc("HTTP/1.0 200 OK\r\n\r\nuntil the end"));
        return; // the connection closes: that ends the body
      }
    }
  }, async (url) => {
    const conn = await Http1Connection.open(url);
    try {
      const chunked = await conn.request("GET", "/");
      assert.equal(text(chunked.body), "hello, world");
      const slow = await conn.request("GET", "/");
      assert.equal(slow.status, 201);
      assert.equal(slow.headers.get("x-a"), "b");
      assert.equal(text(slow.body), "abc");
      assert.equal(conn.reusable, true);
      const closeDelimited = await conn.request("GET", "/");
      assert.equal(text(closeDelimited.body), "until the end");
      assert.equal(conn.reusable, false, "a body that ends with the connection leaves nothing to reuse");
    } finally {
      conn.close();
    }
  });
});

Deno.test("http1: Connection: close drops the connection from the pool", async () => {
  await withServer(() => new Response("bye", { headers: { connection: "close" } }), async (url) => {
    const pool = new Http1Pool();
    try {
      for (let i = 0; i < 3; i++) assert.equal(text((await pool.request(`${url}/`, "GET")).body), "bye");
      assert.equal(pool.size, 0);
    } finally {
      pool.close();
    }
  });
});

Deno.test("http1: failures are Http1Errors that say what happened", async () => {
  // Nothing listens on a port just released.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const freePort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await assert.rejects(
    Http1Connection.open(`http://127.0.0.1:${freePort}`),
    (e: Error) => e instanceof Http1Error && /cannot connect/.test(e.message),
  );
  await assert.rejects(Http1Connection.open("ftp://127.0.0.1:21"), /only http:\/\/ and https:\/\//);

  let mode = "";
  await withRawServer(async (conn) => {
    if (await readRequestHead(conn) === undefined) return;
    if (mode === "garbage") await conn.write(enc("SSH-2.0-OpenSSH\r\n\r\n"));
    if (mode === "short") await conn.write(enc("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    if (mode === "silent") await new Promise((r) => setTimeout(r, 1000));
    // "hangup": close without a word
  }, async (url) => {
    const cases: Array<[string, RegExp]> = [
      ["hangup", /closed the connection without answering/],
      ["garbage", /not an HTTP\/1.x status line/],
      ["short", /after 3 of 10 body bytes/],
      ["silent", /no response within 200 ms/],
    ];
    for (const [name, expected] of cases) {
      mode = name;
      const conn = await Http1Connection.open(url);
      const started = performance.now();
      await assert.rejects(
        conn.request("GET", "/", {}, undefined, 200),
        (e: Error) => e instanceof Http1Error && expected.test(e.message),
        name,
      );
      assert.ok(performance.now() - started < 1500, `${name} failed in time`);
      assert.equal(conn.reusable, false, `${name}: a failed connection is not reused`);
      conn.close();
    }
  });
});

Deno.test("http1: bad requests are refused before anything is sent", async () => {
  let requests = 0;
  await withServer(() => {
    requests++;
    return new Response("ok");
  }, async (url) => {
    const conn = await Http1Connection.open(url);
    try {
      await assert.rejects(
        conn.request("GET", "/", { "x-a": "b\r\nx-injected: 1" }),
        /invalid request header/,
      );
      await assert.rejects(conn.request("GET", "/", { "bad name": "v" }), /invalid request header/);
      await assert.rejects(conn.request("get", "/"), /invalid method/);
      await assert.rejects(conn.request("GET", "/a b"), /invalid request path/);
      assert.equal(requests, 0);
      assert.equal(text((await conn.request("GET", "/")).body), "ok", "the connection is still usable");
    } finally {
      conn.close();
    }
  });
});

Deno.test("http1: https with a trusted CA", async () => {
  const { ca, pem } = await ClusterCa.create("http1-test");
  const cert = await ca.issueNode({
    nodeId: 1,
    clusterId: "http1-test",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: cert.cert, key: cert.key, onListen: () => {} },
    () => new Response("secret"),
  );
  const pool = new Http1Pool({ caCerts: [pem.cert] });
  try {
    const r = await pool.request(`https://localhost:${server.addr.port}/`, "GET");
    assert.equal(text(r.body), "secret");
    await assert.rejects(
      new Http1Pool().request(`https://localhost:${server.addr.port}/`, "GET"),
      (e: Error) => e instanceof Http1Error,
      "an untrusted certificate is refused",
    );
  } finally {
    pool.close();
    await server.shutdown();
  }
});
