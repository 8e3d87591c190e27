import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';

import { disableWaitAsyncFix, installWaitAsyncFix, nativeWaitAsync } from '../src/waitAsyncFix';

type WaitAsync = (array: Int32Array, index: number, value?: number, timeoutMs?: number) => { async: boolean; value: unknown };

/** `Atomics.waitAsync` as coincident 1.x reads it: when its chunk is evaluated, after the fix. */
const waitAsyncNow = (): WaitAsync => (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * coincident 1.x, page side, waiting for the worker's answer to a page -> worker call: it
 * waits on slot 0 with no expected value (so 0) and chains on `.value.then`.
 */
function coincidentWaitForAnswer(waitAsync: WaitAsync, slot: Int32Array): Promise<unknown> {
  return (waitAsync(slot, 0).value as Promise<unknown>).then((outcome) => outcome);
}

/** A worker thread that answers at once: stores 1 in slot 0 and notifies, then says so. */
function answerFromWorker(slot: Int32Array): Promise<void> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    Atomics.store(workerData, 0, 1);
    Atomics.notify(workerData, 0);
    parentPort.postMessage('answered');`;
  const worker = new Worker(source, { eval: true, workerData: slot });
  return new Promise((resolve, reject) => {
    worker.once('message', () => {
      void worker.terminate().then(() => {
        resolve();
      });
    });
    worker.once('error', reject);
  });
}

describe('waitAsyncFix (coincident 1.x: the worker answers before the page waits)', () => {
  it('upstream cause: the native result is synchronous, its value a string with no then()', async () => {
    assert.equal(typeof nativeWaitAsync, 'function');
    const slot = new Int32Array(new SharedArrayBuffer(8));
    await answerFromWorker(slot);
    const result = (nativeWaitAsync as WaitAsync)(slot, 0);
    assert.deepEqual(result, { async: false, value: 'not-equal' });
    assert.throws(() => coincidentWaitForAnswer(nativeWaitAsync as WaitAsync, slot), TypeError);
  });

  it('with the fix the late wait settles with the same outcome, on a later task', async () => {
    installWaitAsyncFix();
    const slot = new Int32Array(new SharedArrayBuffer(8));
    await answerFromWorker(slot);
    assert.equal(await coincidentWaitForAnswer(waitAsyncNow(), slot), 'not-equal');
  });

  it('settles without a timer (timers are clamped to 1 s in hidden tabs)', async () => {
    installWaitAsyncFix();
    const slot = new Int32Array(new SharedArrayBuffer(8));
    await answerFromWorker(slot);
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = (() => {
      throw new Error('the waitAsync fix used a timer');
    }) as unknown as typeof setTimeout;
    let settled: Promise<unknown>;
    try {
      settled = coincidentWaitForAnswer(waitAsyncNow(), slot);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    assert.equal(await settled, 'not-equal');
  });

  it('a wait that starts before the answer still resolves "ok" when the worker notifies', async () => {
    installWaitAsyncFix();
    const slot = new Int32Array(new SharedArrayBuffer(8));
    const pending = coincidentWaitForAnswer(waitAsyncNow(), slot);
    await answerFromWorker(slot);
    assert.equal(await pending, 'ok');
  });

  it('installs once; switched off it passes the native result through, warning once', async () => {
    assert.equal(installWaitAsyncFix(), false);
    const warnings: string[] = [];
    assert.equal(disableWaitAsyncFix('test reason', (m) => warnings.push(m)), true);
    assert.equal(disableWaitAsyncFix('again', (m) => warnings.push(m)), false);
    assert.deepEqual(warnings, [
      'litebridge: the Atomics.waitAsync work-around (waitAsyncFix) is switched off: test reason'
    ]);
    const slot = new Int32Array(new SharedArrayBuffer(8));
    await answerFromWorker(slot);
    assert.deepEqual(waitAsyncNow()(slot, 0), { async: false, value: 'not-equal' });
  });
});
