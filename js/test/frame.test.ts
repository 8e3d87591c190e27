import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BUFFER_ALIGN, FrameError, FrameReader, FrameWriter } from '../src/frame';
import { FRAME_FIXED_BYTES } from '../src/protocol';
import { packFrame, unpackFrame } from './fixtures/frames';

function bytes(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff);
}

/** Write a frame through a SharedArrayBuffer payload of `capacity` bytes, chunk by chunk. */
function throughSab(json: string, buffers: Uint8Array[], capacity: number): { chunks: number; json: string; buffers: Uint8Array[] } {
  const writer = new FrameWriter(json, buffers);
  const reader = new FrameReader(writer.totalBytes);
  const payload = new Uint8Array(new SharedArrayBuffer(capacity));
  let chunks = 0;
  while (!writer.done) {
    const count = writer.writeChunk(payload);
    assert.ok(count > 0 && count <= capacity);
    reader.push(payload.subarray(0, count));
    chunks += 1;
  }
  assert.ok(reader.complete);
  return { chunks, ...reader.result() };
}

describe('binary frame', () => {
  it('has the documented layout', () => {
    const frame = packFrame('{"a":"é"}', [new Uint8Array([1, 2]), new Uint8Array(0)]);
    const view = new DataView(frame.buffer);
    // 10 bytes of JSON after a 16-byte head, padded with 6 spaces: the buffers start at 32
    assert.equal(view.getUint32(0, true), 16);
    assert.equal(view.getUint32(4, true), 2);
    assert.equal(view.getUint32(8, true), 2);
    assert.equal(view.getUint32(12, true), 0);
    assert.equal(new TextDecoder().decode(frame.subarray(16, 32)), '{"a":"é"}      ');
    assert.deepEqual([...frame.subarray(32)], [1, 2]);
    assert.equal(frame.length, 34);
  });

  it('pads the JSON with spaces so that the first buffer starts at a multiple of 8 bytes', () => {
    for (let length = 1; length <= 17; length++) {
      for (const count of [1, 2, 3]) {
        const json = JSON.stringify('x'.repeat(length));
        const frame = packFrame(json, Array.from({ length: count }, (_, i) => new Uint8Array([i + 1])));
        const jsonBytes = new DataView(frame.buffer).getUint32(0, true);
        const first = FRAME_FIXED_BYTES + 4 * count + jsonBytes;
        assert.equal(first % BUFFER_ALIGN, 0, `${length} chars, ${count} buffers`);
        assert.ok(jsonBytes - json.length < BUFFER_ALIGN);
        const text = new TextDecoder().decode(frame.subarray(first - jsonBytes, first));
        assert.equal(text, json.padEnd(jsonBytes, ' '));
        assert.equal(JSON.parse(text), 'x'.repeat(length));
        assert.equal(frame[first], 1);
      }
    }
    // without buffers there is nothing to align: the JSON is as given
    const bare = packFrame('{"b":2}', []);
    assert.equal(new DataView(bare.buffer).getUint32(0, true), 7);
    assert.equal(bare.length, FRAME_FIXED_BYTES + 7);
  });

  const buffers = [bytes(0, 1), bytes(1, 2), bytes(1000, 3), bytes(0, 4), bytes(70000, 5)];
  const json = JSON.stringify({ kind: 'litebridge.call', text: 'naïve ✓ '.repeat(50) });
  for (const capacity of [1, 2, 3, 7, 8, 9, 64, 4096, 65536, 1 << 20]) {
    it(`round-trips across chunks of ${capacity} bytes`, () => {
      const out = throughSab(json, buffers, capacity);
      const total = new FrameWriter(json, buffers).totalBytes;
      assert.equal(out.chunks, Math.ceil(total / capacity));
      assert.equal(out.json.trimEnd(), json); // padded with spaces: the buffers start aligned
      assert.deepEqual(JSON.parse(out.json), JSON.parse(json));
      assert.equal(out.buffers.length, buffers.length);
      out.buffers.forEach((buffer, i) => {
        assert.deepEqual(buffer, buffers[i]);
        // Each value owns its ArrayBuffer: no view of the whole frame leaks to handlers.
        assert.equal(buffer.buffer.byteLength, buffers[i].length);
        assert.ok(buffer.buffer instanceof ArrayBuffer);
      });
    });
  }

  it('round-trips a frame without buffers', () => {
    assert.deepEqual(unpackFrame(packFrame('{}', [])), { json: '{}', buffers: [] });
  });

  it('refuses a chunk past the end of the frame', () => {
    const frame = packFrame('{}', []);
    const reader = new FrameReader(frame.length);
    assert.throws(() => {
      reader.push(new Uint8Array(frame.length + 1));
    }, FrameError);
  });

  it('refuses a header whose lengths do not add up', () => {
    const frame = packFrame('{}', [new Uint8Array(4)]);
    new DataView(frame.buffer).setUint32(8, 5, true);
    assert.throws(() => unpackFrame(frame), FrameError);
    const short = packFrame('{"long json":1}', []);
    assert.throws(() => unpackFrame(short.subarray(0, short.length - 1)), FrameError);
  });

  it('refuses the result of an incomplete frame', () => {
    const frame = packFrame('{}', [new Uint8Array(10)]);
    const reader = new FrameReader(frame.length);
    reader.push(frame.subarray(0, 12));
    assert.equal(reader.complete, false);
    assert.throws(() => reader.result(), FrameError);
  });
});
