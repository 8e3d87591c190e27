/**
 * One bridge per kernel: its frames, page -> Python calls, and serving Python -> page calls.
 *
 * Independent of JupyterLab: it is attached with the kernel's hello and `Worker`, so that it
 * can be exercised with a plain `MessageChannel` standing in for the Worker in tests.
 *
 * @packageDocumentation
 */
import { checkPayloadSize, decodeValue, DecodeError, encodeValue, needsDecoding } from './codec';
import { BridgeError, bridgeWireError, errorFromWire, errorToWire } from './errors';
import type { Frame } from './frame';
import { handlerThis, ServingCall } from './handlerContext';
import type {
  CancelMessage,
  Envelope,
  ChannelFrame,
  HelloMessage,
  Transport,
  WireError
} from './protocol';
import { DEFAULT_TIMEOUT_MS, ErrorCode, FRAME_MARK, isChannelFrame, Kind, PROTOCOL_VERSION, StreamKind, TRANSPORTS } from './protocol';
import type { HandlerRegistry } from './registry';
import { HandlerRegistry as Registry, checkMethodName, evaluateSource, resolveHandler } from './registry';
import type { ServedRequest } from './sabChannel';
import { SabChannel } from './sabChannel';
import { KEEP_AWAKE_MS, KeepAwake } from './keepAwake';
import type { StreamCounts } from './streams';
import { StreamTable } from './streams';
import { PageHandles, PythonRefs } from './handles';
import { WindowOps } from './windowOps';

/**
 * The kernel's `Worker`, as the bridge uses it: every frame travels on it, in both directions
 * (protocol section 3). A `Worker` is one; so is a started `MessagePort`.
 */
export interface KernelWorker {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<unknown>) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent<unknown>) => void): void;
}

/** Options of {@link KernelBridge.invoke}. */
export interface InvokeOptions {
  /** Longest wait for the answer (and for the kernel's hello), in milliseconds; default 30000. `Infinity` waits forever. */
  timeoutMs?: number;
  /** Aborts the wait: the promise rejects with the signal's reason; a late answer is dropped. */
  signal?: AbortSignal;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  cleanup: () => void;
  /** `performance.now()` ms when the call times out; `Infinity`: never. */
  deadline: number;
  /** The caller's timeout in ms, for the message. */
  timeoutMs: number;
}

/** A shared-timer wake-up expires calls due within this many milliseconds (timer jitter). */
const DEADLINE_SLACK_MS = 1;

const noop = (): void => undefined;

/**
 * Refuse a kernel's hello: answer on its refusal port with a `litebridge.error` of id 0
 * (protocol sections 1 and 2), which every protocol version reads, so that Python raises
 * `BridgeUnavailable` with `reason` at once instead of waiting for a page that will never
 * serve it.
 *
 * @param hello - The hello to refuse.
 * @param reason - Why, for the Python error message.
 */
export function refuseHello(hello: HelloMessage, reason: string): void {
  console.warn(`litebridge: refused a kernel's connection: ${reason}`);
  const port: unknown = (hello as { port?: unknown }).port;
  if (!(port instanceof MessagePort)) {
    return;
  }
  const refusal = { v: PROTOCOL_VERSION, id: 0, kind: Kind.error, error: bridgeWireError(ErrorCode.badRequest, reason) };
  port.postMessage({ lb: FRAME_MARK, json: JSON.stringify(refusal), buffers: [] } satisfies ChannelFrame);
}

/** True for a structured-clone object that is a litebridge hello. */
export function isHello(data: unknown): data is HelloMessage {
  return (
    data !== null &&
    typeof data === 'object' &&
    (data as { kind?: unknown }).kind === Kind.hello &&
    (data as { id?: unknown }).id === 0
  );
}

/** A received envelope before validation: any field may be missing or of the wrong type. */
interface RawEnvelope {
  v?: unknown;
  id?: unknown;
  kind?: unknown;
  method?: unknown;
  args?: unknown;
  sync?: unknown;
  source?: unknown;
  value?: unknown;
  error?: unknown;
}

/** Parse a frame's JSON into an envelope object, or null if it is not a JSON object. */
function parseEnvelope(json: string): RawEnvelope | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : null;
}

/** The message id if it is a valid request id (integer >= 1), else 0. */
function idOf(envelope: RawEnvelope): number {
  const id = envelope.id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 ? id : 0;
}

/** The error an aborted wait rejects with: the signal's reason when it is an Error. */
function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('the call was aborted', 'AbortError');
}

/** An answer frame, with the ids of the streams its result exported (to discard if dropped). */
interface AnswerFrame extends Frame {
  streams?: readonly number[];
}

function answerFrame(envelope: Envelope, buffers: Uint8Array[] = []): Frame {
  return { json: JSON.stringify(envelope), buffers };
}

function errorFrame(id: number, error: WireError): Frame {
  return answerFrame({ v: PROTOCOL_VERSION, id, kind: Kind.error, error });
}

/** The answer to a request that failed outside its handler (bad frame, codec, registry). */
function requestErrorFrame(id: number, error: unknown): Frame {
  if (error instanceof BridgeError) {
    return errorFrame(id, bridgeWireError(error.code, error.message));
  }
  if (error instanceof DecodeError) {
    return errorFrame(id, bridgeWireError(ErrorCode.badRequest, error.message));
  }
  return errorFrame(id, errorToWire(error));
}

/** The `result` answer carrying a handler's return value, or `unserializable` if it cannot be sent. */
function resultFrame(id: number, value: unknown, streams: StreamTable): AnswerFrame {
  let frame: AnswerFrame;
  try {
    const encoded = streams.exporting(null, () => encodeValue(value, 'result', streams));
    frame = answerFrame({ v: PROTOCOL_VERSION, id, kind: Kind.result, value: encoded.value.tree }, encoded.value.buffers);
    try {
      checkPayloadSize(frame.json, frame.buffers, 'result');
    } catch (error) {
      streams.discard(encoded.streams);
      throw error;
    }
    if (encoded.streams.length > 0) {
      frame.streams = encoded.streams;
    }
  } catch (error) {
    const type = error instanceof Error ? error.name : 'TypeError';
    return errorFrame(id, bridgeWireError(ErrorCode.unserializable, error instanceof Error ? error.message : String(error), type));
  }
  return frame;
}

/** Whether `value` is awaited as a promise would be (`await` calls its `then`). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Copy buffers into fresh `ArrayBuffer`s that can be transferred without detaching the caller's. */
function transferable(buffers: readonly Uint8Array[]): ArrayBuffer[] {
  return buffers.map((view) => view.slice().buffer);
}

/**
 * The bridge to one kernel.
 *
 * Page code gets it from `litebridge.kernel()`; it is closed when the kernel is disposed
 * (restart or shut down), and every promise still waiting on it then rejects with a
 * {@link BridgeError} of code `closed`.
 */
export class KernelBridge {
  /** The kernel id. */
  readonly id: string;
  /** Handlers registered from this kernel's Python (`page.register(source)`). */
  readonly handlers: HandlerRegistry = new Registry();
  /** Byte streams to and from this kernel (protocol section 2, "Streams"). */
  readonly streams: StreamTable = new StreamTable((frame) => {
    this.post(frame);
  });
  /** Pyodide version reported in the hello, empty before it. */
  pyodideVersion = '';
  /** Python version reported in the hello, empty before it. */
  pythonVersion = '';

  private readonly globalHandlers: HandlerRegistry;
  private readonly pageVersion: string;
  /** The kernel's Worker once attached; null before the hello and once detached. */
  private worker: KernelWorker | null = null;
  private readonly onWorkerMessage = (event: MessageEvent<unknown>): void => {
    if (isChannelFrame(event.data)) {
      this.onFrame(event.data);
    }
  };
  private sab: SabChannel | null = null;
  private _transport: Transport = 'async';
  private _closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /**
   * Keeps the page's event loop awake for `keepAwakeMs` after each page -> Python call is
   * posted, or until no call is pending: the answer then finds the page running.
   */
  private readonly awakeLoop = new KeepAwake();
  /**
   * One timer for every pending call's deadline, not a `setTimeout` + `clearTimeout` per
   * call (as Python's side does): armed for the earliest deadline known when it was armed,
   * and left armed when calls are answered early.
   */
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private deadlineTimerAt = Infinity;
  /** Python -> page calls whose handler is running, by the Python call id. */
  private readonly serving = new Map<number, ServingCall>();
  /** Page objects this kernel's Python holds handles to (protocol section 13). */
  private readonly pageHandles = new PageHandles();
  /** Python callables this page holds functions for (protocol section 13). */
  private readonly pythonRefs = new PythonRefs(
    (object, args, name) => this.applyPython(object, args, {}, name),
    (pairs) => {
      this.postRelease(pairs);
    }
  );
  /** Serves `litebridge.op` for Python's `window`. */
  private readonly windowOps = new WindowOps(this.pageHandles, this.pythonRefs);
  private connectedWaiters: (() => void)[] = [];
  /** While the handler of a sync (jspi) call runs: the page -> Python calls it made. */
  private syncScope: { nested: Promise<unknown>[] } | null = null;

  /**
   * @param id - The kernel id.
   * @param globalHandlers - Handlers shared by every kernel (`litebridge.register`).
   * @param pageVersion - The litebridge JS version, sent in `litebridge.ready`.
   * @param keepAwakeMs - How long the page's event loop is kept awake after posting a page ->
   *   Python call, in milliseconds ({@link KEEP_AWAKE_MS}); 0: never.
   */
  constructor(
    id: string,
    globalHandlers: HandlerRegistry,
    pageVersion: string,
    private readonly keepAwakeMs: number = KEEP_AWAKE_MS
  ) {
    this.id = id;
    this.globalHandlers = globalHandlers;
    this.pageVersion = pageVersion;
  }

  /** What Python's `call_sync` uses in this kernel: `sab`, `jspi` or `async`. */
  get transport(): Transport {
    return this._transport;
  }

  /** True once the kernel's hello has arrived, until the kernel is disposed. */
  get connected(): boolean {
    return this.worker !== null && !this._closed;
  }

  /** True while the page's event loop is kept awake for a page -> Python call just sent. */
  get awake(): boolean {
    return this.awakeLoop.awake;
  }

  /** True once the kernel was disposed. */
  get closed(): boolean {
    return this._closed;
  }

  /**
   * Live entries of this bridge's tables, for checking that nothing leaks.
   *
   * @returns `calls`: page -> Python calls waiting for an answer; `serving`: Python -> page
   *   calls whose handler is still running. Both are 0 when idle.
   */
  counts(): { calls: number; serving: number } {
    return { calls: this.pending.size, serving: this.serving.size };
  }

  /**
   * Live byte streams of this kernel and the bytes the page holds for them.
   *
   * @returns `producing`/`consuming`: streams sent to / received from Python that have not
   *   ended; `bufferedBytes`: bytes held now; `peakBufferedBytes`: the most held at once
   *   (at most 4 MiB per stream: 4 chunks of 1 MiB).
   */
  streamCounts(): StreamCounts {
    return this.streams.counts();
  }

  /**
   * Live references between this page and the kernel (protocol section 13).
   *
   * @returns `handles`: page objects the kernel's Python holds `JSHandle`s to (besides
   *   `window`); `python`: Python callables the page holds functions for. Both drop to 0 when
   *   the kernel is restarted.
   */
  handleCounts(): { handles: number; python: number } {
    return { handles: this.pageHandles.size, python: this.pythonRefs.size };
  }

  /**
   * Attach to the kernel's worker side, from its hello: listen for frames on the kernel's
   * Worker, answer `litebridge.ready` there and, with a SAB, set `PAGE_READY` and start
   * serving synchronous calls. A second hello (the kernel re-imported litebridge) replaces the
   * first; calls pending on the old connection reject with code `closed`.
   *
   * @param hello - The hello received on the kernel's Worker.
   * @param worker - That Worker: frames travel on it in both directions (protocol section 3).
   *   A hello of another protocol version is refused on its refusal port instead.
   */
  attach(hello: HelloMessage, worker: KernelWorker): void {
    if (this._closed) {
      return;
    }
    if (hello.v !== PROTOCOL_VERSION) {
      refuseHello(
        hello,
        `the kernel speaks litebridge protocol version ${String(hello.v)} but this page speaks version ${PROTOCOL_VERSION}: install the same litebridge version in the kernel as the site's labextension (${this.pageVersion})`
      );
      return;
    }
    if (this.worker !== null) {
      this.detach('the kernel reconnected');
    }
    this.pyodideVersion = hello.pyodide;
    this.pythonVersion = hello.python;
    this._transport =
      hello.sab !== null ? 'sab' : hello.transport !== undefined && TRANSPORTS.includes(hello.transport) ? hello.transport : 'async';
    // The refusal port carries nothing once the hello is accepted (protocol section 1).
    (hello.port as MessagePort | undefined)?.close();
    this.worker = worker;
    worker.addEventListener('message', this.onWorkerMessage);
    this.post({ json: JSON.stringify({ v: PROTOCOL_VERSION, id: 0, kind: Kind.ready, page: this.pageVersion }), buffers: [] });
    if (hello.sab !== null) {
      this.sab = new SabChannel(hello.sab, (frame) => this.serveSync(frame));
      this.sab.start();
    }
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    waiters.forEach((wake) => {
      wake();
    });
  }

  /**
   * Close the bridge (the kernel was disposed): reject every pending page -> Python call
   * with code `closed` and stop serving.
   */
  close(): void {
    if (this._closed) {
      return;
    }
    this._closed = true;
    this.detach('the kernel was restarted or shut down');
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    waiters.forEach((wake) => {
      wake();
    });
  }

  /**
   * Call an exposed Python method.
   *
   * @param method - The method name, e.g. `"multiply"` or `"ex.multiply"`.
   * @param args - The arguments: JSON values, `Uint8Array`/`ArrayBuffer`/typed arrays.
   * @returns A promise of the decoded result.
   * @throws (rejects) See {@link KernelBridge.invoke}.
   */
  call(method: string, ...args: unknown[]): Promise<unknown> {
    return this.invoke(method, args);
  }

  /**
   * Call an exposed Python method, with options.
   *
   * @param method - The method name.
   * @param args - The arguments (an array).
   * @param options - `timeoutMs` (default 30000 ms) and `signal`. When the signal aborts or
   *   the timeout expires, the Python side is told (`litebridge.cancel`) and the task running
   *   an `async` exposed method is cancelled.
   * @returns A promise of the decoded result.
   * @throws (rejects) `TypeError` if an argument cannot be sent, `RangeError` if the call is
   *   over the 256 MiB frame limit, {@link BridgeError} `forbidden_name`/`bad_request` for a
   *   private, reserved or malformed name (nothing is sent in these cases);
   *   {@link PythonError} if the method raised; {@link BridgeError} with code
   *   `unknown_method`/`forbidden_name` (the name), `timeout`, `closed` (kernel disposed) or
   *   `bad_request`; the signal's reason when aborted. A call made while the kernel is
   *   blocked in `call_sync` is served at once (protocol section 8), not refused.
   */
  async invoke(method: string, args: readonly unknown[] = [], options: InvokeOptions = {}): Promise<unknown> {
    if (typeof method !== 'string' || method === '') {
      throw new TypeError('method must be a non-empty string');
    }
    if (!Array.isArray(args)) {
      throw new TypeError('args must be an array');
    }
    checkMethodName(method); // refused before sending, as Python would refuse it
    const id = this.nextId++;
    const exported = this.streams.exporting(id, () => encodeValue(args, 'args', this.streams));
    return this.request({ kind: Kind.call, method }, exported.value, method, options, id, exported.streams);
  }

  /**
   * Call a Python callable the page received from Python (a `$py` reference, protocol
   * section 13): what the functions Python passed to `window` do when called.
   *
   * @param object - The Python object id.
   * @param args - The arguments; page objects and functions that are not values are sent
   *   as handles.
   * @param options - As for {@link KernelBridge.invoke}.
   * @param name - For a Python object that is not callable: the method of it to call.
   * @returns A promise of the decoded result.
   * @throws (rejects) As {@link KernelBridge.invoke}; `closed` when the kernel was restarted
   *   or the Python object was released; `unknown_method` or `forbidden_name` for a `name`
   *   Python does not serve.
   */
  async applyPython(object: number, args: readonly unknown[], options: InvokeOptions = {}, name?: string): Promise<unknown> {
    const what = name === undefined ? `Python function ${object}` : `Python object ${object}.${name}`;
    if (this._closed) {
      throw new BridgeError(ErrorCode.closed, `kernel ${this.id} was restarted or shut down: its ${what} is gone`);
    }
    const encoded = encodeValue(args, 'args', undefined, this.windowOps.exporter);
    const fields = name === undefined ? { kind: Kind.apply, object } : { kind: Kind.apply, object, name };
    return this.request(fields, encoded, what, options, this.nextId++, []);
  }

  /**
   * Send a page -> Python request and wait for its answer (see {@link KernelBridge.invoke}).
   * `streams` are the ids of the byte streams exported in `encoded`: dropped if the request
   * is never sent, stopped if it is aborted or times out before they are pulled.
   */
  private async request(
    fields: { kind: typeof Kind.call; method: string } | { kind: typeof Kind.apply; object: number; name?: string },
    encoded: { tree: unknown; buffers: Uint8Array[] },
    method: string,
    options: InvokeOptions,
    id: number,
    streams: readonly number[]
  ): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const { signal } = options;
    const deadline = performance.now() + timeoutMs;
    let worker: KernelWorker | null;
    let json: string;
    try {
      signal?.throwIfAborted();
      if (!this.connected) {
        await this.whenConnected(timeoutMs, signal);
      }
      worker = this.worker;
      if (worker === null || this._closed) {
        throw new BridgeError(ErrorCode.closed, `kernel ${this.id} was restarted or shut down`);
      }
      signal?.throwIfAborted();
      const envelope = { v: PROTOCOL_VERSION, id, ...fields, args: encoded.tree as unknown[] };
      json = JSON.stringify(envelope);
      checkPayloadSize(json, encoded.buffers, 'args');
    } catch (error) {
      this.streams.discard(streams);
      throw error;
    }
    const sendTo: KernelWorker = worker;
    const pending = new Promise<unknown>((resolve, reject) => {
      const onAbort = (): void => {
        const entry = this.pending.get(id);
        if (entry !== undefined) {
          this.pending.delete(id);
          entry.cleanup();
          this.postCancel(id, 'the page aborted the call');
          this.streams.stopCall(id, `the page aborted the call of "${method}"`);
          entry.reject(abortReason(signal));
        }
      };
      const cleanup = signal === undefined ? noop : (): void => { signal.removeEventListener('abort', onAbort); };
      this.pending.set(id, { method, resolve, reject, cleanup, deadline, timeoutMs });
      if (deadline < this.deadlineTimerAt) {
        this.armDeadlineTimer(deadline);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      // Python blocked in a SAB call reads it from the SAB and serves it at once (re-entry);
      // otherwise (or if the SAB call ends meanwhile) it goes on the kernel's Worker.
      if (this.sab === null || !this.sab.sendNested({ json, buffers: encoded.buffers }, () => { this.postTo(sendTo, json, encoded.buffers); })) {
        this.postTo(sendTo, json, encoded.buffers);
      }
      // the answer comes on the kernel's Worker by either route (protocol section 8)
      this.awakeLoop.extend(this.keepAwakeMs);
    });
    this.syncScope?.nested.push(pending);
    return pending;
  }

  /** (Re)arm the shared deadline timer for `deadline` (`performance.now()` ms). */
  private armDeadlineTimer(deadline: number): void {
    if (this.deadlineTimer !== undefined) {
      clearTimeout(this.deadlineTimer);
    }
    this.deadlineTimerAt = deadline;
    this.deadlineTimer = setTimeout(() => {
      this.expireDue();
    }, Math.max(0, deadline - performance.now()));
  }

  /** The shared timer fired: time out every call past its deadline, re-arm for the next. */
  private expireDue(): void {
    this.deadlineTimer = undefined;
    this.deadlineTimerAt = Infinity;
    const now = performance.now() + DEADLINE_SLACK_MS;
    let earliest = Infinity;
    for (const [id, entry] of this.pending) {
      if (entry.deadline <= now) {
        this.pending.delete(id); // deleting the current entry is safe while iterating a Map
        entry.cleanup();
        this.postCancel(id, `the page's call timed out after ${entry.timeoutMs} ms`);
        this.streams.stopCall(id, `the page's call of "${entry.method}" timed out`);
        entry.reject(
          new BridgeError(ErrorCode.timeout, `no answer from kernel ${this.id} to "${entry.method}" within ${entry.timeoutMs} ms`)
        );
      } else if (entry.deadline < earliest) {
        earliest = entry.deadline;
      }
    }
    if (earliest < this.deadlineTimerAt) {
      this.armDeadlineTimer(earliest);
    }
  }

  /**
   * Resolve when the kernel's hello has arrived.
   *
   * @param timeoutMs - Longest wait in milliseconds.
   * @param signal - Aborts the wait.
   * @throws (rejects) {@link BridgeError} `timeout` or `closed`, or the signal's reason.
   */
  whenConnected(timeoutMs: number = DEFAULT_TIMEOUT_MS, signal?: AbortSignal): Promise<void> {
    if (this.connected) {
      return Promise.resolve();
    }
    if (this._closed) {
      return Promise.reject(new BridgeError(ErrorCode.closed, `kernel ${this.id} was restarted or shut down`));
    }
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        if (timer !== undefined) {
          clearTimeout(timer);
        }
        signal?.removeEventListener('abort', onAbort);
        this.connectedWaiters = this.connectedWaiters.filter((w) => w !== wake);
      };
      const wake = (): void => {
        finish();
        if (this.connected) {
          resolve();
        } else {
          reject(new BridgeError(ErrorCode.closed, `kernel ${this.id} was restarted or shut down`));
        }
      };
      const onAbort = (): void => {
        finish();
        reject(abortReason(signal));
      };
      this.connectedWaiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          finish();
          reject(
            new BridgeError(
              ErrorCode.timeout,
              `kernel ${this.id} did not connect within ${timeoutMs} ms: run "import litebridge" in it`
            )
          );
        }, timeoutMs);
      }
    });
  }

  private postTo(worker: KernelWorker, json: string, buffers: readonly Uint8Array[]): void {
    if (worker !== this.worker) {
      return; // detached meanwhile: the call was rejected with closed
    }
    const copies = transferable(buffers);
    worker.postMessage({ lb: FRAME_MARK, json, buffers: copies } satisfies ChannelFrame, copies);
  }

  private postRelease(pairs: [number, number][]): void {
    this.post({ json: JSON.stringify({ v: PROTOCOL_VERSION, id: 0, kind: Kind.release, ids: pairs }), buffers: [] });
  }

  private detach(reason: string): void {
    this.streams.close(new BridgeError(ErrorCode.closed, `kernel ${this.id}: ${reason} while a stream was open`));
    this.sab?.stop();
    this.sab = null;
    this.worker?.removeEventListener('message', this.onWorkerMessage);
    this.worker = null;
    this.pageHandles.clear();
    this.pythonRefs.clear();
    const serving = [...this.serving.values()];
    this.serving.clear();
    for (const call of serving) {
      call.abort(new DOMException(`kernel ${this.id}: ${reason}`, 'AbortError'));
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.awakeLoop.end();
    if (this.deadlineTimer !== undefined) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
      this.deadlineTimerAt = Infinity;
    }
    for (const entry of pending) {
      entry.cleanup();
      entry.reject(new BridgeError(ErrorCode.closed, `kernel ${this.id}: ${reason} while "${entry.method}" was pending`));
    }
  }

  private postCancel(id: number, reason: string): void {
    const cancel: CancelMessage = { v: PROTOCOL_VERSION, id, kind: Kind.cancel, reason };
    this.post({ json: JSON.stringify(cancel), buffers: [] });
  }

  /** Python gave up on call `id` (`litebridge.cancel`): abort its handler, drop its answer. */
  private cancelServing(id: number, reason: unknown): void {
    const call = this.serving.get(id);
    if (call === undefined) {
      return;
    }
    this.serving.delete(id);
    const why = typeof reason === 'string' ? reason : 'the kernel cancelled the call';
    call.abort(new DOMException(`litebridge: call "${call.method}" cancelled: ${why}`, 'AbortError'));
  }

  /**
   * Post one frame on the kernel's Worker (nothing once detached).
   *
   * @param frame - The frame.
   * @param answers - The id of the kernel's request this frame answers, sent along as the
   *   channel frame's `answers` (protocol section 3); undefined for every other frame.
   */
  private post(frame: Frame, answers?: number): void {
    if (this.worker === null) {
      return;
    }
    const buffers = transferable(frame.buffers);
    const message: ChannelFrame =
      answers === undefined ? { lb: FRAME_MARK, json: frame.json, buffers } : { lb: FRAME_MARK, json: frame.json, buffers, answers };
    this.worker.postMessage(message, buffers);
  }

  private onFrame(data: ChannelFrame): void {
    if (typeof data.json !== 'string') {
      return;
    }
    const { json, buffers } = data;
    const received = Array.isArray(buffers) ? buffers : [];
    const envelope = parseEnvelope(json);
    if (envelope === null) {
      console.warn(`litebridge: kernel ${this.id} sent a frame that is not a JSON object`);
      return;
    }
    const id = idOf(envelope);
    if (envelope.v !== PROTOCOL_VERSION) {
      if (id !== 0) {
        this.post(errorFrame(id, bridgeWireError(ErrorCode.badRequest, `protocol version ${String(envelope.v)} is not ${PROTOCOL_VERSION}`)));
      }
      return;
    }
    switch (envelope.kind) {
      case Kind.call:
      case Kind.op:
      case Kind.register: {
        const finish = (answer: Frame | null): void => {
          if (id !== 0 && answer !== null) {
            this.post(answer, id);
          }
        };
        // A sync (jspi) call: page -> Python calls its handler makes before returning (a
        // Python listener of el.click()) are answered before it (protocol section 8).
        const scope = envelope.sync === true ? { nested: [] as Promise<unknown>[] } : null;
        const outer = this.syncScope;
        this.syncScope = scope;
        let answer: Frame | Promise<Frame | null>;
        try {
          answer = this.serve(envelope, id, received, needsDecoding(json, received.length));
        } finally {
          this.syncScope = outer;
        }
        if (scope !== null && scope.nested.length > 0) {
          void Promise.all([answer, Promise.allSettled(scope.nested)]).then(([frame]) => {
            finish(frame);
          });
        } else if (answer instanceof Promise) {
          void answer.then(finish);
        } else {
          finish(answer); // a plain (non-promise) result: answered in this same task
        }
        return;
      }
      case Kind.result:
      case Kind.error:
        this.settle(envelope, id, received, needsDecoding(json, received.length));
        return;
      case Kind.cancel:
        this.cancelServing(id, (envelope as { reason?: unknown }).reason);
        return;
      case StreamKind.pull:
      case StreamKind.chunk:
      case StreamKind.end:
      case StreamKind.error:
      case StreamKind.cancel:
        this.onStreamMessage(envelope, envelope.kind, id, received);
        return;
      case Kind.release:
        this.pageHandles.release((envelope as { ids?: unknown }).ids);
        return;
      default:
        if (id !== 0) {
          this.post(errorFrame(id, bridgeWireError(ErrorCode.badRequest, `unknown message kind ${JSON.stringify(envelope.kind)}`)));
        }
    }
  }

  private onStreamMessage(envelope: RawEnvelope, kind: string, id: number, buffers: readonly ArrayBuffer[]): void {
    let value: unknown;
    try {
      value = kind === StreamKind.chunk ? decodeValue(envelope.value, buffers) : undefined;
    } catch {
      value = undefined; // not binary: the stream table fails the stream
    }
    const fields = envelope as { n?: unknown; error?: unknown; reason?: unknown };
    this.streams.onMessage(kind, id, { n: fields.n, value, error: fields.error, reason: fields.reason });
  }

  private settle(envelope: RawEnvelope, id: number, buffers: readonly ArrayBuffer[], decode: boolean): void {
    const entry = this.pending.get(id);
    if (entry === undefined) {
      if (envelope.kind === Kind.result) {
        try {
          decodeValue(envelope.value, buffers, this.streams.refusingImporter()); // cancels its streams
        } catch {
          // a malformed late answer: nothing to cancel
        }
      }
      return; // timed out, aborted or unknown: a late answer is dropped
    }
    this.pending.delete(id);
    if (this.pending.size === 0) {
      this.awakeLoop.end();
    }
    entry.cleanup();
    if (envelope.kind === Kind.error) {
      this.streams.stopCall(id, `the call of "${entry.method}" failed`);
      entry.reject(errorFromWire(envelope.error));
      return;
    }
    if (envelope.kind === Kind.result) {
      try {
        entry.resolve(decode ? decodeValue(envelope.value, buffers, this.streams, this.windowOps.importer) : envelope.value); // fast path: plain JSON
      } catch (error) {
        entry.reject(new BridgeError(ErrorCode.badRequest, `bad result for "${entry.method}": ${String(error)}`));
      }
    }
  }

  /** Serve a request from the SAB channel. */
  private serveSync(frame: Frame): ServedRequest {
    const envelope = parseEnvelope(frame.json);
    if (envelope === null) {
      return { method: '(malformed)', run: () => errorFrame(0, bridgeWireError(ErrorCode.badRequest, 'the frame is not a JSON object')) };
    }
    const id = idOf(envelope);
    if (envelope.v !== PROTOCOL_VERSION) {
      return {
        method: '(bad version)',
        run: () => errorFrame(id, bridgeWireError(ErrorCode.badRequest, `protocol version ${String(envelope.v)} is not ${PROTOCOL_VERSION}`))
      };
    }
    const method =
      envelope.kind === Kind.call && typeof envelope.method === 'string'
        ? envelope.method
        : envelope.kind === Kind.op
          ? `window ${String((envelope as { op?: unknown }).op)}`
          : String(envelope.kind);
    return { method, run: () => this.serve(envelope, id, frame.buffers, needsDecoding(frame.json, frame.buffers.length)) };
  }

  /**
   * Serve a Python -> page `call` or `register`; never throws, and the promise never rejects.
   *
   * A handler that returns a plain value (not a thenable) is answered synchronously, with no
   * promise or microtask in between; only a thenable result makes the answer a promise. The
   * promise resolves to null when Python cancelled the call meanwhile (nothing to send).
   * `decode` false (see `needsDecoding`): the parsed arguments are used as they are.
   */
  private serve(
    envelope: RawEnvelope,
    id: number,
    buffers: readonly (ArrayBuffer | Uint8Array)[],
    decode: boolean
  ): Frame | Promise<Frame | null> {
    try {
      if (envelope.kind === Kind.register) {
        const names = this.handlers.register(evaluateSource(envelope.source));
        return answerFrame({ v: PROTOCOL_VERSION, id, kind: Kind.result, value: names });
      }
      if (envelope.kind === Kind.op) {
        return this.windowOps.serve(id, envelope, buffers);
      }
      if (envelope.kind !== Kind.call) {
        return errorFrame(id, bridgeWireError(ErrorCode.badRequest, `a request must be a call, op or register, not ${JSON.stringify(envelope.kind)}`));
      }
      const handler = resolveHandler(envelope.method, [this.handlers, this.globalHandlers]);
      if (!Array.isArray(envelope.args)) {
        return errorFrame(id, bridgeWireError(ErrorCode.badRequest, 'args must be an array'));
      }
      // fast path: a frame with no buffers and no `$` is plain JSON, already the arguments
      const decoded = this.streams.collectImports(() => (decode ? decodeValue(envelope.args, buffers, this.streams) : envelope.args) as unknown[]);
      const args = decoded.value;
      const call = new ServingCall(envelope.method as string);
      this.serving.set(id, call);
      let value: unknown;
      try {
        value = handler.fn.apply(handlerThis(handler.self, this, call), args);
        if (isThenable(value)) {
          return settleHandler(id, value, this.streams).then((frame) => {
            if (this.serving.get(id) === call) {
              this.serving.delete(id);
            }
            this.streams.releaseUnread(decoded.streams);
            if (call.aborted) {
              this.streams.discard(frame.streams ?? []);
              return null;
            }
            return frame;
          });
        }
      } catch (error) {
        this.serving.delete(id);
        this.streams.releaseUnread(decoded.streams);
        return errorFrame(id, errorToWire(error));
      }
      this.serving.delete(id);
      const frame = resultFrame(id, value, this.streams);
      this.streams.releaseUnread(decoded.streams);
      return frame;
    } catch (error) {
      return requestErrorFrame(id, error);
    }
  }
}

/** Await a handler's thenable result and make its answer; the promise never rejects. */
async function settleHandler(id: number, pending: PromiseLike<unknown>, streams: StreamTable): Promise<AnswerFrame> {
  let value: unknown;
  try {
    value = await pending;
  } catch (error) {
    return errorFrame(id, errorToWire(error));
  }
  try {
    return resultFrame(id, value, streams);
  } catch (error) {
    return requestErrorFrame(id, error);
  }
}

