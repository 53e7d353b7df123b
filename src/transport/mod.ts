/** Public surface of the peer transport. */
export { type MessageObserver, PeerTransport, type TransportStats } from "./peer_transport.ts";
export type { LogLevel, PeerTransportOptions, TransportLog } from "./options.ts";
export type { PeerStats } from "./peer_link.ts";
export { type FaultDescription, FaultInjector, type FaultVerdict } from "./faults.ts";
export { dnsResolver, type ResolveHost, resolverFromEnv } from "./resolver.ts";
export { PROTOCOL_VERSION } from "./handshake.ts";
export type { PeerChannel, PeerConn, PeerListener } from "./secure_channel.ts";
