/**
 * The page keeps its event loop awake for a bounded time after each sync answer (KEEP_AWAKE_MS
 * in sabChannel.ts), so that the next call of a burst finds it running; then it stops.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Frame } from '../src/frame';
import { FrameWriter } from '../src/frame';
import { KEEP_AWAKE_MS } from '../src/keepAwake';
import { HEADER_BYTES, PHASE_SPAN, Phase, SAB_BYTES, Slot } from '../src/protocol';
import { SabChannel } from '../src/sabChannel';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A channel whose handler answers at once, and a function that makes one call as the worker would. */
function setup(keepAwakeMs: number): { channel: SabChannel; call: (seq: number) => Promise<void> } {
  const sab = new SharedArrayBuffer(SAB_BYTES);
  const header = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const channel = new SabChannel(
    sab,
    (_frame: Frame) => ({ method: 'echo', run: () => ({ json: '{"ok":1}', buffers: [] }) }),
    undefined,
    keepAwakeMs
  );
  const call = async (seq: number): Promise<void> => {
    const writer = new FrameWriter(`{"v":2,"id":${seq},"kind":"litebridge.call"}`, []);
    header[Slot.TOTAL_BYTES] = writer.totalBytes;
    header[Slot.CHUNK_BYTES] = writer.writeChunk(new Uint8Array(sab, HEADER_BYTES));
    header[Slot.CHUNK_INDEX] = 0;
    Atomics.store(header, Slot.STATE, seq * PHASE_SPAN + Phase.REQUEST);
    Atomics.notify(header, Slot.STATE);
    const deadline = Date.now() + 2000;
    while (Atomics.load(header, Slot.STATE) !== seq * PHASE_SPAN + Phase.RESPONSE && Date.now() < deadline) {
      await sleep(1);
    }
    assert.equal(Atomics.load(header, Slot.STATE), seq * PHASE_SPAN + Phase.RESPONSE);
    Atomics.store(header, Slot.STATE, Phase.IDLE); // the worker read it (no notify, as the helper)
  };
  return { channel, call };
}

describe('SabChannel keeps the page awake after an answer', () => {
  it('runs its task loop after each answer, for keepAwakeMs, then stops', async () => {
    assert.deepEqual([Math.sign(KEEP_AWAKE_MS), Math.min(KEEP_AWAKE_MS, 5)], [1, KEEP_AWAKE_MS], 'on, and a few milliseconds at most');
    const { channel, call } = setup(40);
    channel.start();
    try {
      assert.equal(channel.awake, false, 'not before any call');
      await call(1);
      assert.equal(channel.awake, true, 'awake right after an answer');
      await sleep(200);
      assert.equal(channel.awake, false, 'asleep again once the time is up');
      await call(2);
      assert.equal(channel.awake, true, 'and again after the next answer');
    } finally {
      channel.stop();
    }
    await sleep(100);
    assert.equal(channel.awake, false, 'stop() ends it');
  });

  it('never runs with keepAwakeMs 0', async () => {
    const { channel, call } = setup(0);
    channel.start();
    try {
      await call(1);
      assert.equal(channel.awake, false);
    } finally {
      channel.stop();
    }
  });
});
