import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  COINCIDENT_CHANNEL,
  disableCoincidentResultFix,
  installCoincidentResultFix,
  redirectCall
} from '../src/coincidentResultFix';
import { nativeWaitAsync } from '../src/waitAsyncFix';

const waitAsync = nativeWaitAsync as NonNullable<typeof nativeWaitAsync>;

/** Node has no Worker global: a stand-in with the EventTarget side of a DOM Worker. */
class FakeWorker extends EventTarget {
  /** What the page posted to the worker, in order. */
  readonly posted: unknown[] = [];
  constructor(readonly url: string | URL, readonly options?: WorkerOptions) {
    super();
  }
  postMessage(message: unknown): void {
    // the test dispatches the worker's messages itself
    this.posted.push(message);
  }
}
(globalThis as { Worker?: unknown }).Worker = FakeWorker;

const RESULT = JSON.stringify({ status: 'ok', content: 'x'.repeat(300), path: 'drive/notebook.ipynb' });

/**
 * coincident 1.x, page side, second phase of a worker -> page call: the message `[id, sb]`
 * asks for the result string; it is written into `sb` as UTF-16 code units from byte 0 (so
 * the first two land in slot 0, the one the worker waits on), then slot 0 is notified.
 * `onWrite` sees slot 0 of the worker's buffer after every code unit, as a worker arriving
 * at `Atomics.wait(sb, 0, 0)` at that moment would.
 */
function coincidentAnswer(worker: EventTarget, notify: typeof Atomics.notify, onWrite: () => void): void {
  worker.addEventListener('message', (event) => {
    const details = (event as MessageEvent<Record<string, unknown>>).data[COINCIDENT_CHANNEL] as [number, Int32Array];
    const sb = details[1];
    const units = new Uint16Array(sb.buffer);
    for (let i = 0; i < RESULT.length; i++) {
      units[i] = RESULT.charCodeAt(i);
      onWrite();
    }
    notify(sb, 0);
  });
}

/** The worker side: its buffer for the result (length known from phase one). */
function workerBuffer(): Int32Array {
  const bytes = 2 * RESULT.length;
  return new Int32Array(new SharedArrayBuffer(bytes + (bytes % 4)));
}

/**
 * coincident 1.x, page side of a page -> worker call, second phase, after it posted `[id, sb]`:
 * the worker (the test) has written the first half of the reply into the buffer it was given
 * when the page calls `waitAsync(sb, 0, 0)`; `finish` writes the rest and notifies.
 */
function pageCallReply(worker: FakeWorker, sb: Int32Array): { outcome: unknown; finish: () => void } {
  const details = (worker.posted.at(-1) as Record<string, unknown[]>)[COINCIDENT_CHANNEL];
  const given = details[1] as Int32Array;
  const units = new Uint16Array(given.buffer);
  const half = RESULT.length >> 1;
  for (let i = 0; i < half; i++) {
    units[i] = RESULT.charCodeAt(i);
  }
  const result = waitAsync(sb, 0, 0);
  return {
    outcome: result.value,
    finish: () => {
      for (let i = half; i < RESULT.length; i++) {
        units[i] = RESULT.charCodeAt(i);
      }
      Atomics.notify(given, 0);
    }
  };
}

function decode(sb: Int32Array): string {
  return new TextDecoder('utf-16').decode(new Uint16Array(sb.buffer).slice(0, RESULT.length));
}

describe('coincidentResultFix (coincident 1.x: the worker reads the result while it is written)', () => {
  it('without it, the waited-on slot turns non-zero at the first code units (the torn read)', () => {
    const worker = new FakeWorker('kernel.js');
    const target = workerBuffer();
    const seen: number[] = [];
    coincidentAnswer(worker, Atomics.notify, () => seen.push(Atomics.load(target, 0)));
    worker.dispatchEvent(new MessageEvent('message', { data: { [COINCIDENT_CHANNEL]: [1, target] } }));
    assert.notEqual(seen[0], 0, 'a worker arriving now would read a one-character string');
  });

  it('with it, the slot stays 0 until the whole result is there, then the worker reads all of it', () => {
    assert.equal(installCoincidentResultFix(), true);
    const notify = Atomics.notify; // coincident captures it when the kernel's chunk is evaluated
    const worker = new globalThis.Worker('kernel.js') as unknown as EventTarget;
    const target = workerBuffer();
    const seen: number[] = [];
    coincidentAnswer(worker, notify, () => seen.push(Atomics.load(target, 0)));
    worker.dispatchEvent(new MessageEvent('message', { data: { [COINCIDENT_CHANNEL]: [1, target] } }));
    assert.equal(seen.length, RESULT.length);
    assert.ok(seen.every((slot) => slot === 0), 'the worker keeps waiting while the result is written');
    assert.equal(decode(target), RESULT);
  });

  it('page -> worker, without it: the page finds slot 0 set while the reply is half written', () => {
    const worker = new FakeWorker('kernel.js');
    const sb = workerBuffer();
    worker.postMessage({ [COINCIDENT_CHANNEL]: [7, sb] });
    const reply = pageCallReply(worker, sb);
    assert.equal(reply.outcome, 'not-equal', 'coincident reads at once');
    assert.notEqual(decode(sb), RESULT, 'and gets a torn string');
  });

  it('page -> worker, with it: the page waits until the worker notifies, then reads all of it', async () => {
    // coincident captures worker.postMessage when the kernel is created: the subclass's own
    const worker = new globalThis.Worker('kernel.js') as unknown as FakeWorker;
    const sb = workerBuffer();
    worker.postMessage({ [COINCIDENT_CHANNEL]: [7, sb] });
    const reply = pageCallReply(worker, sb);
    assert.equal(Atomics.load(sb, 0), 0, 'nothing visible while the worker writes');
    assert.ok(reply.outcome instanceof Promise, 'coincident waits');
    reply.finish();
    assert.equal(await reply.outcome, 'ok');
    assert.equal(decode(sb), RESULT);
    // phase one ([id, sb, name, args]) too: sb[1] (the length) is there when sb[0] is
    const first = new Int32Array(new SharedArrayBuffer(8));
    worker.postMessage({ [COINCIDENT_CHANNEL]: [8, first, 'execute', []] });
    const handed = ((worker.posted.at(-1) as Record<string, unknown[]>)[COINCIDENT_CHANNEL])[1] as Int32Array;
    assert.notEqual(handed, first);
    const waited = waitAsync(first, 0, 0);
    handed[1] = RESULT.length;
    handed[0] = 1;
    Atomics.notify(handed, 0);
    assert.equal(await waited.value, 'ok');
    assert.deepEqual([...first], [1, RESULT.length]);
    // not a coincident call, or a buffer already answered: left alone
    assert.equal(redirectCall({ other: [1, first] }), false);
    assert.equal(redirectCall({ [COINCIDENT_CHANNEL]: [1, first] }), false);
    assert.equal(redirectCall({ [COINCIDENT_CHANNEL]: [1, workerBuffer()] }, null), false);
  });

  it('leaves other messages and notifies alone', () => {
    const worker = new globalThis.Worker('kernel.js') as unknown as EventTarget;
    const plain = new Int32Array(new SharedArrayBuffer(8));
    let received: unknown = null;
    worker.addEventListener('message', (event) => {
      received = (event as MessageEvent).data;
    });
    const other = { '00000000-0000-0000-0000-000000000000': [1, plain] };
    worker.dispatchEvent(new MessageEvent('message', { data: other }));
    assert.equal((received as typeof other)['00000000-0000-0000-0000-000000000000'][1], plain);
    assert.equal(Atomics.notify(plain, 0), 0);
  });

  it('installs once; switched off it no longer redirects, warning once', () => {
    assert.equal(installCoincidentResultFix(), false);
    const warnings: string[] = [];
    assert.equal(disableCoincidentResultFix('test reason', (m) => warnings.push(m)), true);
    assert.equal(disableCoincidentResultFix('again', (m) => warnings.push(m)), false);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /coincidentResultFix\) is switched off: test reason/);
    const worker = new globalThis.Worker('kernel.js') as unknown as EventTarget;
    const target = workerBuffer();
    let handed: unknown = null;
    worker.addEventListener('message', (event) => {
      handed = ((event as MessageEvent<Record<string, unknown>>).data[COINCIDENT_CHANNEL] as unknown[])[1];
    });
    worker.dispatchEvent(new MessageEvent('message', { data: { [COINCIDENT_CHANNEL]: [1, target] } }));
    assert.equal(handed, target);
  });
});
