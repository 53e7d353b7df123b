/**
 * How a raft-kv server process should be started to keep its memory near its data (issue 17).
 * Both must be given at process start (a running process cannot change them), so every launcher
 * passes them: the local supervisor (src/local/node_process.ts) and the container image
 * (Dockerfile.server, as ENV).
 *
 * Measured with one node holding 200,000 keys of 500 B (about 100 MB of values) after 60,000
 * writes by 64 writers, RSS after a full GC: 604 MB with neither, 531 MB with both, throughput
 * unchanged within the noise of the shared machine.
 *   - MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own arena (up to 8 per
 *     core) and returns little of a fragmented arena to the system; Deno's I/O threads allocate
 *     the buffers of every file and socket operation.
 *   - --max-semi-space-size=4 (MB): V8's young generation grows to 3 x 16 MB by default, all of it
 *     resident once touched; a write's garbage (request, command, response) dies young either way.
 */
export const SERVER_V8_FLAGS = ["--max-semi-space-size=4"];
export const SERVER_ENV: Record<string, string> = { MALLOC_ARENA_MAX: "2" };
