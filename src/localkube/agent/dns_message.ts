/**
 * The small part of the DNS wire format (RFC 1035) that the agent's resolver needs: read a query's
 * first question, write an answer made of A records. No I/O here, so it is tested byte by byte.
 */

export const QTYPE_A = 1;
export const QCLASS_IN = 1;

export const RCODE = { noError: 0, formErr: 1, nameError: 3, notImplemented: 4 } as const;

export interface DnsQuestion {
  /** Lower-cased, without the trailing dot. */
  name: string;
  type: number;
  class: number;
}

export interface DnsQuery {
  id: number;
  /** The header's second 16 bits, echoed in part (opcode, RD) in the answer. */
  flags: number;
  question: DnsQuestion;
  /** Bytes of the header plus the question, copied into the answer. */
  questionEnd: number;
}

export class DnsFormatError extends Error {}

const HEADER_BYTES = 12;

/** Reads the header and the first question; rejects anything that is not a plain query. */
export function decodeQuery(packet: Uint8Array): DnsQuery {
  if (packet.length < HEADER_BYTES) {
    throw new DnsFormatError(`packet of ${packet.length} bytes is shorter than a header`);
  }
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const id = view.getUint16(0);
  const flags = view.getUint16(2);
  if (flags & 0x8000) throw new DnsFormatError("packet is a response, not a query");
  const questions = view.getUint16(4);
  if (questions < 1) throw new DnsFormatError("query has no question");
  const { name, end } = readName(packet, HEADER_BYTES);
  if (end + 4 > packet.length) throw new DnsFormatError("question is cut short before its type and class");
  return {
    id,
    flags,
    question: { name, type: view.getUint16(end), class: view.getUint16(end + 2) },
    questionEnd: end + 4,
  };
}

function readName(packet: Uint8Array, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let offset = start;
  let end = -1;
  // Compression pointers are legal in a question; the jump count bounds loops in hostile packets.
  for (let jumps = 0; jumps < 32;) {
    if (offset >= packet.length) throw new DnsFormatError("name runs past the end of the packet");
    const length = packet[offset];
    if (length === 0) {
      return { name: labels.join(".").toLowerCase(), end: end === -1 ? offset + 1 : end };
    }
    if ((length & 0xc0) === 0xc0) {
      if (offset + 1 >= packet.length) throw new DnsFormatError("compression pointer is cut short");
      if (end === -1) end = offset + 2;
      offset = ((length & 0x3f) << 8) | packet[offset + 1];
      jumps++;
      continue;
    }
    if (length > 63) throw new DnsFormatError(`label length ${length} is over 63`);
    if (offset + 1 + length > packet.length) {
      throw new DnsFormatError("label runs past the end of the packet");
    }
    labels.push(new TextDecoder().decode(packet.subarray(offset + 1, offset + 1 + length)));
    offset += 1 + length;
  }
  throw new DnsFormatError("name has too many compression pointers");
}

/** An answer to `query`: its question echoed, then one A record per address (all pointing at the question's name). */
export function encodeResponse(
  query: DnsQuery,
  packet: Uint8Array,
  answer: { rcode: number; addresses: string[]; ttlSeconds: number },
): Uint8Array {
  const records = answer.addresses.map(ipv4Bytes);
  const out = new Uint8Array(query.questionEnd + records.length * 16);
  out.set(packet.subarray(0, query.questionEnd));
  const view = new DataView(out.buffer);
  const opcodeAndRd = query.flags & 0x7900;
  // QR=1, AA=1 (we are the authority for these names), RA=0 (we do not recurse).
  view.setUint16(2, 0x8000 | opcodeAndRd | 0x0400 | (answer.rcode & 0xf));
  view.setUint16(4, 1);
  view.setUint16(6, records.length);
  view.setUint16(8, 0);
  view.setUint16(10, 0);
  let offset = query.questionEnd;
  for (const ip of records) {
    view.setUint16(offset, 0xc000 | HEADER_BYTES); // the name: a pointer to the question's name
    view.setUint16(offset + 2, QTYPE_A);
    view.setUint16(offset + 4, QCLASS_IN);
    view.setUint32(offset + 6, answer.ttlSeconds);
    view.setUint16(offset + 10, 4);
    out.set(ip, offset + 12);
    offset += 16;
  }
  return out;
}

/** A minimal error answer for packets whose question could not be read: header only. */
export function encodeHeaderOnlyError(packet: Uint8Array, rcode: number): Uint8Array | undefined {
  if (packet.length < 4) return undefined;
  const out = new Uint8Array(HEADER_BYTES);
  out.set(packet.subarray(0, 2));
  new DataView(out.buffer).setUint16(2, 0x8000 | (packet[2] << 8 & 0x7900) | (rcode & 0xf));
  return out;
}

function ipv4Bytes(ip: string): Uint8Array {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`"${ip}" is not an IPv4 address`);
  }
  return new Uint8Array(parts);
}
