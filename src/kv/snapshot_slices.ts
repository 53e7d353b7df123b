/**
 * Encoding and decoding a state image in slices of a few milliseconds, yielding to the event
 * loop between them, so that heartbeats, client I/O and the Ready loop go on while a snapshot of
 * a large state is taken or installed. Callback style, like the node driver: with no `yieldThen`
 * (the simulator) every slice runs back to back and `done` is called before the function returns.
 */
import { KvStateMachine } from "./state_machine.ts";
import { ImageStreamDecoder } from "./snapshot_image.ts";
import type { SnapshotImageWriter } from "./node_store.ts";

/** Runs `fn` later, after pending I/O and timers (production: a macrotask). */
export type YieldThen = (fn: () => void) => void;

/** Work per slice: short next to a 10 ms tick and far below any election timeout. */
export const SLICE_MS = 4;

export interface Cancellable {
  cancel(): void;
}

/**
 * Encodes the state as it is now (a frozen generation, see kv_data.ts); the state keeps
 * changing meanwhile. Memory in flight: the image being built (one buffer, sized from the
 * state's character count) plus the keys written while it runs.
 */
export function encodeInSlices(
  sm: KvStateMachine,
  yieldThen: YieldThen | undefined,
  done: (error: Error | undefined, image?: Uint8Array) => void,
  /** Work per slice (tests pass 0: one frame per slice, whatever the machine's speed). */
  sliceMs = SLICE_MS,
): Cancellable {
  const encoder = sm.beginImage();
  let cancelled = false;
  let released = false;
  const release = () => {
    if (!released) sm.releaseImage();
    released = true;
  };
  const budget = yieldThen ? sliceMs : Infinity;
  const slice = (): void => {
    if (cancelled) return;
    let image: Uint8Array;
    try {
      if (!encoder.step(budget)) return yieldThen!(slice);
      image = encoder.image();
    } catch (error) {
      release();
      return done(error as Error);
    }
    release();
    done(undefined, image);
  };
  slice();
  return {
    cancel() {
      cancelled = true;
      release();
    },
  };
}

/**
 * Encodes the state as it is now (frozen at this call) straight into a store's snapshot file
 * (NodeStore.beginSnapshot, opened by `open`): each slice's bytes are written before the next
 * slice is encoded, so the memory in flight is one slice of the image (a few MB), not the image.
 * Calls back with the writer once every byte is written; the caller finishes it. Cancelling
 * aborts the writer (its partial file is removed).
 */
export function encodeToWriter(
  sm: KvStateMachine,
  open: (done: (error: Error | undefined, writer?: SnapshotImageWriter) => void) => void,
  done: (error: Error | undefined, writer?: SnapshotImageWriter) => void,
): Cancellable {
  const encoder = sm.beginImage(true);
  let cancelled = false;
  let released = false;
  let writer: SnapshotImageWriter | undefined;
  const release = () => {
    if (!released) sm.releaseImage();
    released = true;
  };
  const fail = (error: Error) => {
    release();
    writer?.abort();
    done(error);
  };
  const slice = (): void => {
    if (cancelled) return;
    let finished: boolean;
    let piece: Uint8Array;
    try {
      finished = encoder.step(SLICE_MS);
      piece = encoder.takeEncoded();
    } catch (error) {
      return fail(error as Error);
    }
    if (finished) release();
    // The write is asynchronous: the event loop runs (timers, sockets) before the next slice.
    writer!.write(piece, (error) => {
      if (cancelled) return;
      if (error) return fail(error);
      if (finished) done(undefined, writer);
      else slice();
    });
  };
  open((error, opened) => {
    if (cancelled) return opened?.abort();
    if (error) return fail(error);
    writer = opened;
    slice();
  });
  return {
    cancel() {
      cancelled = true;
      release();
      writer?.abort();
    },
  };
}

/** Decodes an image into a new state machine, a slice at a time. */
export function decodeInSlices(
  image: Uint8Array,
  yieldThen: YieldThen | undefined,
  done: (error: Error | undefined, sm?: KvStateMachine) => void,
): Cancellable {
  let cancelled = false;
  let started: ReturnType<typeof KvStateMachine.beginDecode>;
  try {
    started = KvStateMachine.beginDecode(image);
  } catch (error) {
    done(error as Error);
    return { cancel() {} };
  }
  const { sm, decoder } = started;
  const budget = yieldThen ? SLICE_MS : Infinity;
  const slice = (): void => {
    if (cancelled) return;
    try {
      if (decoder && !decoder.step(budget)) return yieldThen!(slice);
    } catch (error) {
      return done(error as Error);
    }
    done(undefined, sm);
  };
  slice();
  return {
    cancel() {
      cancelled = true;
    },
  };
}

/** Bytes read from a staged image per piece: the decoder holds about this much at a time. */
const FILE_PIECE_BYTES = 1024 * 1024;

/** Part of a file that holds an image (a snapshot file's data: after its preamble and metadata). */
export interface FileRange {
  offset: number;
  bytes: number;
}

/**
 * Decodes the image in a file into a new state machine: a piece of the file at a time, a slice
 * of decoding at a time, so neither the image nor the event loop is held. The file is a leader's
 * snapshot staged by the receiving transport (incoming_snapshots.ts: the whole file), or a
 * snapshot file at start-up (`range`: its image, after the file's preamble and metadata). A
 * format 1 image (one msgpack map, from older versions) cannot be decoded in pieces: it is read
 * whole.
 */
export function decodeFileInSlices(
  path: string,
  yieldThen: YieldThen | undefined,
  done: (error: Error | undefined, sm?: KvStateMachine) => void,
  range?: FileRange,
): Cancellable {
  let cancelled = false;
  const pause = () => new Promise<void>((resolve) => yieldThen ? yieldThen(resolve) : resolve());
  const run = async (): Promise<KvStateMachine | undefined> => {
    using file = await Deno.open(path, { read: true });
    const offset = range?.offset ?? 0;
    let left = range?.bytes ?? (await file.stat()).size - offset;
    if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
    /** Fills `into` with the next bytes of the image; fewer only at its end (or a short file). */
    const readInto = async (into: Uint8Array): Promise<Uint8Array> => {
      let at = 0;
      while (at < into.length && left > 0) {
        const n = await file.read(into.subarray(at, Math.min(into.length, at + left)));
        if (n === null) break;
        at += n;
        left -= n;
      }
      return into.subarray(0, at);
    };
    const first = await readInto(new Uint8Array(4));
    if (!ImageStreamDecoder.isStreamable(first)) {
      const whole = new Uint8Array(first.length + left);
      whole.set(first);
      const rest = await readInto(whole.subarray(first.length));
      return await new Promise((resolve, reject) =>
        decodeInSlices(
          whole.subarray(0, first.length + rest.length),
          yieldThen,
          (error, sm) => error ? reject(error) : resolve(sm),
        )
      );
    }
    const { sm, decoder, header } = KvStateMachine.beginStreamDecode();
    decoder.push(first);
    let headerTaken = false;
    // One read buffer for the whole file: the decoder copies what it is pushed.
    const buffer = new Uint8Array(FILE_PIECE_BYTES);
    while (!cancelled) {
      const piece = await readInto(buffer);
      if (piece.length === 0) break;
      decoder.push(piece);
      while (!decoder.step(SLICE_MS)) {
        await pause();
        if (cancelled) return undefined;
      }
      if (!headerTaken && decoder.header) {
        header();
        headerTaken = true;
      }
    }
    if (cancelled) return undefined;
    decoder.step();
    decoder.finish();
    if (!headerTaken) header();
    return sm;
  };
  run().then(
    (sm) => !cancelled && done(undefined, sm),
    (error) => !cancelled && done(error as Error),
  );
  return {
    cancel() {
      cancelled = true;
    },
  };
}
