import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';

import { KernelBridge, isHello } from '../src/bridge';
import { isChannelFrame } from '../src/protocol';
import { asKernelWorker } from './fixtures/helper';
import { BridgeError } from '../src/errors';
import { HandlerRegistry } from '../src/registry';
import type { Outcome } from './fixtures/sabWorker';

function sumOf(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) {
    sum = (sum + byte) >>> 0;
  }
  return sum;
}

function patternSum(size: number, seed: number): number {
  let sum = 0;
  for (let i = 0; i < size; i++) {
    sum = (sum + ((i * 13 + seed) & 0xff)) >>> 0;
  }
  return sum;
}

const MiB = 1024 * 1024;

/**
 * The page side (this thread, a real KernelBridge) against the real worker helper bundle in
 * a worker thread that blocks in Atomics.wait, as in the browser.
 */
describe('synchronous calls over the SharedArrayBuffer', () => {
  const handlers = new HandlerRegistry();
  const bridge = new KernelBridge('kernel-sab', handlers, '0.1.0');
  let result: { created: boolean; ready: boolean; outcomes: Outcome[]; log: string[] };
  let worker: Worker;
  const seenByHandlers: string[] = [];

  before(async () => {
    handlers.register({
      echo: (...args: unknown[]) => args,
      sizes: (...args: unknown[]) => (args as Uint8Array[]).map((b) => [b.length, sumOf(b)]),
      never: () => new Promise(() => undefined),
      slow: () => new Promise((resolve) => setTimeout(() => { resolve('late slow answer'); }, 300)),
      after: (ms: number) => new Promise((resolve) => setTimeout(() => { resolve(`after ${ms}`); }, ms)),
      fails: () => {
        throw new RangeError('handler failed');
      },
      async reenter() {
        try {
          return await bridge.call('anything');
        } catch (error) {
          return error instanceof BridgeError ? [error.code, error.message] : String(error);
        }
      },
      clickLike() {
        // as el.click() with a Python listener: the page function calls Python and returns at once
        void bridge.call('clicked');
        return 'clicked once';
      },
      async reenterNested() {
        return bridge.call('nestedSync');
      },
      async bigCallback() {
        return bridge.call('bigArgument', new Uint8Array(9 * MiB).fill(7));
      },
      record: (x: string) => {
        seenByHandlers.push(x);
        return x;
      }
    });
    worker = new Worker(join(__dirname, 'fixtures', 'sabWorker.js'));
    const done = new Promise<typeof result>((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (isChannelFrame(message)) {
          return; // a frame: the bridge's own listener takes it
        }
        if (isHello(message)) {
          bridge.attach(message, asKernelWorker(worker));
        } else {
          resolve(message as typeof result);
        }
      });
      worker.on('error', reject);
    });
    worker.postMessage([
      { envelope: { kind: 'litebridge.call', method: 'echo', args: ['hi', 1], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'sizes', args: [{ $bytes: 0 }, { $bytes: 1 }, { $bytes: 2 }], sync: true }, bufferSizes: [0, MiB, 8 * MiB + 100], timeoutMs: 20000 },
      { envelope: { kind: 'litebridge.call', method: 'echo', args: [{ $bytes: 0 }], sync: true }, bufferSizes: [20 * MiB], timeoutMs: 20000 },
      { envelope: { kind: 'litebridge.call', method: 'never', args: [], sync: true }, timeoutMs: 100 },
      { envelope: { kind: 'litebridge.call', method: 'slow', args: [], sync: true }, timeoutMs: 100 },
      { envelope: { kind: 'litebridge.call', method: 'after', args: [500], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'fails', args: [], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'nope', args: [], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'reenter', args: [], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.register', source: '{ twice(x) { return 2 * x } }' }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'twice', args: [21], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'record', args: ['x'], sync: true }, timeoutMs: 5000, repeat: 1000 },
      { envelope: { kind: 'litebridge.call', method: 'clickLike', args: [], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'reenterNested', args: [], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'bigCallback', args: [], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'echo', args: ['after'], sync: true }, timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'echo', args: [{ $bytes: 0 }], sync: true }, bufferSizes: [1000], timeoutMs: 5000 },
      { envelope: { kind: 'litebridge.call', method: 'echo', args: [{ $bytes: 0 }, { $bytes: 1 }], sync: true }, bufferSizes: [3000, 5], timeoutMs: 5000 }
    ]);
    result = await done;
  });

  after(async () => {
    bridge.close();
    await worker.terminate();
  });

  it('creates the SAB, and the page attaches (PAGE_READY)', () => {
    assert.equal(result.created, true);
    assert.equal(result.ready, true);
    assert.equal(bridge.transport, 'sab');
  });

  it('answers a small call', () => {
    const [echo] = result.outcomes;
    assert.equal(echo.ok, true);
    assert.deepEqual(echo.envelope, { v: 2, id: 1, kind: 'litebridge.result', value: ['hi', 1] });
  });

  it('wakes the page once per single-chunk call (no notify for the final IDLE)', () => {
    // the REQUEST store notifies; the IDLE store after the answer must not (protocol section 7)
    assert.equal(result.outcomes[0].notifies, 1);
    assert.equal(result.outcomes[11].notifies, 1);
  });

  it('carries 0 B, 1 MiB and 8 MiB + 100 B arguments (several chunks) intact', () => {
    const outcome = result.outcomes[1];
    assert.equal(outcome.ok, true);
    assert.deepEqual(outcome.envelope?.value, [
      [0, 0],
      [MiB, patternSum(MiB, 2)],
      [8 * MiB + 100, patternSum(8 * MiB + 100, 3)]
    ]);
  });

  it('carries a 20 MiB answer (three chunks) back intact', () => {
    const outcome = result.outcomes[2];
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.deepEqual(outcome.envelope?.value, [{ $bytes: 0 }]);
    assert.deepEqual(outcome.buffers, [[20 * MiB, patternSum(20 * MiB, 1)]]);
  });

  it('reads the buffers of every answer into one reused scratch buffer, intact', () => {
    const [big, small, two] = [result.outcomes[2], result.outcomes[16], result.outcomes[17]];
    assert.equal(small.ok, true, JSON.stringify(small));
    assert.equal(two.ok, true, JSON.stringify(two));
    assert.deepEqual(small.buffers, [[1000, patternSum(1000, 1)]]);
    assert.deepEqual(two.buffers, [
      [3000, patternSum(3000, 1)],
      [5, patternSum(5, 2)]
    ]);
    // the 20 MiB answer grew the scratch buffer; the later, smaller answers reuse it
    assert.deepEqual([...(big.backings ?? []), ...(small.backings ?? []), ...(two.backings ?? [])], [0, 0, 0, 0]);
  });

  it('times out on a handler that never settles, and later calls still work', () => {
    const outcome = result.outcomes[3];
    assert.equal(outcome.ok, false);
    assert.equal(outcome.errorName, 'CallTimeout');
    assert.match(outcome.errorMessage ?? '', /100 ms/);
  });

  it('drops a late answer instead of delivering it to the next call', () => {
    assert.equal(result.outcomes[4].errorName, 'CallTimeout');
    const next = result.outcomes[5];
    assert.equal(next.ok, true);
    assert.equal(next.envelope?.value, 'after 500');
    assert.equal(next.envelope.id, 6);
  });

  it('answers a throwing handler with its error', () => {
    const error = result.outcomes[6].envelope?.error as Record<string, unknown>;
    assert.equal(result.outcomes[6].envelope?.kind, 'litebridge.error');
    assert.equal(error.type, 'RangeError');
    assert.equal(error.message, 'handler failed');
    assert.match(error.stack as string, /handler failed/);
    assert.equal(error.code, undefined);
  });

  it('answers an unknown handler with unknown_method naming it', () => {
    const error = result.outcomes[7].envelope?.error as Record<string, unknown>;
    assert.equal(error.code, 'unknown_method');
    assert.match(error.message as string, /nope/);
  });

  it('serves a page -> Python call made while the kernel is blocked, on the blocked stack (re-entry)', () => {
    assert.equal(result.outcomes[8].envelope?.value, 'served:anything');
    const log = result.log;
    assert.ok(log.indexOf('served anything') < log.indexOf('answered reenter'), log.join(', '));
  });

  it('serves the callback of a handler that returns at once before the blocked call returns', () => {
    assert.equal(result.outcomes[12].envelope?.value, 'clicked once');
    const log = result.log;
    assert.equal(log.indexOf('served clicked'), log.indexOf('answered clickLike') - 1, log.join(', '));
  });

  it('lets a callback served during a sync call make a sync call of its own', () => {
    assert.equal(result.outcomes[13].ok, true, JSON.stringify(result.outcomes[13]));
    assert.deepEqual(result.outcomes[13].envelope?.value, ['inner']);
  });

  it('carries a callback larger than the SAB (several CALLBACK chunks) intact', () => {
    assert.deepEqual(result.outcomes[14].envelope?.value, [[9 * MiB, 7 * 9 * MiB]]);
  });

  it('leaves the SAB ready for the next call', () => {
    assert.deepEqual(result.outcomes[15].envelope?.value, ['after']);
  });

  it('serves register over the SAB, then the registered handler', () => {
    assert.deepEqual(result.outcomes[9].envelope?.value, ['twice']);
    assert.equal(result.outcomes[10].envelope?.value, 42);
  });

  it('answers 1000 sequential calls, each with its own id', () => {
    assert.equal(result.outcomes[11].goodRepeats, 1000);
    assert.equal(seenByHandlers.length, 1000);
  });
});
