/**
 * The cluster DNS: UDP, answering A queries from the Services and Pods it watches (see
 * dns_records.ts). It does not recurse: other names get NXDOMAIN. Under the node agent it listens on
 * 127.0.0.1:<port> and containers find it in LOCALKUBE_DNS (`Deno.resolveDns(name, "A", { nameServer })`);
 * on the real node it listens on the bridge address, port 53, as the kubelet's clusterDNS.
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { KubeApi, KubeObject } from "../kube_api.ts";
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
import { DnsRecords, PodLike, ServiceLike } from "./dns_records.ts";

const TTL_SECONDS = 1; // pods come and go; resolvers should ask again soon

export class ClusterDns {
  #records = new DnsRecords();
  readonly #services: Reflector<KubeObject & ServiceLike>;
  readonly #pods: Reflector<KubeObject & PodLike>;
  readonly #socket = dgram.createSocket("udp4");
  port = 0;

  /**
   * Under the node agent `apiserverIp` answers for `kubernetes.default` (its Service has no
   * endpoints there); with `serviceIps` (kube-proxy runs) Services answer their ClusterIPs instead.
   */
  constructor(
    api: KubeApi,
    private readonly apiserverIp: string | undefined,
    log: (line: string) => void,
    private readonly listen: { host: string; port: number; serviceIps: boolean } = {
      host: "127.0.0.1",
      port: 0,
      serviceIps: false,
    },
  ) {
    this.#services = new Reflector(api, "/api/v1/services", () => this.#rebuild(), log);
    this.#pods = new Reflector(api, "/api/v1/pods", () => this.#rebuild(), log);
  }

  #rebuild() {
    this.#records = DnsRecords.fromCluster(
      this.#services.items.values(),
      this.#pods.items.values(),
      this.apiserverIp ? { "kubernetes.default": [this.apiserverIp] } : {},
      { serviceIps: this.listen.serviceIps },
    );
  }

  async start(): Promise<void> {
    await this.#services.start();
    await this.#pods.start();
    this.#rebuild();
    this.#socket.on("message", (message, remote) => {
      const answer = this.answer(new Uint8Array(message));
      if (answer) this.#socket.send(Buffer.from(answer), remote.port, remote.address);
    });
    await new Promise<void>((resolve, reject) => {
      this.#socket.once("error", reject);
      this.#socket.bind(this.listen.port, this.listen.host, () => {
        this.#socket.off("error", reject);
        resolve();
      });
    });
    this.port = this.#socket.address().port;
  }

  async stop(): Promise<void> {
    await Promise.all([this.#services.stop(), this.#pods.stop()]);
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
