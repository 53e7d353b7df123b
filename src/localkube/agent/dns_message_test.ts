import assert from "node:assert/strict";
import { decodeQuery, DnsFormatError, encodeHeaderOnlyError, encodeResponse, RCODE } from "./dns_message.ts";

/** A query as a stub resolver sends it: header (id, RD flag, 1 question), the name's labels, type, class. */
function query(id: number, name: string, type = 1): Uint8Array {
  const labels = name.split(".").flatMap((label) => [label.length, ...new TextEncoder().encode(label)]);
  return new Uint8Array([
    id >> 8,
    id & 0xff,
    0x01,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    ...labels,
    0,
    0,
    type,
    0,
    1,
  ]);
}

Deno.test("dns message", async (t) => {
  await t.step("decodes a query's id, flags and lower-cased name", () => {
    const q = decodeQuery(query(0xbeef, "Web-0.Web.Default.svc.cluster.local"));
    assert.equal(q.id, 0xbeef);
    assert.equal(q.flags, 0x0100);
    assert.deepEqual(q.question, { name: "web-0.web.default.svc.cluster.local", type: 1, class: 1 });
  });

  await t.step("answers with one A record per address, pointing at the question's name", () => {
    const packet = query(7, "web.default.svc");
    const out = encodeResponse(decodeQuery(packet), packet, {
      rcode: RCODE.noError,
      addresses: ["127.100.0.1", "127.100.0.2"],
      ttlSeconds: 1,
    });
    const view = new DataView(out.buffer);
    assert.equal(view.getUint16(0), 7, "same id");
    assert.equal(view.getUint16(2), 0x8500, "QR, AA, RD echoed, rcode 0");
    assert.equal(view.getUint16(6), 2, "two answers");
    const first = packet.length;
    assert.equal(view.getUint16(first), 0xc00c, "name is a pointer to offset 12");
    assert.equal(view.getUint16(first + 2), 1, "type A");
    assert.equal(view.getUint32(first + 6), 1, "ttl");
    assert.deepEqual([...out.subarray(first + 12, first + 16)], [127, 100, 0, 1]);
    assert.deepEqual([...out.subarray(first + 28, first + 32)], [127, 100, 0, 2]);
  });

  await t.step("an unknown name gets NXDOMAIN with no answers", () => {
    const packet = query(9, "nope.example");
    const out = encodeResponse(decodeQuery(packet), packet, {
      rcode: RCODE.nameError,
      addresses: [],
      ttlSeconds: 0,
    });
    assert.equal(out[3] & 0xf, 3);
    assert.equal(new DataView(out.buffer).getUint16(6), 0);
  });

  await t.step("follows a compression pointer in the question", () => {
    // header, then at offset 12 the name "a" + pointer to offset 20 where "svc" sits (a contrived but legal layout)
    const packet = new Uint8Array([
      0,
      1,
      1,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      97,
      0xc0,
      20,
      0,
      1,
      0,
      1,
      3,
      115,
      118,
      99,
      0,
    ]);
    const q = decodeQuery(packet);
    assert.equal(q.question.name, "a.svc");
    assert.equal(q.questionEnd, 20);
  });

  await t.step("rejects broken packets with a DnsFormatError, never a crash", () => {
    assert.throws(() => decodeQuery(new Uint8Array(5)), DnsFormatError);
    assert.throws(() => decodeQuery(query(1, "x").subarray(0, 14)), DnsFormatError);
    const response = query(1, "x");
    response[2] |= 0x80;
    assert.throws(() => decodeQuery(response), /response/);
    const loop = new Uint8Array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    assert.throws(() => decodeQuery(loop), /compression pointers/);
    const error = encodeHeaderOnlyError(new Uint8Array([0, 42, 1, 0, 0, 1]), RCODE.formErr)!;
    assert.deepEqual([...error.subarray(0, 4)], [0, 42, 0x81, 0x01]);
  });
});
