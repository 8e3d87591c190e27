import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';

import { KernelBridge, isHello } from '../src/bridge';
import { isChannelFrame } from '../src/protocol';
import { asKernelWorker } from './fixtures/helper';
import { HandlerRegistry } from '../src/registry';
import type { InterruptOutcome, InterruptStep } from './fixtures/interruptWorker';

/**
 * A keyboard interrupt ends a `call_sync` blocked on the page (protocol section 10): the real
 * helper bundle in a worker thread blocked in Atomics.wait, a real KernelBridge on this thread,
 * SIGINT written into the interrupt buffer by a page handler, as the Stop button would.
 */
describe('interrupting a synchronous call', () => {
  const handlers = new HandlerRegistry();
  const bridge = new KernelBridge('kernel-interrupt', handlers, '0.1.0');
  const interrupt = new Int32Array(new SharedArrayBuffer(4));
  const sigint = (delayMs: number): void => {
    setTimeout(() => {
      Atomics.store(interrupt, 0, 2); // no notify: the helper must look by itself
    }, delayMs);
  };
  let outcomes: InterruptOutcome[];
  let worker: Worker;

  before(async () => {
    handlers.register({
      never: () => {
        sigint(150);
        return new Promise(() => undefined);
      },
      echo: (value: unknown) => value,
      later: (ms: number) => {
        sigint(50);
        return new Promise((resolve) => setTimeout(() => { resolve(`after ${ms}`); }, ms));
      }
    });
    worker = new Worker(join(__dirname, 'fixtures', 'interruptWorker.js'));
    const done = new Promise<InterruptOutcome[]>((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (isChannelFrame(message)) {
          return; // a frame: the bridge's own listener takes it
        }
        if (isHello(message)) {
          bridge.attach(message, asKernelWorker(worker));
        } else {
          resolve((message as { outcomes: InterruptOutcome[] }).outcomes);
        }
      });
      worker.on('error', reject);
    });
    const steps: InterruptStep[] = [
      { method: 'never', args: [], timeoutMs: 5000 },
      { method: 'echo', args: ['after the interrupt'], timeoutMs: 5000 },
      { method: 'later', args: [400], timeoutMs: 5000, ignoreSigint: true },
      { method: 'echo', args: ['last'], timeoutMs: 5000 }
    ];
    worker.postMessage({ buffer: interrupt, steps });
    outcomes = await done;
  });

  after(async () => {
    bridge.close();
    await worker.terminate();
  });

  it('a call on a handler that never answers ends with the KeyboardInterrupt', () => {
    const [blocked] = outcomes;
    assert.equal(blocked.ok, false, JSON.stringify(blocked));
    assert.equal(blocked.errorName, 'KeyboardInterrupt');
    assert.equal(blocked.bufferAfter, 0, 'the pending SIGINT was consumed');
  });

  it('leaves the SAB idle: the next calls are answered, each with its own value', () => {
    assert.deepEqual([outcomes[1].ok, outcomes[1].value], [true, 'after the interrupt']);
    assert.deepEqual([outcomes[3].ok, outcomes[3].value], [true, 'last']);
  });

  it('keeps waiting when SIGINT is ignored (the check returns)', () => {
    assert.deepEqual([outcomes[2].ok, outcomes[2].value], [true, 'after 400']);
  });
});
