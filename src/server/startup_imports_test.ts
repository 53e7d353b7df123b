/**
 * A node without TLS must not load the TLS machinery at start-up: node:tls, node:https, the Node HTTP
 * adapter and the X.509 library were over a third of a plain node's start-up CPU (median 360 -> 225 ms
 * here, 6 alternating starts), and a restarted follower's catch-up starts only when its process is up. They load through dynamic
 * import() where TLS is configured; this test walks the static import graph of the server's entry point.
 */
import assert from "node:assert/strict";

const HEAVY = [
  /npm:@peculiar\/x509/,
  /npm:reflect-metadata/,
  /^node:tls$/,
  /^node:https$/,
  /@hono\/node-server/,
];

interface DenoInfo {
  roots: string[];
  modules: Array<
    { specifier: string; dependencies?: Array<{ isDynamic?: boolean; code?: { specifier?: string } }> }
  >;
}

Deno.test("the server's static imports leave out TLS, HTTPS and X.509 (loaded only with TLS)", async () => {
  const main = new URL("./main.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", main], stdout: "piped" })
    .output();
  assert.equal(out.code, 0, "deno info failed");
  const info: DenoInfo = JSON.parse(new TextDecoder().decode(out.stdout));
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const via = new Map<string, string | undefined>([[info.roots[0], undefined]]);
  const queue = [info.roots[0]];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const dep of bySpecifier.get(at)?.dependencies ?? []) {
      const next = dep.code?.specifier;
      if (dep.isDynamic || !next || via.has(next)) continue;
      via.set(next, at);
      queue.push(next);
    }
  }
  const chain = (s: string) => {
    const path: string[] = [];
    for (let at: string | undefined = s; at; at = via.get(at)) path.push(at.replace(/^.*\/src\//, "src/"));
    return path.join(" <- ");
  };
  const loaded = [...via.keys()].filter((s) => HEAVY.some((h) => h.test(s)));
  assert.deepEqual(loaded.map(chain), [], "statically imported by a plain node");
  assert.ok(via.size > 50, `only ${via.size} modules found: is deno info's output still read right?`);
});
