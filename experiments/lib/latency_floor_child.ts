/**
 * The other end of a latency-floor measurement (latency_floor.ts), a process of its own, as a
 * member is: the floor must include a second process waking up, not just a second socket.
 *
 *   echo                        TCP echo on 127.0.0.1 (prints {"port"}), until its client leaves
 *   http                        a bare Deno.serve on 127.0.0.1 answering {"ok":true} (prints {"port"})
 *   fsync FILE START_MS SECONDS append 200 B + fdatasync in a loop from START_MS (epoch) for SECONDS;
 *                               prints {"us": [...]} (each append's time), then removes FILE
 */
const [role, ...args] = Deno.args;

/** The runway the appends go into, written and synced first, as the WAL keeps one (wal_writer.ts). */
const RUNWAY_BYTES = 4 << 20;
const APPEND_BYTES = 200;

function say(value: object): void {
  console.log(JSON.stringify(value));
}

async function echo(): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  say({ port: (listener.addr as Deno.NetAddr).port });
  const conn = await listener.accept();
  listener.close();
  conn.setNoDelay(true);
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    let written = 0;
    while (written < n) written += await conn.write(buf.subarray(written, n));
  }
  conn.close();
}

function http(): void {
  const body = '{"ok":true}';
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => say({ port }) }, async (request) => {
    await request.arrayBuffer();
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
}

async function fsync(path: string, startAtMs: number, seconds: number): Promise<void> {
  const file = Deno.openSync(path, { read: true, write: true, create: true, truncate: true });
  file.writeSync(new Uint8Array(RUNWAY_BYTES));
  file.syncSync();
  const record = new Uint8Array(APPEND_BYTES).fill(7);
  const us: number[] = [];
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAtMs - Date.now())));
  const end = performance.now() + seconds * 1000;
  let offset = 0;
  while (performance.now() < end) {
    if (offset + APPEND_BYTES > RUNWAY_BYTES) offset = 0;
    const started = performance.now();
    file.seekSync(offset, Deno.SeekMode.Start);
    file.writeSync(record);
    file.syncDataSync();
    us.push(Math.round((performance.now() - started) * 1000));
    offset += APPEND_BYTES;
  }
  file.close();
  Deno.removeSync(path);
  say({ us });
}

if (role === "echo") await echo();
else if (role === "http") http();
else if (role === "fsync" && args.length === 3) await fsync(args[0], Number(args[1]), Number(args[2]));
else {
  console.error("usage: latency_floor_child.ts echo | http | fsync FILE START_MS SECONDS");
  Deno.exit(2);
}
