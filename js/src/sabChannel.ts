/**
 * The page end of the SharedArrayBuffer channel (protocol section 7).
 *
 * @packageDocumentation
 */
import type { Frame } from './frame';
import { FrameReader, FrameWriter } from './frame';
import { CHUNK_WAIT_MS, HEADER_BYTES, PHASE_SPAN, Phase, SEQ_WRAP, Slot } from './protocol';
import { KEEP_AWAKE_MS, KeepAwake } from './keepAwake';
import { nativeWaitAsync } from './waitAsyncFix';

/** What the bridge does with a request: the method name (for messages) and how to answer. */
export interface ServedRequest {
  /** The handler name, for messages. */
  method: string;
  /**
   * Start the handler and return its answer: the frame itself when the handler returned a
   * plain value (answered in the same task), else a promise of it that must never reject
   * (null: the call was cancelled, nothing to answer).
   */
  run: () => Frame | Promise<Frame | null>;
}

/** Decodes a request frame (synchronously). */
export type ServeFrame = (frame: Frame) => ServedRequest;

/** `Atomics.waitAsync`'s shape (ES2024). */
export type WaitAsyncFn = NonNullable<typeof nativeWaitAsync>;

/**
 * Longest sleep between two looks at `STATE` in a browser without `Atomics.waitAsync` (for
 * example Firefox before 145), in milliseconds: polling starts at 1 ms after activity and
 * doubles while the kernel stays idle, so an idle kernel costs about 20 wake-ups a second, not
 * 1000. The first sync call after a quiet spell waits at most this long to be seen.
 */
export const MAX_POLL_MS = 50;

/**
 * Whether sequence number `seq` comes after `last` (sequence numbers wrap at `SEQ_WRAP`).
 *
 * @param seq - A sequence number seen in `STATE`.
 * @param last - The last one dispatched (0: none yet).
 */
export function isNewerSeq(seq: number, last: number): boolean {
  if (seq === last) {
    return false;
  }
  return seq > last ? seq - last < SEQ_WRAP / 2 : last - seq > SEQ_WRAP / 2;
}

/** A page -> Python request waiting to be written into the SAB of a blocked worker. */
interface NestedRequest {
  frame: Frame;
  /** Sends it on the kernel's Worker instead (the worker stopped being blocked first). */
  fallback: () => void;
}

/** How long one look at `STATE` sleeps while waiting for a chance to write, in milliseconds. */
const RECHECK_MS = 250;

/**
 * The same while the worker reads an answer (`RESPONSE`), in milliseconds: the `IDLE` it then
 * stores comes without a notify.
 */
const ANSWERED_RECHECK_MS = 1;

/** One wait while `state[index] === value`: `Atomics.waitAsync`, or a sleep of `pollMs`. */
async function waitOnce(
  waitAsync: WaitAsyncFn | null,
  state: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
  pollMs: number
): Promise<void> {
  if (waitAsync !== null) {
    const result = waitAsync.call(Atomics, state, index, value, timeoutMs);
    if (result.async) {
      await result.value;
    }
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, pollMs)));
}

/**
 * Serves the synchronous calls a kernel's worker writes into the SAB.
 *
 * Its loop waits on `STATE` with `Atomics.waitAsync`, reads request chunks, starts the
 * handler and goes back to waiting at once: it never waits for a handler, so one that never
 * settles cannot block later calls. The answer is written when the handler settles, only if
 * the worker has not given up in the meantime.
 */
export class SabChannel {
  private readonly header: Int32Array;
  private readonly payload: Uint8Array;
  private readonly serve: ServeFrame;
  private readonly waitAsync: WaitAsyncFn | null;
  private stopped = false;
  private incoming: { seq: number; reader: FrameReader } | null = null;
  private lastDispatchedSeq = 0;
  /** The `EPOCH` slot when each open call was dispatched: a newer epoch means it ended. */
  private readonly epochs = new Map<number, number>();
  private readonly nested: NestedRequest[] = [];
  private nestedRunning = false;
  private readonly keepAwakeMs: number;
  private readonly awakeLoop = new KeepAwake();

  /**
   * @param sab - The buffer from the hello (`HEADER_BYTES` of header, then the payload).
   * @param serve - Starts serving one decoded request.
   * @param waitAsync - `Atomics.waitAsync` to use; null polls instead (browsers without it).
   *   Defaults to the browser's own, captured before any wrapper.
   * @param keepAwakeMs - How long to keep the page's event loop awake after each answer, in
   *   milliseconds ({@link KEEP_AWAKE_MS}); 0: never.
   */
  constructor(
    sab: SharedArrayBuffer,
    serve: ServeFrame,
    waitAsync: WaitAsyncFn | null = nativeWaitAsync ?? null,
    keepAwakeMs: number = KEEP_AWAKE_MS
  ) {
    this.header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.payload = new Uint8Array(sab, HEADER_BYTES);
    this.serve = serve;
    this.waitAsync = waitAsync;
    this.keepAwakeMs = keepAwakeMs;
  }

  /** True while the loop that keeps the page awake after an answer runs. */
  get awake(): boolean {
    return this.awakeLoop.awake;
  }

  /** Tell the worker the page is attached (`PAGE_READY = 1`) and start the loop. */
  start(): void {
    Atomics.store(this.header, Slot.PAGE_READY, 1);
    Atomics.notify(this.header, Slot.PAGE_READY);
    void this.run();
  }

  /** Stop the loop; answers of handlers still running are dropped. */
  stop(): void {
    this.stopped = true;
    this.awakeLoop.end();
    // Wake our own pending waitAsync; the worker, if still alive, re-checks and waits again.
    Atomics.notify(this.header, Slot.STATE);
  }

  /**
   * Deliver a page -> Python request to a worker blocked in a sync call (protocol section 8):
   * it is written into the SAB as `CALLBACK` chunks instead of an answer; the worker serves
   * it on the blocked call's stack and goes back to waiting. Requests are written in order,
   * one at a time; the first is written before this returns when the worker is waiting.
   *
   * @param frame - The request (a `litebridge.call` or `litebridge.apply` frame).
   * @param fallback - Posts it on the kernel's Worker instead; called if the worker stops being blocked
   *   before it could be written.
   * @returns False when the worker is not blocked (post it on the kernel's Worker).
   */
  sendNested(frame: Frame, fallback: () => void): boolean {
    if (this.stopped || Atomics.load(this.header, Slot.STATE) % PHASE_SPAN === Phase.IDLE) {
      return false;
    }
    this.nested.push({ frame, fallback });
    if (!this.nestedRunning) {
      void this.drainNested();
    }
    return true;
  }

  private async drainNested(): Promise<void> {
    this.nestedRunning = true;
    try {
      while (this.nested.length > 0 && !this.stopped) {
        await this.writeNested(this.nested[0]);
        this.nested.shift();
      }
    } finally {
      this.nestedRunning = false;
    }
  }

  /** Claim the SAB of the call the worker waits on and write `request` as CALLBACK chunks. */
  private async writeNested(request: NestedRequest): Promise<void> {
    let base: number;
    for (;;) {
      if (this.stopped) {
        return;
      }
      const state = Atomics.load(this.header, Slot.STATE);
      const phase = state % PHASE_SPAN;
      if (phase === Phase.IDLE) {
        request.fallback(); // no longer blocked: it reads its messages again
        return;
      }
      const seq = Math.floor(state / PHASE_SPAN);
      if (phase === Phase.REQUEST && this.epochs.has(seq)) {
        base = seq * PHASE_SPAN;
        if (Atomics.compareExchange(this.header, Slot.STATE, state, base + Phase.CLAIMED) === state) {
          break;
        }
        continue;
      }
      // After the last answer chunk (RESPONSE) the worker stores IDLE without a notify
      // (protocol section 7): look again soon rather than after RECHECK_MS.
      const recheckMs = phase === Phase.RESPONSE ? ANSWERED_RECHECK_MS : RECHECK_MS;
      await waitOnce(this.waitAsync, this.header, Slot.STATE, state, recheckMs, 1);
    }
    const writer = new FrameWriter(request.frame.json, request.frame.buffers);
    this.header[Slot.TOTAL_BYTES] = writer.totalBytes;
    for (;;) {
      const index = writer.chunkIndex;
      this.header[Slot.CHUNK_BYTES] = writer.writeChunk(this.payload);
      this.header[Slot.CHUNK_INDEX] = index;
      Atomics.store(this.header, Slot.STATE, base + Phase.CALLBACK);
      Atomics.notify(this.header, Slot.STATE);
      if (writer.done) {
        return; // the worker serves it and stores base + REQUEST when done
      }
      const seen = await this.waitWhile(base + Phase.CALLBACK, CHUNK_WAIT_MS);
      if (seen !== base + Phase.CALLBACK_ACK) {
        console.warn(`litebridge: the kernel did not acknowledge chunk ${index} of a call made while it was blocked`);
        return;
      }
    }
  }

  /**
   * Wait until the worker waits on call `seq` again (`REQUEST`) and claim it for the answer.
   *
   * @returns False when the worker gave up on that call (its answer is dropped).
   */
  private async claimLater(seq: number): Promise<boolean> {
    const base = seq * PHASE_SPAN;
    for (;;) {
      if (this.stopped) {
        return false;
      }
      const state = Atomics.load(this.header, Slot.STATE);
      if (this.nested.length === 0 && state === base + Phase.REQUEST) {
        if (Atomics.compareExchange(this.header, Slot.STATE, state, base + Phase.CLAIMED) === state) {
          return true;
        }
        continue;
      }
      // Still open while the worker is inside the same outermost call (serving a callback of
      // it, or a sync call made by that callback); a new epoch or IDLE means it gave up.
      if (state % PHASE_SPAN === Phase.IDLE || this.header[Slot.EPOCH] !== this.epochs.get(seq)) {
        return false;
      }
      await waitOnce(this.waitAsync, this.header, Slot.STATE, state, RECHECK_MS, 1);
    }
  }

  private async run(): Promise<void> {
    let pollMs = 1;
    while (!this.stopped) {
      const state = Atomics.load(this.header, Slot.STATE);
      if (this.examine(state)) {
        // We acted (and may have stored REQUEST_ACK): look again before waiting. Waiting on
        // `state` now could sleep through the next chunk, whose STATE value is the same.
        pollMs = 1;
        continue;
      }
      await waitOnce(this.waitAsync, this.header, Slot.STATE, state, Infinity, pollMs);
      pollMs = Atomics.load(this.header, Slot.STATE) === state ? Math.min(pollMs * 2, MAX_POLL_MS) : 1;
    }
  }

  /** Wait while `STATE === value` (an answer chunk in flight), at most `timeoutMs`. */
  private async waitWhile(value: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let current = Atomics.load(this.header, Slot.STATE);
    while (current === value) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        break;
      }
      await waitOnce(this.waitAsync, this.header, Slot.STATE, value, remaining, 1);
      current = Atomics.load(this.header, Slot.STATE);
    }
    return current;
  }

  /**
   * React to a `STATE` value: read a request chunk if there is a new one.
   *
   * @returns True if a chunk was consumed (acknowledged or dispatched).
   */
  private examine(state: number): boolean {
    if (state % PHASE_SPAN !== Phase.REQUEST) {
      return false;
    }
    const seq = Math.floor(state / PHASE_SPAN);
    const index = this.header[Slot.CHUNK_INDEX];
    if (index === 0) {
      if (!isNewerSeq(seq, this.lastDispatchedSeq) || this.incoming?.seq === seq) {
        return false; // already read (the worker waits on it again after a nested call)
      }
      try {
        this.incoming = { seq, reader: new FrameReader(this.header[Slot.TOTAL_BYTES]) };
      } catch (error) {
        this.incoming = null;
        this.lastDispatchedSeq = seq;
        console.error(`litebridge: dropped sync call ${seq}:`, error);
        return false;
      }
    }
    const incoming = this.incoming;
    if (incoming === null || incoming.seq !== seq || incoming.reader.chunkIndex !== index) {
      return false;
    }
    let frame: Frame;
    try {
      incoming.reader.push(this.payload.subarray(0, this.header[Slot.CHUNK_BYTES]));
      if (!incoming.reader.complete) {
        Atomics.store(this.header, Slot.STATE, seq * PHASE_SPAN + Phase.REQUEST_ACK);
        Atomics.notify(this.header, Slot.STATE);
        return true;
      }
      frame = incoming.reader.result();
    } catch (error) {
      // The worker will time out; there is no id to answer without decoding the frame.
      this.incoming = null;
      this.lastDispatchedSeq = seq;
      console.error(`litebridge: dropped malformed sync call ${seq}:`, error);
      return false;
    }
    this.incoming = null;
    this.lastDispatchedSeq = seq;
    const served = this.serve(frame);
    // Before the handler starts: a call into the kernel it makes at once goes into the SAB.
    this.epochs.set(seq, this.header[Slot.EPOCH]);
    const answer = served.run();
    if (answer instanceof Promise) {
      void answer.then((frame) => (frame === null ? undefined : this.respond(seq, frame)));
    } else {
      void this.respond(seq, answer); // writes the (first) answer chunk before returning
    }
    return true;
  }

  /** Write the answer of call `seq`, unless the worker gave up on it. */
  private async respond(seq: number, answer: Frame): Promise<void> {
    const base = seq * PHASE_SPAN;
    if (this.stopped) {
      this.epochs.delete(seq);
      return;
    }
    if (
      (this.nested.length > 0 ||
        Atomics.compareExchange(this.header, Slot.STATE, base + Phase.REQUEST, base + Phase.CLAIMED) !== base + Phase.REQUEST) &&
      !(await this.claimLater(seq))
    ) {
      this.epochs.delete(seq);
      return; // the worker timed out: drop the late answer
    }
    this.epochs.delete(seq);
    const writer = new FrameWriter(answer.json, answer.buffers);
    this.header[Slot.TOTAL_BYTES] = writer.totalBytes;
    for (;;) {
      const index = writer.chunkIndex;
      this.header[Slot.CHUNK_BYTES] = writer.writeChunk(this.payload);
      this.header[Slot.CHUNK_INDEX] = index;
      Atomics.store(this.header, Slot.STATE, base + Phase.RESPONSE);
      Atomics.notify(this.header, Slot.STATE);
      if (writer.done) {
        this.keepAwake();
        return;
      }
      const seen = await this.waitWhile(base + Phase.RESPONSE, CHUNK_WAIT_MS);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run during the await
      if (seen !== base + Phase.RESPONSE_ACK || this.stopped) {
        if (seen === base + Phase.RESPONSE) {
          Atomics.store(this.header, Slot.STATE, Phase.IDLE);
          Atomics.notify(this.header, Slot.STATE);
        }
        console.warn(`litebridge: the kernel did not acknowledge answer chunk ${index} of sync call ${seq}`);
        return;
      }
    }
  }

  /** Keep the page's event loop awake for `keepAwakeMs` from now (see {@link KEEP_AWAKE_MS}). */
  private keepAwake(): void {
    if (!this.stopped) {
      this.awakeLoop.extend(this.keepAwakeMs);
    }
  }
}
