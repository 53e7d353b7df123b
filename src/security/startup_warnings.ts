/** What a server says at start-up when it runs without TLS or without client authentication. */
export function securityWarnings(config: { tls?: unknown; authFile?: string }): string[] {
  const warnings: string[] = [];
  if (!config.tls) {
    warnings.push(
      "running WITHOUT TLS: client, admin and peer traffic, tokens included, travel in clear text " +
        "(give --tls-cert, --tls-key and --tls-ca, or `deno task local up --tls`)",
    );
  }
  if (!config.authFile) {
    warnings.push(
      "running WITHOUT client authentication: anyone who reaches the client port may read, write and " +
        "delete every key (give --auth-file)",
    );
  }
  return warnings;
}
