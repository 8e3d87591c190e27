/**
 * One reusable `ArrayBuffer` for the binary values of synchronous answers in the worker.
 *
 * Python copies each binary value of a `callSync` answer into a `bytes` object at once
 * (`to_bytes`), so the helper need not give every answer buffers of its own. A new
 * `ArrayBuffer` of 16 MiB costs about twice as much as copying 16 MiB into one already in
 * use (its pages are zeroed and faulted in on first write): reusing one saves about 4 ms
 * per 16 MiB answer in Chromium 156 (`bench/README.md`, tenth round).
 *
 * @packageDocumentation
 */
import type { AllocateBuffers } from '../frame';
import { BUFFER_ALIGN, freshBuffers } from '../frame';

/**
 * The most bytes the scratch buffer keeps between calls (32 MiB): an answer whose binary
 * values add up to more gets new buffers, so one huge answer does not pin its size in the
 * worker for good.
 */
export const SCRATCH_MAX_BYTES = 32 * 1024 * 1024;

/** `offset` rounded up to a multiple of `BUFFER_ALIGN`. */
function alignUp(offset: number): number {
  return Math.ceil(offset / BUFFER_ALIGN) * BUFFER_ALIGN;
}

/** The least size of the scratch buffer once it exists, in bytes (64 KiB). */
const SCRATCH_MIN_BYTES = 64 * 1024;

/**
 * Hands out views of one `ArrayBuffer` that is grown as needed (to a power of two, at most
 * `maxBytes`) and reused by every frame read with {@link ScratchBuffers.allocate}. Each view
 * starts at a multiple of `BUFFER_ALIGN` (8) bytes, as the frame's first buffer does in the
 * SAB, so that it is copied word by word.
 *
 * The views of one frame are valid until the next frame is allocated: copy them first.
 */
export class ScratchBuffers {
  private buffer: ArrayBuffer | null = null;
  private readonly maxBytes: number;

  /**
   * @param maxBytes - The most bytes to keep (default {@link SCRATCH_MAX_BYTES}).
   */
  constructor(maxBytes: number = SCRATCH_MAX_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Bytes of the buffer kept now (0 before the first frame that fits). */
  get capacity(): number {
    return this.buffer?.byteLength ?? 0;
  }

  /**
   * Views for a frame's binary values, in order in the scratch buffer (each at a multiple of
   * 8 bytes); new buffers when they take more than the most bytes kept.
   *
   * @param sizes - The values' sizes in bytes.
   * @returns One `Uint8Array` of each size.
   */
  readonly allocate: AllocateBuffers = (sizes) => {
    const offsets: number[] = [];
    let total = 0;
    for (const size of sizes) {
      total = alignUp(total);
      offsets.push(total);
      total += size;
    }
    if (total > this.maxBytes) {
      return freshBuffers(sizes);
    }
    let buffer = this.buffer;
    if (buffer === null || buffer.byteLength < total) {
      let grown = Math.max(SCRATCH_MIN_BYTES, buffer?.byteLength ?? 0);
      while (grown < total) {
        grown *= 2;
      }
      buffer = new ArrayBuffer(Math.min(grown, this.maxBytes));
      this.buffer = buffer;
    }
    return sizes.map((size, i) => new Uint8Array(buffer, offsets[i], size));
  };
}
