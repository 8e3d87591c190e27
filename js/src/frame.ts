/**
 * The binary frame of protocol section 7, written and read in chunks.
 *
 * Layout: `J` (uint32 LE, bytes of the UTF-8 JSON), `N` (uint32 LE, number of buffers),
 * `N` x uint32 LE buffer lengths, the JSON, then the buffers concatenated with no padding.
 *
 * Used on both sides of the SharedArrayBuffer: by the page and by the worker helper. It never
 * runs `TextEncoder`/`TextDecoder` on a view of a SharedArrayBuffer (Chromium refuses them):
 * the JSON is encoded into an ordinary buffer and copied, and decoded from an ordinary buffer.
 *
 * @packageDocumentation
 */
import { FRAME_FIXED_BYTES } from './protocol';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frame that is not well formed: lengths that do not add up, or bytes past the end. */
export class FrameError extends RangeError {
  constructor(message: string) {
    super(`malformed frame: ${message}`);
    this.name = 'FrameError';
  }
}

/**
 * Makes the destinations of a frame's binary values, given their sizes in bytes (in order):
 * one `Uint8Array` of exactly that length each. {@link freshBuffers} by default.
 */
export type AllocateBuffers = (sizes: readonly number[]) => Uint8Array[];

/** Each binary value in its own new `ArrayBuffer` (the default of {@link FrameReader}). */
export const freshBuffers: AllocateBuffers = (sizes) => sizes.map((size) => new Uint8Array(size));

/**
 * A decoded frame: the JSON text and its buffers, each backed by its own `ArrayBuffer`
 * (unless the {@link FrameReader} was given another {@link AllocateBuffers}).
 */
export interface Frame {
  json: string;
  buffers: Uint8Array[];
}

/**
 * Where the first buffer of a frame starts, in bytes from the frame's start: a multiple of
 * this. V8 copies to or from a `SharedArrayBuffer` word by word when source and target share
 * their alignment and byte by byte otherwise: 8 MiB took 2.1-2.8 ms misaligned and 0.3-0.4 ms
 * aligned (Node 20's V8; `bench/README.md`, tenth round). The payload starts at `HEADER_BYTES`
 * (32) into the SAB and every chunk but the last fills the payload (8 MiB), so a buffer that
 * starts aligned in the frame stays aligned in every chunk.
 */
export const BUFFER_ALIGN = 8;

/**
 * Writes one frame chunk by chunk into a target area (the SAB payload), copying each byte
 * once from its source (the JSON bytes or the caller's buffers). A frame with buffers has its
 * JSON padded with spaces so that the first buffer starts at a multiple of
 * {@link BUFFER_ALIGN} bytes.
 *
 * The caller's buffers are referenced, not copied, until every chunk is written: they must
 * not change in between.
 */
export class FrameWriter {
  /** Bytes of the whole frame. */
  readonly totalBytes: number;
  /** Bytes written so far. */
  writtenBytes = 0;
  /** Chunks written so far; the index of the next chunk. */
  chunkIndex = 0;

  private readonly segments: Uint8Array[];
  private segment = 0;
  private segmentOffset = 0;

  /**
   * @param json - The envelope as JSON text.
   * @param buffers - The binary buffers, in placeholder order.
   */
  constructor(json: string, buffers: readonly Uint8Array[]) {
    const jsonBytes = encoder.encode(json);
    const headBytes = FRAME_FIXED_BYTES + 4 * buffers.length;
    // The JSON is followed by spaces (JSON whitespace, which every parser skips) up to where
    // the first buffer starts at a multiple of BUFFER_ALIGN; they count in its length J.
    const unpadded = headBytes + jsonBytes.length;
    const pad = buffers.length > 0 ? (BUFFER_ALIGN - (unpadded % BUFFER_ALIGN)) % BUFFER_ALIGN : 0;
    const head = new Uint8Array(unpadded + pad);
    const view = new DataView(head.buffer);
    view.setUint32(0, jsonBytes.length + pad, true);
    view.setUint32(4, buffers.length, true);
    let total = head.length;
    buffers.forEach((buffer, i) => {
      view.setUint32(FRAME_FIXED_BYTES + 4 * i, buffer.byteLength, true);
      total += buffer.byteLength;
    });
    head.set(jsonBytes, headBytes);
    head.fill(0x20, unpadded);
    this.segments = [head, ...buffers];
    this.totalBytes = total;
  }

  /** True when every byte has been written. */
  get done(): boolean {
    return this.writtenBytes >= this.totalBytes;
  }

  /**
   * Copy the next chunk into `target`.
   *
   * @param target - Where to write; its length is the chunk capacity in bytes (> 0).
   * @returns The bytes written (0 once {@link done}).
   */
  writeChunk(target: Uint8Array): number {
    let written = 0;
    while (written < target.length && this.segment < this.segments.length) {
      const source = this.segments[this.segment];
      const count = Math.min(target.length - written, source.length - this.segmentOffset);
      if (count > 0) {
        target.set(source.subarray(this.segmentOffset, this.segmentOffset + count), written);
        written += count;
        this.segmentOffset += count;
      }
      if (this.segmentOffset >= source.length) {
        this.segment += 1;
        this.segmentOffset = 0;
      }
    }
    this.writtenBytes += written;
    this.chunkIndex += 1;
    return written;
  }
}

/**
 * Reassembles one frame from chunks. Each chunk is copied once, straight into the JSON
 * buffer or into the `ArrayBuffer` of the binary value it belongs to.
 */
export class FrameReader {
  /** Bytes of the whole frame. */
  readonly totalBytes: number;
  /** Bytes received so far. */
  receivedBytes = 0;
  /** Chunks received so far; the index of the next expected chunk. */
  chunkIndex = 0;

  private readonly fixed = new Uint8Array(FRAME_FIXED_BYTES);
  private lengths: Uint8Array | null = null;
  private jsonBytes: Uint8Array | null = null;
  private buffers: Uint8Array[] = [];
  /** Destinations in order; grows as the header is learnt. */
  private readonly destinations: Uint8Array[] = [this.fixed];
  private destination = 0;
  private destinationOffset = 0;
  private readonly allocate: AllocateBuffers;

  /**
   * @param totalBytes - Bytes of the whole frame (`TOTAL_BYTES`).
   * @param allocate - Makes the binary values' destinations once their sizes are known;
   *   default {@link freshBuffers}.
   * @throws FrameError if `totalBytes` cannot hold a frame header.
   */
  constructor(totalBytes: number, allocate: AllocateBuffers = freshBuffers) {
    if (!Number.isInteger(totalBytes) || totalBytes < FRAME_FIXED_BYTES) {
      throw new FrameError(`total ${totalBytes} bytes`);
    }
    this.totalBytes = totalBytes;
    this.allocate = allocate;
  }

  /** True when every byte has been received. */
  get complete(): boolean {
    return this.receivedBytes === this.totalBytes;
  }

  /**
   * Take one chunk (copied; it may be a view on a SharedArrayBuffer).
   *
   * @param chunk - The chunk bytes.
   * @throws FrameError if the chunk goes past the frame or contradicts its header.
   */
  push(chunk: Uint8Array): void {
    if (this.receivedBytes + chunk.length > this.totalBytes) {
      throw new FrameError(`chunk of ${chunk.length} bytes past the end of the frame`);
    }
    let offset = 0;
    this.settle();
    while (offset < chunk.length) {
      const target = this.destinations[this.destination];
      const count = Math.min(chunk.length - offset, target.length - this.destinationOffset);
      target.set(chunk.subarray(offset, offset + count), this.destinationOffset);
      offset += count;
      this.destinationOffset += count;
      this.settle();
    }
    this.receivedBytes += chunk.length;
    this.chunkIndex += 1;
  }

  /**
   * The decoded frame.
   *
   * @throws FrameError if the frame is not complete or its lengths do not add up.
   */
  result(): Frame {
    this.settle();
    if (!this.complete || this.jsonBytes === null || this.destination < this.destinations.length) {
      throw new FrameError(`${this.receivedBytes} of ${this.totalBytes} bytes received`);
    }
    return { json: decoder.decode(this.jsonBytes), buffers: this.buffers };
  }

  /** Move past full destinations, learning the header as it completes. */
  private settle(): void {
    while (
      this.destination < this.destinations.length &&
      this.destinationOffset >= this.destinations[this.destination].length
    ) {
      const finished = this.destinations[this.destination];
      this.destination += 1;
      this.destinationOffset = 0;
      if (finished === this.fixed) {
        this.learnCounts();
      } else if (finished === this.lengths) {
        this.learnLengths();
      }
    }
  }

  private learnCounts(): void {
    const view = new DataView(this.fixed.buffer);
    const jsonLength = view.getUint32(0, true);
    const count = view.getUint32(4, true);
    if (FRAME_FIXED_BYTES + 4 * count + jsonLength > this.totalBytes) {
      throw new FrameError(`header of ${count} buffers and ${jsonLength} JSON bytes`);
    }
    this.lengths = new Uint8Array(4 * count);
    this.jsonBytes = new Uint8Array(jsonLength);
    this.destinations.push(this.lengths);
  }

  private learnLengths(): void {
    const lengths = this.lengths;
    const jsonBytes = this.jsonBytes;
    if (lengths === null || jsonBytes === null) {
      return;
    }
    const view = new DataView(lengths.buffer);
    let total = FRAME_FIXED_BYTES + lengths.length + jsonBytes.length;
    const sizes: number[] = [];
    for (let i = 0; i < lengths.length; i += 4) {
      const size = view.getUint32(i, true);
      sizes.push(size);
      total += size;
    }
    if (total !== this.totalBytes) {
      throw new FrameError(`lengths add up to ${total} bytes, the frame has ${this.totalBytes}`);
    }
    this.buffers = this.allocate(sizes);
    this.destinations.push(jsonBytes, ...this.buffers);
  }
}
