/**
 * The agent's cluster DNS: UDP on 127.0.0.1:<port>, answering A queries from the EndpointSlices it
 * watches (see dns_records.ts). It does not recurse: other names get NXDOMAIN. Containers find it
 * in LOCALKUBE_DNS and resolve with `Deno.resolveDns(name, "A", { nameServer: { ipAddr, port } })`.
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { KubeApi } from "../kube_api.ts";
import { Reflector } from "../kube_reflector.ts";
import {
  decodeQuery,
  DnsFormatError,
  encodeHeaderOnlyError,
  encodeResponse,
  QCLASS_IN,
  QTYPE_A,
  RCODE,
} from "./dns_message.ts";
import { DnsRecords, EndpointSliceLike } from "./dns_records.ts";
import type { KubeObject } from "../kube_api.ts";

const TTL_SECONDS = 1; // pods come and go; resolvers should ask again soon

export class ClusterDns {
  #records = new DnsRecords();
  readonly #slices: Reflector<KubeObject & EndpointSliceLike>;
  readonly #socket = dgram.createSocket("udp4");
  port = 0;

  constructor(api: KubeApi, private readonly log: (line: string) => void) {
    this.#slices = new Reflector(api, "/apis/discovery.k8s.io/v1/endpointslices", () => {
      this.#records = DnsRecords.fromEndpointSlices(this.#slices.items.values());
    }, log);
  }

  async start(): Promise<void> {
    await this.#slices.start();
    this.#records = DnsRecords.fromEndpointSlices(this.#slices.items.values());
    this.#socket.on("message", (message, remote) => {
      const answer = this.answer(new Uint8Array(message));
      if (answer) this.#socket.send(Buffer.from(answer), remote.port, remote.address);
    });
    await new Promise<void>((resolve) => this.#socket.bind(0, "127.0.0.1", resolve));
    this.port = this.#socket.address().port;
  }

  async stop(): Promise<void> {
    await this.#slices.stop();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  /** The answer to one query packet (undefined: too broken to answer at all). */
  answer(packet: Uint8Array): Uint8Array | undefined {
    let query;
    try {
      query = decodeQuery(packet);
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
      return encodeHeaderOnlyError(packet, RCODE.formErr);
    }
    if (query.question.class !== QCLASS_IN) {
      return encodeResponse(query, packet, { rcode: RCODE.notImplemented, addresses: [], ttlSeconds: 0 });
    }
    const addresses = this.#records.lookup(query.question.name);
    if (addresses === undefined) {
      return encodeResponse(query, packet, { rcode: RCODE.nameError, addresses: [], ttlSeconds: 0 });
    }
    // A known name asked for another type (AAAA, ...): "no data", not "no such name".
    const answered = query.question.type === QTYPE_A ? addresses : [];
    return encodeResponse(query, packet, {
      rcode: RCODE.noError,
      addresses: answered,
      ttlSeconds: TTL_SECONDS,
    });
  }
}
