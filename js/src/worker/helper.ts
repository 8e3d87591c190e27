/**
 * The worker helper (protocol section 10): the JavaScript half of the worker side.
 *
 * Bundled into `litebridge/_worker.js`; evaluating that text with `pyodide.code.run_js(text)`
 * returns a fresh {@link WorkerHelper}. It is transport only: it moves frames, it never
 * parses JSON. Every synchronous round trip is one call from Python ({@link WorkerHelper.callSync}),
 * because each Python -> JavaScript FFI hop costs several microseconds.
 *
 * @packageDocumentation
 */
import { FrameReader, FrameWriter } from '../frame';
import { KEEP_AWAKE_MS, KeepAwake } from '../keepAwake';
import { ScratchBuffers } from './scratch';
import type { ChannelFrame, HelloMessage, Transport } from '../protocol';
import {
  CHUNK_WAIT_MS,
  FRAME_MARK,
  HEADER_BYTES,
  isChannelFrame,
  Kind,
  PHASE_SPAN,
  PROTOCOL_VERSION,
  Phase,
  SAB_BYTES,
  SEQ_WRAP,
  Slot,
  TRANSPORTS
} from '../protocol';

/** Receives every frame the page posts: JSON text and its buffers (or null). */
export type FrameCallback = (json: string, buffers: Uint8Array[] | null) => void;

/** The helper object `run_js` returns (protocol section 10). */
export interface WorkerHelper {
  /**
   * Create the refusal port (and the SharedArrayBuffer when `crossOriginIsolated`), post
   * the hello on `self`, and route every frame the page posts to this worker (or, refusing
   * the hello, on the refusal port) to `onFrame`. Call once.
   *
   * @param onFrame - Called with every frame the page posts.
   * @param pyodideVersion - Pyodide version, for the hello.
   * @param pythonVersion - Python version, for the hello.
   * @param transport - Optional: the transport Python's `call_sync` will use, reported to the
   *   page in the hello. When omitted: `sab` if a SAB was created, else `jspi` if this
   *   runtime has `WebAssembly.Suspending`, else `async`.
   * @returns True when a SharedArrayBuffer was created (transport `sab` is possible).
   * @throws Error if called twice.
   */
  connect(onFrame: FrameCallback, pyodideVersion: string, pythonVersion: string, transport?: string): boolean;
  /**
   * Post one frame to the page, on `self` (protocol section 3).
   *
   * @param json - The envelope as JSON text.
   * @param buffers - null, a JS array of Uint8Array/ArrayBuffer/views, or a PyProxy of a
   *   Python list of buffer-protocol objects; they are copied before this returns.
   * @throws Error if not connected.
   */
  post(json: string, buffers: unknown): void;
  /**
   * Wait until the page has attached (`PAGE_READY == 1`).
   *
   * @param timeoutMs - Longest wait, in milliseconds.
   * @returns True if the page attached; false on timeout or when there is no SAB.
   */
  waitPageReady(timeoutMs: number): boolean;
  /**
   * One synchronous round trip over the SAB (protocol section 7).
   *
   * @param json - The request envelope as JSON text.
   * @param buffers - As for {@link WorkerHelper.post}; read in place, not copied first.
   * @param timeoutMs - Longest wait for the answer, in milliseconds.
   * @returns The answer frame: its JSON text when it has no buffers, else
   *   `[json, ...Uint8Array]`. The buffers are views of a scratch buffer that the next
   *   `callSync` reuses (`scratch.ts`): copy them before calling again.
   * @throws Error named `CallTimeout` when no answer came in time (a late answer is
   *   dropped), `BridgeUnavailable` when there is no SAB or the page never attached,
   *   `BridgeError` when the page broke the protocol.
   */
  callSync(json: string, buffers: unknown, timeoutMs: number): string | unknown[];
  /**
   * Make {@link WorkerHelper.callSync} interruptible (protocol section 11): while it waits for
   * the page's answer it wakes every {@link INTERRUPT_POLL_MS} ms, and when `buffer[0]` is
   * non-zero it calls `check` (Pyodide's `checkInterrupt`, which throws the
   * `KeyboardInterrupt`), gives the call up like a timeout (the SAB is left `IDLE`) and lets
   * the error through.
   *
   * @param buffer - The `Int32Array` registered with `pyodide.setInterruptBuffer`, or null to
   *   turn this off.
   * @param check - Throws when an interrupt is pending (`pyodide.checkInterrupt`).
   */
  setInterrupt(buffer: Int32Array | null, check: () => void): void;
  /**
   * A promise of the page's answer to the `sync: true` request `id` posted to the page (transport
   * `jspi`, protocol section 8). When a frame marked `answers: id` arrives (section 3) the
   * promise resolves with it, in JavaScript, and the frame is not passed to `onFrame`: Python
   * blocked in `pyodide.ffi.run_sync` on this promise resumes without running Python for the
   * frame's arrival first. Python then handles the frame itself. One promise per id at a time.
   *
   * @param id - The request's id.
   * @returns Resolves with the answer frame (its JSON text when it has no buffers, else
   *   `[json, ...Uint8Array]`), or with undefined (Python's None) when
   *   {@link WorkerHelper.wake} gave up the wait; never rejects.
   */
  awaitAnswer(id: number): Promise<string | unknown[] | undefined>;
  /**
   * End the wait of {@link WorkerHelper.awaitAnswer} for `id` (its promise resolves with
   * undefined): the call ended some other way (its timeout, a refusal). A later answer goes to
   * `onFrame`. Nothing happens when nothing waits for `id`.
   *
   * @param id - The request's id.
   */
  wake(id: number): void;
  /**
   * True while the worker's event loop is kept awake: for at most `KEEP_AWAKE_MS` after Python
   * posts a frame, until the next frame arrives from the page (the answer then finds the
   * worker running instead of asleep).
   */
  awake(): boolean;
}

/** How a `litebridge.apply` envelope starts its kind field, as `JSON.stringify` writes it. */
const APPLY_MARK = `"kind":"${Kind.apply}"`;

/** How often a blocked `callSync` looks at the interrupt buffer, in milliseconds. */
export const INTERRUPT_POLL_MS = 50;

/**
 * How long (ms) the worker polls STATE before it sleeps in `Atomics.wait` for the page's
 * next step: an answer that comes within it is seen without a futex wake-up.
 */
export const WAIT_SPIN_MS = 0.15;

/** What `PyProxy.getBuffer('u8')` returns, as far as the helper uses it. */
interface PyBufferLike {
  data: Uint8Array;
  c_contiguous?: boolean;
  release(): void;
}

/** A PyProxy of a buffer-protocol object. */
interface BufferProxyLike {
  getBuffer(type: string): PyBufferLike;
  destroy?: () => void;
}

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function isBufferProxy(value: unknown): value is BufferProxyLike {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as Partial<BufferProxyLike>).getBuffer === 'function'
  );
}

/** Byte views over the caller's buffers, and how to let go of them. */
interface BorrowedBuffers {
  views: Uint8Array[];
  release(): void;
}

function borrowOne(item: unknown, views: Uint8Array[], releases: (() => void)[]): void {
  if (item instanceof Uint8Array) {
    views.push(item);
  } else if (ArrayBuffer.isView(item)) {
    views.push(new Uint8Array(item.buffer, item.byteOffset, item.byteLength));
  } else if (item instanceof ArrayBuffer) {
    views.push(new Uint8Array(item));
  } else if (isBufferProxy(item)) {
    const buffer = item.getBuffer('u8');
    releases.push(() => {
      buffer.release();
      item.destroy?.();
    });
    if (buffer.c_contiguous === false) {
      throw namedError('TypeError', 'cannot send a non-contiguous buffer');
    }
    views.push(buffer.data);
  } else {
    throw namedError('TypeError', `cannot send ${typeof item} as a binary buffer`);
  }
}

/** Take byte views of `buffers` (see {@link WorkerHelper.post}); call `release` when done. */
function borrowBuffers(buffers: unknown): BorrowedBuffers {
  const views: Uint8Array[] = [];
  const releases: (() => void)[] = [];
  const release = (): void => {
    for (const free of releases) {
      free();
    }
    releases.length = 0;
  };
  if (buffers === null || buffers === undefined) {
    return { views, release };
  }
  try {
    if (Array.isArray(buffers)) {
      for (const item of buffers) {
        borrowOne(item, views, releases);
      }
    } else if (typeof (buffers as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function') {
      for (const item of buffers as Iterable<unknown>) {
        borrowOne(item, views, releases);
      }
    } else {
      throw namedError('TypeError', 'buffers must be null, an array or a Python list');
    }
  } catch (error) {
    release();
    throw error;
  }
  return { views, release };
}

/** Set on the worker global once a helper has connected: one connection per kernel. */
const CONNECTED = Symbol.for('litebridge.connected');

/** The worker global as far as the helper uses it. */
interface WorkerGlobal {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<unknown>) => void): void;
  crossOriginIsolated?: boolean;
}

/**
 * Create a worker helper bound to this worker's global scope.
 *
 * @param scope - The global to post the hello and frames on and receive the page's frames
 *   from; defaults to `globalThis` (the worker).
 * @returns The helper.
 */
export function createWorkerHelper(scope: WorkerGlobal = globalThis): WorkerHelper {
  /** Posts a message to the page (the scope's `postMessage`, taken when connecting). */
  let toPage: WorkerGlobal['postMessage'] | null = null;
  let header: Int32Array | null = null;
  let payload: Uint8Array | null = null;
  let seq = 0;
  /** Where the binary values of callSync answers are read into (copied by Python at once). */
  const scratch = new ScratchBuffers();
  /** Resolvers of {@link WorkerHelper.awaitAnswer}, by request id. */
  const answerWaits = new Map<number, (frame: string | unknown[] | undefined) => void>();
  const awakeLoop = new KeepAwake();
  /** Sync calls this worker is inside (a callback served during one may make another). */
  let depth = 0;
  /** Receives frames: posted by the page, and callbacks the page writes into the SAB. */
  let deliver: FrameCallback | null = null;
  let interrupt: { buffer: Int32Array; check: () => void } | null = null;

  const now = (): number => performance.now();

  /** Poll STATE while it is `value`, for at most WAIT_SPIN_MS. Returns the state seen last. */
  const spinWhile = (state: Int32Array, value: number): number => {
    let current = Atomics.load(state, Slot.STATE);
    if (current === value) {
      const end = now() + WAIT_SPIN_MS;
      while (current === value && now() < end) {
        current = Atomics.load(state, Slot.STATE);
      }
    }
    return current;
  };

  /** Wait while STATE == `value`, at most `timeoutMs`. Returns the state seen last. */
  const waitWhile = (state: Int32Array, value: number, timeoutMs: number): number => {
    const deadline = now() + timeoutMs;
    let current = spinWhile(state, value);
    while (current === value) {
      const remaining = deadline - now();
      if (remaining <= 0) {
        break;
      }
      Atomics.wait(state, Slot.STATE, value, remaining);
      current = Atomics.load(state, Slot.STATE);
    }
    return current;
  };

  /**
   * {@link waitWhile} for the page's answer, in slices of INTERRUPT_POLL_MS when an interrupt
   * buffer is set: a pending interrupt calls `check`, whose exception (KeyboardInterrupt)
   * propagates; a `check` that returns (a Python SIGINT handler that does not raise) resumes
   * the wait.
   */
  const waitWhileInterruptible = (state: Int32Array, value: number, timeoutMs: number): number => {
    if (interrupt === null) {
      return waitWhile(state, value, timeoutMs);
    }
    const deadline = now() + timeoutMs;
    let current = spinWhile(state, value);
    while (current === value) {
      if (Atomics.load(interrupt.buffer, 0) !== 0) {
        interrupt.check();
      }
      const remaining = deadline - now();
      if (remaining <= 0) {
        break;
      }
      Atomics.wait(state, Slot.STATE, value, Math.min(remaining, INTERRUPT_POLL_MS));
      current = Atomics.load(state, Slot.STATE);
    }
    return current;
  };

  const setState = (state: Int32Array, value: number): void => {
    Atomics.store(state, Slot.STATE, value);
    Atomics.notify(state, Slot.STATE);
  };

  const waitPageReady = (timeoutMs: number): boolean => {
    if (header === null) {
      return false;
    }
    const deadline = now() + timeoutMs;
    while (Atomics.load(header, Slot.PAGE_READY) !== 1) {
      const remaining = deadline - now();
      if (remaining <= 0) {
        return false;
      }
      Atomics.wait(header, Slot.PAGE_READY, 0, remaining);
    }
    return true;
  };

  const connect = (
    onFrame: FrameCallback,
    pyodideVersion: string,
    pythonVersion: string,
    transport?: string
  ): boolean => {
    if (toPage !== null) {
      throw namedError('BridgeError', 'connect() was already called');
    }
    const marks = scope as WorkerGlobal & { [CONNECTED]?: true };
    if (marks[CONNECTED] === true) {
      // One connection per kernel: a second hello would orphan the first one's calls and
      // exposed objects on the page (e.g. after importlib.reload of litebridge's modules).
      throw namedError(
        'BridgeError',
        'litebridge is already connected to the page in this kernel: use litebridge.page (a second connection would orphan the first)'
      );
    }
    marks[CONNECTED] = true;
    deliver = onFrame;
    // Frames travel on the worker's own channel (self.postMessage, the page's Worker): in
    // Firefox a MessagePort between the page and a worker costs about 45 us more per message
    // (docs/protocol.md section 1). The port of this channel only carries a hello refusal.
    const refusals = new MessageChannel();
    // A call of a Python callback (litebridge.apply) and an answer to a kernel request run with
    // JSPI stack switching where the runtime has it (PyProxy.callPromising), so that the
    // callback, or the task the answer resumes, can block in sync calls.
    const jspi = typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function';
    const promising = jspi ? (onFrame as { callPromising?: (...args: unknown[]) => Promise<unknown> }).callPromising : undefined;
    const receive = (frame: ChannelFrame): void => {
      awakeLoop.end();
      const buffers = frame.buffers.length > 0 ? frame.buffers.map((buffer) => new Uint8Array(buffer)) : null;
      const resolve = frame.answers === undefined ? undefined : answerWaits.get(frame.answers);
      if (resolve !== undefined) {
        answerWaits.delete(frame.answers as number);
        resolve(buffers === null ? frame.json : [frame.json, ...buffers]);
        return;
      }
      if (promising !== undefined && (frame.answers !== undefined || frame.json.includes(APPLY_MARK))) {
        promising.call(onFrame, frame.json, buffers).catch((error: unknown) => {
          console.error('litebridge: Python failed to handle a frame from the page:', error);
        });
        return;
      }
      onFrame(frame.json, buffers);
    };
    refusals.port1.onmessage = (event: MessageEvent<ChannelFrame>) => {
      receive(event.data);
    };
    scope.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (isChannelFrame(event.data)) {
        receive(event.data);
      }
    });
    const isolated = scope.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
    const sab = isolated ? new SharedArrayBuffer(SAB_BYTES) : null;
    if (sab !== null) {
      header = new Int32Array(sab, 0, HEADER_BYTES / 4);
      payload = new Uint8Array(sab, HEADER_BYTES);
    }
    let reported: Transport;
    if (sab !== null) {
      reported = 'sab';
    } else if (transport !== undefined && (TRANSPORTS as readonly string[]).includes(transport)) {
      reported = transport as Transport;
    } else {
      reported = typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function' ? 'jspi' : 'async';
    }
    const hello: HelloMessage = {
      v: PROTOCOL_VERSION,
      id: 0,
      kind: Kind.hello,
      port: refusals.port2,
      sab,
      pyodide: pyodideVersion,
      python: pythonVersion,
      transport: reported
    };
    toPage = scope.postMessage.bind(scope);
    toPage(hello, [refusals.port2]);
    return sab !== null;
  };

  const post = (json: string, buffers: unknown): void => {
    if (toPage === null) {
      throw namedError('BridgeError', 'post() before connect()');
    }
    const borrowed = borrowBuffers(buffers);
    let copies: ArrayBuffer[];
    try {
      copies = borrowed.views.map((view) => view.slice().buffer);
    } finally {
      borrowed.release();
    }
    const frame: ChannelFrame = { lb: FRAME_MARK, json: json, buffers: copies };
    toPage(frame, copies);
    awakeLoop.extend(KEEP_AWAKE_MS);
  };

  const callSync = (json: string, buffers: unknown, timeoutMs: number): string | unknown[] => {
    if (header === null || payload === null) {
      throw namedError(
        'BridgeUnavailable',
        'synchronous calls over SharedArrayBuffer need a cross-origin isolated page (COOP/COEP headers)'
      );
    }
    const start = now();
    if (Atomics.load(header, Slot.PAGE_READY) !== 1 && !waitPageReady(timeoutMs)) {
      throw namedError(
        'BridgeUnavailable',
        `the litebridge labextension did not answer within ${timeoutMs} ms: is it installed and enabled on this page?`
      );
    }
    const state = header;
    // Nested in a callback served during another sync call: leave STATE as that call had it.
    const resume = depth > 0 ? Atomics.load(state, Slot.STATE) : Phase.IDLE;
    if (depth === 0) {
      Atomics.add(state, Slot.EPOCH, 1);
    }
    depth += 1;
    try {
      return callSyncAt(state, payload, json, buffers, timeoutMs, start, resume);
    } finally {
      depth -= 1;
    }
  };

  /**
   * Read a callback the page wrote while this call waits (`CALLBACK` chunks, protocol
   * section 8) and serve it on this stack; afterwards STATE is `base + REQUEST` again.
   */
  const serveCallback = (state: Int32Array, payload: Uint8Array, base: number): void => {
    let reader: FrameReader | null = null;
    for (;;) {
      try {
        reader ??= new FrameReader(state[Slot.TOTAL_BYTES]);
        reader.push(payload.subarray(0, state[Slot.CHUNK_BYTES]));
      } catch (error) {
        console.error('litebridge: dropped a malformed callback from the page:', error);
        break;
      }
      if (reader.complete) {
        break;
      }
      setState(state, base + Phase.CALLBACK_ACK);
      if (waitWhile(state, base + Phase.CALLBACK_ACK, CHUNK_WAIT_MS) !== base + Phase.CALLBACK) {
        console.error('litebridge: the page did not send the rest of a callback in time');
        reader = null;
        break;
      }
    }
    if (reader?.complete === true) {
      const frame = reader.result();
      try {
        deliver?.(frame.json, frame.buffers.length > 0 ? frame.buffers : null);
      } finally {
        setState(state, base + Phase.REQUEST);
      }
    } else {
      setState(state, base + Phase.REQUEST);
    }
  };

  const callSyncAt = (
    state: Int32Array,
    payload: Uint8Array,
    json: string,
    buffers: unknown,
    timeoutMs: number,
    start: number,
    resume: number
  ): string | unknown[] => {
    seq = seq + 1 >= SEQ_WRAP ? 1 : seq + 1;
    const base = seq * PHASE_SPAN;

    // 1. The request, chunk by chunk.
    const borrowed = borrowBuffers(buffers);
    try {
      const writer = new FrameWriter(json, borrowed.views);
      state[Slot.TOTAL_BYTES] = writer.totalBytes;
      for (;;) {
        const index = writer.chunkIndex;
        state[Slot.CHUNK_BYTES] = writer.writeChunk(payload);
        state[Slot.CHUNK_INDEX] = index;
        setState(state, base + Phase.REQUEST);
        if (writer.done) {
          break;
        }
        const seen = waitWhile(state, base + Phase.REQUEST, CHUNK_WAIT_MS);
        if (seen !== base + Phase.REQUEST_ACK) {
          setState(state, resume);
          throw namedError(
            'CallTimeout',
            `the page did not acknowledge request chunk ${index} within ${CHUNK_WAIT_MS} ms`
          );
        }
      }
    } finally {
      borrowed.release();
    }

    // 2. Wait for the page to claim the call, bounded by the call's timeout; a keyboard
    //    interrupt gives the call up (or, if the page already claimed it, is raised once the
    //    answer has been read, so that the SAB is left IDLE either way).
    //    The page may instead write a callback (CALLBACK): it is served here, on this stack,
    //    and the wait goes on, bounded by the same deadline.
    let interrupted: { error: unknown } | null = null;
    let seen: number;
    for (;;) {
      try {
        seen = waitWhileInterruptible(state, base + Phase.REQUEST, timeoutMs - (now() - start));
      } catch (error) {
        if (Atomics.compareExchange(state, Slot.STATE, base + Phase.REQUEST, resume) === base + Phase.REQUEST) {
          Atomics.notify(state, Slot.STATE);
          throw error;
        }
        interrupted ??= { error };
        seen = Atomics.load(state, Slot.STATE);
      }
      if (seen === base + Phase.REQUEST) {
        if (Atomics.compareExchange(state, Slot.STATE, base + Phase.REQUEST, resume) === base + Phase.REQUEST) {
          Atomics.notify(state, Slot.STATE);
          if (interrupted !== null) {
            throw interrupted.error;
          }
          throw namedError('CallTimeout', `no answer from the page within ${timeoutMs} ms`);
        }
        seen = Atomics.load(state, Slot.STATE);
      }
      if (seen === base + Phase.CLAIMED) {
        seen = waitWhile(state, base + Phase.CLAIMED, CHUNK_WAIT_MS);
      }
      if (seen !== base + Phase.CALLBACK) {
        break;
      }
      serveCallback(state, payload, base);
    }

    // 3. The answer, chunk by chunk.
    let reader: FrameReader | null = null;
    for (;;) {
      if (seen !== base + Phase.RESPONSE) {
        setState(state, resume);
        const what = seen === base + Phase.CLAIMED || seen === base + Phase.RESPONSE_ACK ? 'timed out' : `state ${seen}`;
        throw namedError(
          seen === base + Phase.CLAIMED || seen === base + Phase.RESPONSE_ACK ? 'CallTimeout' : 'BridgeError',
          `answer of sync call ${seq} broke off: ${what} (chunk waits are bounded by ${CHUNK_WAIT_MS} ms)`
        );
      }
      try {
        reader ??= new FrameReader(state[Slot.TOTAL_BYTES], scratch.allocate);
        if (state[Slot.CHUNK_INDEX] !== reader.chunkIndex) {
          throw new RangeError(`chunk ${state[Slot.CHUNK_INDEX]} where ${reader.chunkIndex} was expected`);
        }
        reader.push(payload.subarray(0, state[Slot.CHUNK_BYTES]));
      } catch (error) {
        setState(state, resume);
        throw namedError('BridgeError', `malformed answer from the page: ${String(error)}`);
      }
      if (reader.complete) {
        break;
      }
      setState(state, base + Phase.RESPONSE_ACK);
      seen = waitWhile(state, base + Phase.RESPONSE_ACK, CHUNK_WAIT_MS);
    }
    if (resume === Phase.IDLE) {
      // The final IDLE of an outermost call is stored without a notify (protocol section 7):
      // the page is done with this call and its loop wakes for the next REQUEST, whose store
      // notifies; a page waiting to write a callback rechecks STATE on its own timer. A
      // notify here woke the page's main thread for nothing after every call.
      Atomics.store(state, Slot.STATE, Phase.IDLE);
    } else {
      setState(state, resume);
    }
    if (interrupted !== null) {
      throw interrupted.error;
    }
    const frame = reader.result();
    return frame.buffers.length === 0 ? frame.json : [frame.json, ...frame.buffers];
  };

  const setInterrupt = (buffer: Int32Array | null, check: () => void): void => {
    interrupt = buffer === null ? null : { buffer, check };
  };

  const awaitAnswer = (id: number): Promise<string | unknown[] | undefined> =>
    new Promise((resolve) => {
      answerWaits.get(id)?.(undefined);
      answerWaits.set(id, resolve);
    });

  const wake = (id: number): void => {
    const resolve = answerWaits.get(id);
    if (resolve !== undefined) {
      answerWaits.delete(id);
      resolve(undefined);
    }
  };

  const awake = (): boolean => awakeLoop.awake;

  return { connect, post, waitPageReady, callSync, setInterrupt, awaitAnswer, wake, awake };
}
