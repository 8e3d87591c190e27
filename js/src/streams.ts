/**
 * Byte streams across the bridge (protocol section 2, "Streams"): pull-based, both directions.
 *
 * A page `ReadableStream` (or async iterable) of `Uint8Array`/`ArrayBuffer` chunks in a call's
 * arguments or a handler's result is sent as `{"$stream": id}` and *produced* here on demand; a
 * `{"$stream": id}` from Python becomes a `ReadableStream<Uint8Array>` *consumed* here. A
 * consumer sends `litebridge.stream.pull` with `n` (how many more chunks it takes); a producer
 * sends at most that many chunks of at most {@link STREAM_CHUNK_BYTES}. A consumer keeps at most
 * {@link STREAM_WINDOW_CHUNKS} chunks in flight or queued, so a stream holds at most 4 MiB here
 * whatever its length, and a producer reads its source only when it has credit.
 *
 * Independent of the bridge: it posts frames through a function, so node tests drive it alone.
 *
 * @packageDocumentation
 */
import { DecodeError } from './codec';
import { BridgeError, bridgeWireError, errorFromWire, errorToWire } from './errors';
import type { Frame } from './frame';
import type { WireError } from './protocol';
import { BYTES_KEY, ErrorCode, PROTOCOL_VERSION, STREAM_CHUNK_BYTES, STREAM_WINDOW_CHUNKS, StreamKind } from './protocol';

/** What `encodeValue` asks of the stream table. */
export interface StreamExporter {
  /**
   * @param value - An object the codec cannot otherwise send.
   * @param path - Spells the value's path, for error messages.
   * @returns The stream id to send as `{"$stream": id}`, or null when `value` is no stream.
   * @throws TypeError for a stream that cannot be sent (locked, sent twice).
   */
  exportStream(value: object, path: () => string): number | null;
}

/** What `decodeValue` asks of the stream table. */
export interface StreamImporter {
  /**
   * @param id - The id of a received `{"$stream": id}`.
   * @returns The value standing for it (a `ReadableStream`).
   */
  importStream(id: number): unknown;
}

/** Debug counters of a {@link StreamTable}. */
export interface StreamCounts {
  /** Streams this page sends and that have not ended. */
  producing: number;
  /** Streams this page receives and that have not ended. */
  consuming: number;
  /** Bytes held for them now: chunks received and not yet read, unsent rests of source chunks. */
  bufferedBytes: number;
  /** The most bytes held at once since the table was made or {@link StreamTable.resetPeak}. */
  peakBufferedBytes: number;
}

/** Whether `value` is sent as a stream: a `ReadableStream`, or an object with `Symbol.asyncIterator`. */
export function isStreamSource(value: unknown): boolean {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  if (typeof ReadableStream === 'function' && value instanceof ReadableStream) {
    return true;
  }
  return typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/** The bytes of one source chunk, or null when it is not binary. */
function chunkBytes(chunk: unknown): Uint8Array | null {
  if (chunk instanceof Uint8Array) {
    return chunk;
  }
  if (ArrayBuffer.isView(chunk)) {
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  if (chunk instanceof ArrayBuffer) {
    return new Uint8Array(chunk);
  }
  return null;
}

function describe(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (typeof value === 'object') {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor;
    return ctor?.name ?? 'object';
  }
  return typeof value;
}

/** A page source being sent to Python. */
interface Producer {
  source: object;
  next(): Promise<IteratorResult<unknown>>;
  cancel(reason: unknown): Promise<unknown>;
  callId: number | null;
  credit: number;
  pulled: boolean;
  pumping: boolean;
  held: Uint8Array | null;
}

/** The receiving end of a Python stream. */
interface Consumer {
  stream: ReadableStream<Uint8Array>;
  controller: ReadableStreamDefaultController<Uint8Array> | null;
  queue: Uint8Array[];
  outstanding: number;
  ended: boolean;
  error: Error | null;
  /** Resolves the pending `pull` of the ReadableStream (a read waits for a chunk). */
  wake: (() => void) | null;
}

function envelope(kind: string, id: number, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, id, kind, ...fields });
}

/**
 * The streams of one kernel's connection: what the page produces and what it consumes.
 *
 * Bound to a `post` function (the bridge's frames) only, so it can be tested alone.
 */
export class StreamTable implements StreamExporter, StreamImporter {
  /** Chunks a consumer lets be in flight or queued per stream. */
  readonly window: number;
  /** Largest chunk a producer sends, in bytes. */
  readonly chunkBytes: number;
  private readonly post: (frame: Frame) => void;
  private nextId = 1;
  private readonly producers = new Map<number, Producer>();
  private readonly sources = new WeakSet();
  private readonly consumers = new Map<number, Consumer>();
  private bufferedBytes = 0;
  private peakBufferedBytes = 0;
  /** Set while a call's arguments are encoded: its id; else null (a result). */
  private exportingFor: number | null = null;
  /** Set while a call's arguments are decoded: collects the ids received. */
  private importing: number[] | null = null;

  /**
   * @param post - Sends one frame to Python (must not throw).
   * @param window - Chunks in flight or queued per received stream; default 4.
   * @param chunkBytes - Largest chunk sent, in bytes; default 1 MiB.
   */
  constructor(post: (frame: Frame) => void, window = STREAM_WINDOW_CHUNKS, chunkBytes = STREAM_CHUNK_BYTES) {
    this.post = post;
    this.window = window;
    this.chunkBytes = chunkBytes;
  }

  /** Live streams and bytes held, for checking bounds and leaks. */
  counts(): StreamCounts {
    return {
      producing: this.producers.size,
      consuming: this.consumers.size,
      bufferedBytes: this.bufferedBytes,
      peakBufferedBytes: this.peakBufferedBytes
    };
  }

  /** Set `peakBufferedBytes` to the bytes held now. */
  resetPeak(): void {
    this.peakBufferedBytes = this.bufferedBytes;
  }

  private hold(bytes: number): void {
    this.bufferedBytes += bytes;
    if (this.bufferedBytes > this.peakBufferedBytes) {
      this.peakBufferedBytes = this.bufferedBytes;
    }
  }

  // --- producing (page -> Python) -------------------------------------------------------------

  /**
   * Run `encode` with the streams it exports tied to call `callId` (or to a result, null); if
   * it throws, the streams it exported are forgotten (their message was never sent).
   *
   * @param callId - The call whose arguments are encoded, or null for a result.
   * @param encode - The encoding (it calls {@link StreamTable.exportStream} through the codec).
   * @returns What `encode` returns, and the ids of the streams it exported.
   */
  exporting<T>(callId: number | null, encode: () => T): { value: T; streams: number[] } {
    const mark = this.nextId;
    const previous = this.exportingFor;
    this.exportingFor = callId;
    try {
      const value = encode();
      return { value, streams: this.idsSince(mark) };
    } catch (error) {
      this.discard(this.idsSince(mark));
      throw error;
    } finally {
      this.exportingFor = previous;
    }
  }

  private idsSince(mark: number): number[] {
    const ids: number[] = [];
    for (let id = mark; id < this.nextId; id++) {
      if (this.producers.has(id)) {
        ids.push(id);
      }
    }
    return ids;
  }

  exportStream(value: object, path: () => string): number | null {
    if (!isStreamSource(value)) {
      return null;
    }
    if (this.sources.has(value)) {
      throw new TypeError(`cannot send the same stream twice: ${describe(value)} at ${path()}`);
    }
    let next: () => Promise<IteratorResult<unknown>>;
    let cancel: (reason: unknown) => Promise<unknown>;
    if (typeof ReadableStream === 'function' && value instanceof ReadableStream) {
      if (value.locked) {
        throw new TypeError(`cannot send a locked ReadableStream at ${path()}: it is being read already`);
      }
      const reader = (value as ReadableStream<unknown>).getReader();
      next = () => reader.read() as Promise<IteratorResult<unknown>>;
      cancel = (reason) => reader.cancel(reason);
    } else {
      const iterator = (value as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      next = () => iterator.next();
      cancel = async (reason) => iterator.return?.(reason);
    }
    const id = this.nextId++;
    this.sources.add(value);
    this.producers.set(id, { source: value, next, cancel, callId: this.exportingFor, credit: 0, pulled: false, pumping: false, held: null });
    return id;
  }

  /**
   * Forget streams whose message was never sent or was dropped (cancelling their sources).
   *
   * @param ids - Stream ids this page exported.
   */
  discard(ids: readonly number[]): void {
    for (const id of ids) {
      const producer = this.dropProducer(id);
      if (producer !== null) {
        void producer.cancel(new DOMException('litebridge: the message carrying this stream was not sent', 'AbortError')).catch(() => undefined);
      }
    }
  }

  /**
   * Call `callId` failed or was given up: stop its streams Python never pulled, telling
   * Python (`stream.error`, code `closed`) in case it has a reader waiting.
   *
   * @param callId - The page -> Python call.
   * @param reason - Why, for the messages.
   */
  stopCall(callId: number, reason: string): void {
    for (const [id, producer] of [...this.producers]) {
      if (producer.callId === callId && !producer.pulled) {
        this.dropProducer(id);
        this.postError(id, bridgeWireError(ErrorCode.closed, reason));
        void producer.cancel(new DOMException(`litebridge: ${reason}`, 'AbortError')).catch(() => undefined);
      }
    }
  }

  private dropProducer(id: number): Producer | null {
    const producer = this.producers.get(id);
    if (producer === undefined) {
      return null;
    }
    this.producers.delete(id);
    this.sources.delete(producer.source);
    if (producer.held !== null) {
      this.bufferedBytes -= producer.held.byteLength;
      producer.held = null;
    }
    return producer;
  }

  private postError(id: number, error: WireError): void {
    this.post({ json: envelope(StreamKind.error, id, { error }), buffers: [] });
  }

  private onPull(id: number, n: unknown): void {
    const producer = this.producers.get(id);
    if (producer === undefined) {
      return; // ended, cancelled or unknown: a late pull
    }
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      this.dropProducer(id);
      this.postError(id, bridgeWireError(ErrorCode.badRequest, `bad pull for stream ${id}: n=${JSON.stringify(n)}`));
      void producer.cancel(new DOMException('litebridge: protocol error', 'AbortError')).catch(() => undefined);
      return;
    }
    producer.credit += n;
    producer.pulled = true;
    if (!producer.pumping) {
      void this.pump(id, producer);
    }
  }

  private async pump(id: number, producer: Producer): Promise<void> {
    producer.pumping = true;
    try {
      while (producer.credit > 0 && this.producers.get(id) === producer) {
        if (producer.held === null) {
          const step = await producer.next();
          if (this.producers.get(id) !== producer) {
            return; // cancelled while the source produced
          }
          if (step.done === true) {
            this.dropProducer(id);
            this.post({ json: envelope(StreamKind.end, id), buffers: [] });
            return;
          }
          const bytes = chunkBytes(step.value);
          if (bytes === null) {
            throw new TypeError(`a stream chunk must be a Uint8Array, an ArrayBuffer or another ArrayBufferView, not ${describe(step.value)}`);
          }
          if (bytes.byteLength === 0) {
            continue;
          }
          producer.held = bytes;
          this.hold(bytes.byteLength);
        }
        const held: Uint8Array = producer.held;
        const piece = held.byteLength > this.chunkBytes ? held.subarray(0, this.chunkBytes) : held;
        producer.held = held.byteLength > this.chunkBytes ? held.subarray(this.chunkBytes) : null;
        this.bufferedBytes -= piece.byteLength;
        producer.credit--;
        this.post({ json: envelope(StreamKind.chunk, id, { value: { [BYTES_KEY]: 0 } }), buffers: [piece] });
      }
    } catch (error) {
      if (this.dropProducer(id) === producer) {
        this.postError(id, errorToWire(error));
        void producer.cancel(error).catch(() => undefined);
      }
    } finally {
      producer.pumping = false;
    }
  }

  private onCancel(id: number, reason: unknown): void {
    const producer = this.dropProducer(id);
    if (producer !== null) {
      const why = typeof reason === 'string' ? reason : 'Python cancelled the stream';
      void producer.cancel(new DOMException(`litebridge: ${why}`, 'AbortError')).catch(() => undefined);
    }
  }

  // --- consuming (Python -> page) -------------------------------------------------------------

  /**
   * Run `decode`, collecting the ids of the streams it receives (a call's arguments).
   *
   * @param decode - The decoding (it calls {@link StreamTable.importStream} through the codec).
   * @returns What `decode` returns and the stream ids received.
   */
  collectImports<T>(decode: () => T): { value: T; streams: number[] } {
    const previous = this.importing;
    const ids: number[] = [];
    this.importing = ids;
    try {
      return { value: decode(), streams: ids };
    } finally {
      this.importing = previous;
    }
  }

  importStream(id: number): ReadableStream<Uint8Array> {
    if (this.consumers.has(id)) {
      throw new DecodeError(`bad frame: stream ${id} received twice`);
    }
    const consumer = {
      controller: null,
      queue: [],
      outstanding: 0,
      ended: false,
      error: null,
      wake: null
    } as unknown as Consumer;
    consumer.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          consumer.controller = controller;
        },
        pull: () => this.consumerPull(id, consumer),
        cancel: (reason) => {
          this.cancelConsumer(id, consumer, reason);
        }
      },
      { highWaterMark: 0 }
    );
    this.consumers.set(id, consumer);
    this.importing?.push(id);
    return consumer.stream;
  }

  /**
   * A handler settled: cancel the argument streams it has not started to read (not locked),
   * so that Python stops producing them. Streams it reads go on after it settled.
   *
   * @param ids - The streams received with the call's arguments.
   */
  releaseUnread(ids: readonly number[]): void {
    for (const id of ids) {
      const consumer = this.consumers.get(id);
      if (consumer !== undefined && !consumer.stream.locked) {
        void consumer.stream.cancel('the handler returned without reading this stream');
      }
    }
  }

  /**
   * An importer for a dropped message (a late result): every stream in it is cancelled at once.
   *
   * @returns The importer.
   */
  refusingImporter(): StreamImporter {
    return {
      importStream: (id: number) => {
        this.post({ json: envelope(StreamKind.cancel, id, { reason: 'the page no longer waits for this result' }), buffers: [] });
        return null;
      }
    };
  }

  private consumerPull(id: number, consumer: Consumer): Promise<void> | undefined {
    const controller = consumer.controller;
    if (controller === null) {
      return undefined;
    }
    const chunk = consumer.queue.shift();
    if (chunk !== undefined) {
      this.bufferedBytes -= chunk.byteLength;
      controller.enqueue(chunk);
      this.topUp(id, consumer);
      return undefined;
    }
    if (consumer.error !== null) {
      controller.error(consumer.error);
      return undefined;
    }
    if (consumer.ended) {
      controller.close();
      return undefined;
    }
    this.topUp(id, consumer);
    return new Promise<void>((resolve) => {
      consumer.wake = resolve;
    });
  }

  private topUp(id: number, consumer: Consumer): void {
    if (this.consumers.get(id) !== consumer) {
      return;
    }
    const held = consumer.outstanding + consumer.queue.length;
    if (held <= Math.floor(this.window / 2)) {
      const want = this.window - held;
      consumer.outstanding += want;
      this.post({ json: envelope(StreamKind.pull, id, { n: want }), buffers: [] });
    }
  }

  private cancelConsumer(id: number, consumer: Consumer, reason: unknown): void {
    if (this.consumers.get(id) === consumer) {
      this.consumers.delete(id);
      const why = reason instanceof Error ? `${reason.name}: ${reason.message}` : typeof reason === 'string' ? reason : 'the page cancelled the stream';
      this.post({ json: envelope(StreamKind.cancel, id, { reason: why }), buffers: [] });
    }
    this.dropQueue(consumer);
    consumer.ended = true;
    this.wakeUp(consumer);
  }

  private dropQueue(consumer: Consumer): void {
    for (const chunk of consumer.queue) {
      this.bufferedBytes -= chunk.byteLength;
    }
    consumer.queue.length = 0;
  }

  private wakeUp(consumer: Consumer): void {
    const wake = consumer.wake;
    consumer.wake = null;
    wake?.();
  }

  /** End a consumer whose read may be waiting: close or error its stream now. */
  private settleWaiting(consumer: Consumer): void {
    if (consumer.wake === null || consumer.controller === null) {
      return;
    }
    if (consumer.error !== null) {
      consumer.controller.error(consumer.error);
    } else {
      consumer.controller.close();
    }
    this.wakeUp(consumer);
  }

  private failConsumer(id: number, consumer: Consumer, error: Error, cancel: string | null): void {
    if (this.consumers.get(id) === consumer) {
      this.consumers.delete(id);
      if (cancel !== null) {
        this.post({ json: envelope(StreamKind.cancel, id, { reason: cancel }), buffers: [] });
      }
    }
    consumer.error = error;
    this.dropQueue(consumer);
    try {
      consumer.controller?.error(error);
    } catch {
      // already closed or errored
    }
    this.wakeUp(consumer);
  }

  private onChunk(id: number, value: unknown): void {
    const consumer = this.consumers.get(id);
    if (consumer === undefined) {
      return; // cancelled here: chunks already in flight are dropped
    }
    if (!(value instanceof Uint8Array) || consumer.outstanding < 1) {
      const why = value instanceof Uint8Array ? 'more chunks than it was asked for' : 'a chunk that is not binary';
      this.failConsumer(id, consumer, new BridgeError(ErrorCode.badRequest, `the kernel broke stream ${id}: it sent ${why}`), `protocol error: ${why}`);
      return;
    }
    consumer.outstanding--;
    if (value.byteLength === 0) {
      return;
    }
    if (consumer.wake !== null && consumer.controller !== null) {
      consumer.controller.enqueue(value);
      this.wakeUp(consumer);
      this.topUp(id, consumer);
      return;
    }
    consumer.queue.push(value);
    this.hold(value.byteLength);
  }

  private onEnd(id: number, error: unknown, failed: boolean): void {
    const consumer = this.consumers.get(id);
    if (consumer === undefined) {
      return;
    }
    this.consumers.delete(id);
    if (failed) {
      consumer.error = errorFromWire(error);
    } else {
      consumer.ended = true;
    }
    this.settleWaiting(consumer);
  }

  // --- both -----------------------------------------------------------------------------------

  /**
   * Handle one stream message from Python.
   *
   * @param kind - A {@link StreamKind}.
   * @param id - The stream id (the envelope's `id`).
   * @param fields - The envelope: `n` (pull), `value` (chunk, decoded), `error`, `reason`.
   */
  onMessage(kind: string, id: number, fields: { n?: unknown; value?: unknown; error?: unknown; reason?: unknown }): void {
    switch (kind) {
      case StreamKind.pull:
        this.onPull(id, fields.n);
        return;
      case StreamKind.cancel:
        this.onCancel(id, fields.reason);
        return;
      case StreamKind.chunk:
        this.onChunk(id, fields.value);
        return;
      case StreamKind.end:
        this.onEnd(id, null, false);
        return;
      case StreamKind.error:
        this.onEnd(id, fields.error, true);
        return;
      default:
        console.warn(`litebridge: dropped a stream message of unknown kind ${JSON.stringify(kind)}`);
    }
  }

  /**
   * The connection is gone: every stream received errors with `error`, every source is
   * cancelled.
   *
   * @param error - Usually a {@link BridgeError} of code `closed`.
   */
  close(error: Error): void {
    for (const [id, consumer] of [...this.consumers]) {
      this.failConsumer(id, consumer, error, null);
    }
    for (const id of [...this.producers.keys()]) {
      const producer = this.dropProducer(id);
      void producer?.cancel(error).catch(() => undefined);
    }
  }
}
