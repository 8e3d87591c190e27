/**
 * The page's SAB loop in a browser without `Atomics.waitAsync` (e.g. Firefox before 145): it
 * must still serve calls, and must not wake up every millisecond while the kernel is idle.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Frame } from '../src/frame';
import { FrameWriter } from '../src/frame';
import { HEADER_BYTES, PHASE_SPAN, Phase, SAB_BYTES, Slot } from '../src/protocol';
import { MAX_POLL_MS, SabChannel } from '../src/sabChannel';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('SabChannel without Atomics.waitAsync', () => {
  it('backs off while idle and still serves a request written later', async () => {
    const sab = new SharedArrayBuffer(SAB_BYTES);
    const header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    const served: string[] = [];
    const channel = new SabChannel(
      sab,
      (frame: Frame) => ({ method: 'echo', run: () => { served.push(frame.json); return { json: '{"ok":1}', buffers: [] }; } }),
      null
    );
    const nativeSetTimeout = globalThis.setTimeout;
    let wakeups = 0;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      wakeups += 1;
      return nativeSetTimeout(fn, ms);
    }) as typeof setTimeout;
    try {
      channel.start();
      await sleep(1000);
    } finally {
      globalThis.setTimeout = nativeSetTimeout;
    }
    if (wakeups >= 2 * (1000 / MAX_POLL_MS) + 10) {
      channel.stop(); // or the loop keeps node's test runner alive
    }
    // 1 s idle: about 7 doubling sleeps up to MAX_POLL_MS, then 1000 / MAX_POLL_MS; polling
    // every millisecond would be several hundred.
    assert.ok(wakeups < 2 * (1000 / MAX_POLL_MS) + 10, `${wakeups} wake-ups in 1 s of idle`);
    assert.ok(wakeups > 0);
    // a request written now (as the worker would) is still seen, within one sleep
    const writer = new FrameWriter('{"v":2,"id":1,"kind":"litebridge.call"}', []);
    header[Slot.TOTAL_BYTES] = writer.totalBytes;
    header[Slot.CHUNK_BYTES] = writer.writeChunk(new Uint8Array(sab, HEADER_BYTES));
    header[Slot.CHUNK_INDEX] = 0;
    Atomics.store(header, Slot.STATE, 1 * PHASE_SPAN + Phase.REQUEST);
    const deadline = Date.now() + 5 * MAX_POLL_MS + 1000;
    while (Atomics.load(header, Slot.STATE) % PHASE_SPAN !== Phase.RESPONSE && Date.now() < deadline) {
      await sleep(5);
    }
    channel.stop();
    assert.equal(Atomics.load(header, Slot.STATE), 1 * PHASE_SPAN + Phase.RESPONSE);
    assert.deepEqual(served, ['{"v":2,"id":1,"kind":"litebridge.call"}']);
  });
});
