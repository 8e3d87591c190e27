import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FrameReader, FrameWriter } from '../src/frame';
import { SCRATCH_MAX_BYTES, ScratchBuffers } from '../src/worker/scratch';

describe('scratch buffers for sync answers (worker)', () => {
  it('hands out views of exactly the asked sizes, in one buffer, each at a multiple of 8 bytes', () => {
    const scratch = new ScratchBuffers();
    const views = scratch.allocate([3, 0, 5, 16, 1]);
    assert.deepEqual(
      views.map((view) => [view.length, view.byteOffset]),
      [
        [3, 0],
        [0, 8],
        [5, 8],
        [16, 16],
        [1, 32]
      ]
    );
    assert.equal(views[0].buffer, views[2].buffer);
    assert.equal(scratch.capacity, 64 * 1024);
  });

  it('reuses its buffer, and grows it to a power of two when a frame needs more', () => {
    const scratch = new ScratchBuffers();
    const first = scratch.allocate([10]);
    assert.equal(scratch.allocate([20])[0].buffer, first[0].buffer);
    const grown = scratch.allocate([100 * 1024, 1]);
    assert.notEqual(grown[0].buffer, first[0].buffer);
    assert.equal(scratch.capacity, 128 * 1024);
    assert.equal(scratch.allocate([7])[0].buffer, grown[0].buffer);
  });

  it('gives a frame larger than the most it keeps buffers of their own, and keeps its buffer', () => {
    const scratch = new ScratchBuffers(1000);
    const kept = scratch.allocate([600]);
    assert.equal(scratch.capacity, 1000); // capped, not grown to 64 KiB
    const big = scratch.allocate([600, 600]);
    assert.deepEqual(
      big.map((view) => [view.length, view.buffer.byteLength]),
      [
        [600, 600],
        [600, 600]
      ]
    );
    assert.notEqual(big[0].buffer, big[1].buffer);
    assert.equal(scratch.allocate([1000])[0].buffer, kept[0].buffer);
    assert.equal(SCRATCH_MAX_BYTES, 32 * 1024 * 1024);
  });

  it('is where a FrameReader given its allocate puts the binary values', () => {
    const scratch = new ScratchBuffers();
    const payload = new Uint8Array(new SharedArrayBuffer(64));
    const read = (values: Uint8Array[]): Uint8Array[] => {
      const writer = new FrameWriter('{"v":[]}', values);
      const reader = new FrameReader(writer.totalBytes, scratch.allocate);
      while (!writer.done) {
        const count = writer.writeChunk(payload);
        reader.push(payload.subarray(0, count));
      }
      return reader.result().buffers;
    };
    const first = read([new Uint8Array([1, 2, 3]), new Uint8Array(100).fill(9)]);
    assert.deepEqual([...first[0]], [1, 2, 3]);
    assert.ok(first[1].every((byte) => byte === 9) && first[1].length === 100);
    const second = read([new Uint8Array([4, 5])]);
    assert.deepEqual([...second[0]], [4, 5]);
    assert.equal(second[0].buffer, first[0].buffer);
  });
});
