/** Peer addresses as written in configuration: "host:port", "10.0.0.5:7000", "[::1]:7000". */

export interface PeerAddress {
  hostname: string;
  port: number;
}

/** Parses "host:port"; throws an error that shows the expected form. */
export function parseAddress(address: string): PeerAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]+)):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new Error(
      `peer address "${address}" must be host:port with a port in 1..65535 ` +
        `(e.g. kv-1.kv-peers:7000, 127.0.0.1:7000 or [::1]:7000)`,
    );
  }
  return { hostname: match[1] ?? match[2], port };
}
