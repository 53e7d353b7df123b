/**
 * How a raft-kv server process should be started to keep its memory near its data (issue 17).
 * The setting must be given at process start (a running process cannot change it), so every
 * launcher passes it: the local supervisor (src/local/node_process.ts) and the container image
 * (Dockerfile.server, as ENV).
 *
 * MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own arena (up to 8 per core) and
 * returns little of a fragmented arena to the system; Deno's I/O threads allocate the buffers of
 * every file and socket operation. Measured with one node holding 200,000 keys of 500 B (about
 * 100 MB of values) after 60,000 writes by 64 writers (experiments/bench/node_memory.ts), RSS after
 * a full GC: 604 and 570 MB without it, 517, 531 and 596 MB with it. The effect is within the noise
 * of the shared machine; it is kept as the usual remedy for arena growth in many-threaded processes,
 * at no measurable cost in throughput. A smaller V8 young generation (--max-semi-space-size=4) gave
 * a similar result at 200,000 keys but a larger RSS at 1,000,000 keys (1,766 vs 1,237 MB) while
 * the data lived on the V8 heap (a small young generation promoted more of it, sooner).
 *
 * DENO_V8_FLAGS=--max-semi-space-size=4 (MB): since the keys and values live outside the V8 heap
 * (src/kv/value_arena.ts), the heap holds only short-lived request garbage and a few MB of
 * long-lived objects, and V8's default young generation (16 MB semi-spaces) is most of the heap.
 * One node with 1,000,000 keys of 100 B after 30,000 writes (node_memory.ts): heap total 80 ->
 * 26 MB, RSS 428 -> 365 MB, no loss of writes/s within the noise.
 *
 * MALLOC_MMAP_THRESHOLD_=32768: buffers of 32 KiB and more (batch entries, request bodies,
 * snapshot frames, WAL batches) get pages of their own, returned to the system when freed. By
 * default glibc raises this threshold to the size of each large block freed (up to 32 MiB), after
 * which such buffers come from its heap and the memory they leave behind stays in the process:
 * the same node kept 97 MB that malloc_trim(0) could release (RSS 377 -> 280 MB). With the fixed
 * threshold: RSS 268 MB (266-267 after malloc_trim: nothing left to release), writes/s within the
 * noise (11,959 and 13,398 vs 13,792 on the loaded machine). 128 KiB or 1 MiB kept 334-336 MB.
 * The cost: fresh pages for each large buffer; a 110 MB snapshot's sliced encode and save took
 * 540-585 ms of CPU instead of 367-436 (experiments/bench/snapshot_stall.ts, 1M keys of 100 B).
 * In 3-member clusters on the loaded machine (state-size, 10 s, alternating with and without):
 * peak RSS per member 345-389 vs 421-498 MB, writes/s 970-2270 vs 712-3732 (noise).
 */
export const SERVER_ENV: Record<string, string> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "32768",
  DENO_V8_FLAGS: "--max-semi-space-size=4",
};
