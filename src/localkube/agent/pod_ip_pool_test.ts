import assert from "node:assert/strict";
import { PodIpPool } from "./pod_ip_pool.ts";

Deno.test("pod IP pool", async (t) => {
  await t.step("gives each owner its own address in 127.N.0.0/16, stable per owner", () => {
    const pool = new PodIpPool(120);
    const a = pool.allocate("uid-a");
    const b = pool.allocate("uid-b");
    assert.equal(pool.cidr, "127.120.0.0/16");
    assert.match(a, /^127\.120\.\d+\.\d+$/);
    assert.notEqual(a, b);
    assert.equal(pool.allocate("uid-a"), a);
  });

  await t.step("never hands out .0 or .255 and reuses a released address as late as possible", () => {
    const pool = new PodIpPool(121);
    const seen: string[] = [];
    for (let i = 0; i < 300; i++) seen.push(pool.allocate(`p${i}`));
    assert.ok(seen.every((ip) => !ip.endsWith(".0") && !ip.endsWith(".255")));
    assert.equal(new Set(seen).size, 300);
    pool.release("p0");
    assert.notEqual(pool.allocate("fresh"), seen[0]);
  });

  await t.step("reports a full network and rejects a bad octet", () => {
    assert.throws(() => new PodIpPool(0), /second octet/);
    const pool = new PodIpPool(123);
    for (let i = 0; i < 256 * 254; i++) pool.allocate(`p${i}`);
    assert.throws(() => pool.allocate("one-too-many"), /is full/);
  });
});
