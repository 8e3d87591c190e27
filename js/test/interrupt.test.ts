import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { INTERRUPT_KIND, KernelInterrupts, SIGINT, isInterruptMessage } from '../src/interrupt';
import type { KernelLike, SentMessageLike } from '../src/interrupt';

type Listener = (event: MessageEvent<unknown>) => void;

class FakeWorker {
  readonly listeners = new Set<Listener>();
  addEventListener(_type: 'message', listener: Listener): void {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'message', listener: Listener): void {
    this.listeners.delete(listener);
  }
  emit(data: unknown): void {
    for (const listener of this.listeners) {
      listener(new MessageEvent('message', { data }));
    }
  }
}

/** A kernel whose execute_request runs until `finish()` is called. */
function fakeKernel(id: string): KernelLike & { finish(): void; handled: string[] } {
  let finish = (): void => undefined;
  const handled: string[] = [];
  return {
    id,
    handled,
    finish: () => {
      finish();
    },
    handleMessage(msg) {
      handled.push(msg.header.msg_type);
      if (msg.header.msg_type !== 'execute_request') {
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    }
  };
}

const execute = { header: { msg_type: 'execute_request' } };
const interruptMessage = (buffer: Int32Array) => ({ v: 1, id: 0, kind: INTERRUPT_KIND, buffer });

describe('KernelInterrupts', () => {
  it('writes SIGINT only while a cell runs, and clears a late one when the cell ends', async () => {
    const warnings: string[] = [];
    const interrupts = new KernelInterrupts((m) => warnings.push(m));
    const worker = new FakeWorker();
    const kernel = fakeKernel('k1');
    interrupts.attach(kernel, worker);
    const buffer = new Int32Array(new SharedArrayBuffer(4));
    worker.emit(interruptMessage(buffer));

    assert.equal(interrupts.interrupt('k1'), 'idle');
    assert.equal(buffer[0], 0, 'Stop while idle must not hit the next cell');

    await kernel.handleMessage({ header: { msg_type: 'kernel_info_request' } });
    const running = kernel.handleMessage(execute);
    assert.equal(interrupts.interrupt('k1'), 'signalled');
    assert.equal(buffer[0], SIGINT);
    kernel.finish();
    await running;
    assert.equal(buffer[0], 0, 'an unconsumed SIGINT is cleared when the cell ends');
    assert.equal(interrupts.interrupt('k1'), 'idle');
    assert.deepEqual(kernel.handled, ['kernel_info_request', 'execute_request']);
    assert.deepEqual(warnings, []);
  });

  it('says so once when a running kernel has no buffer (no isolation, or litebridge not loaded)', async () => {
    const warnings: string[] = [];
    const interrupts = new KernelInterrupts((m) => warnings.push(m));
    const kernel = fakeKernel('k2');
    interrupts.attach(kernel, new FakeWorker());
    const running = kernel.handleMessage(execute);
    assert.equal(interrupts.interrupt('k2'), 'no-buffer');
    assert.equal(interrupts.interrupt('k2'), 'no-buffer');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /k2 has no interrupt buffer/);
    kernel.finish();
    await running;
    assert.equal(interrupts.interrupt('unknown'), 'unknown-kernel');
  });

  it('ignores messages that are not a well-formed interrupt message, and forgets detached kernels', () => {
    const interrupts = new KernelInterrupts(() => undefined);
    const worker = new FakeWorker();
    const kernel = fakeKernel('k3');
    interrupts.attach(kernel, worker);
    worker.emit(interruptMessage(new Int32Array(1))); // not shared
    worker.emit({ kind: 'litebridge.hello', buffer: new Int32Array(new SharedArrayBuffer(4)) });
    void kernel.handleMessage(execute);
    assert.equal(interrupts.interrupt('k3'), 'no-buffer');
    interrupts.detach('k3');
    assert.equal(worker.listeners.size, 0);
    assert.equal(interrupts.interrupt('k3'), 'unknown-kernel');
    assert.equal(isInterruptMessage(null), false);
    assert.equal(isInterruptMessage(interruptMessage(new Int32Array(new SharedArrayBuffer(4)))), true);
  });

  it('wraps the kernel client: signals first, then does what interrupt() did; once only', async () => {
    const interrupts = new KernelInterrupts(() => undefined);
    const worker = new FakeWorker();
    const kernel = fakeKernel('k4');
    interrupts.attach(kernel, worker);
    const buffer = new Int32Array(new SharedArrayBuffer(4));
    worker.emit(interruptMessage(buffer));
    const calls: string[] = [];
    const client = {
      interrupt(id: string): Promise<void> {
        calls.push(`${id}:${buffer[0]}`);
        return Promise.resolve();
      }
    };
    assert.equal(interrupts.wrapClient(client), true);
    assert.equal(interrupts.wrapClient(client), true);
    const running = kernel.handleMessage(execute);
    await client.interrupt('k4');
    assert.deepEqual(calls, ['k4:2'], 'the original ran once, after SIGINT was written');
    kernel.finish();
    await running;
  });

  it("marks the KeyboardInterrupt reply of a signalled cell cause: 'interrupt', and nothing else", async () => {
    const interrupts = new KernelInterrupts(() => undefined);
    const worker = new FakeWorker();
    const kernel = fakeKernel('k5');
    const sent: SentMessageLike[] = [];
    const send = interrupts.wrapSend('k5', (msg: SentMessageLike) => sent.push(msg));
    interrupts.attach(kernel, worker);
    worker.emit(interruptMessage(new Int32Array(new SharedArrayBuffer(4))));
    const reply = (ename: string, status = 'error'): SentMessageLike => ({
      header: { msg_type: 'execute_reply' },
      content: { status, ename, evalue: '', traceback: [] },
      metadata: { keep: 1 }
    });
    const causes = (): unknown[] => sent.map((m) => m.metadata.cause ?? null);

    // not signalled: an error reply goes as it is (the client cancels the queue, as before)
    let running = kernel.handleMessage(execute);
    send(reply("<class 'KeyboardInterrupt'>"));
    kernel.finish();
    await running;
    assert.deepEqual(causes(), [null]);

    running = kernel.handleMessage(execute);
    assert.equal(interrupts.interrupt('k5'), 'signalled');
    send({ header: { msg_type: 'stream' }, content: { name: 'stdout', text: 'x' }, metadata: {} });
    send(reply("<class 'KeyboardInterrupt'>"));
    kernel.finish();
    await running;
    assert.deepEqual(causes(), [null, null, 'interrupt']);
    assert.equal(sent[2].metadata.keep, 1, 'the rest of the metadata stays');

    // signalled, but the cell ended with another error (it caught the interrupt): as it is
    running = kernel.handleMessage(execute);
    interrupts.interrupt('k5');
    send(reply('ZeroDivisionError'));
    kernel.finish();
    await running;
    // the flag ends with the cell: the next cell's KeyboardInterrupt (raised by itself) is its own
    running = kernel.handleMessage(execute);
    send(reply('KeyboardInterrupt'));
    kernel.finish();
    await running;
    assert.deepEqual(causes(), [null, null, 'interrupt', null, null]);
  });

  it('warns when the kernel client has no interrupt()', () => {
    const warnings: string[] = [];
    const interrupts = new KernelInterrupts((m) => warnings.push(m));
    assert.equal(interrupts.wrapClient(null), false);
    assert.equal(interrupts.wrapClient({} as never), false);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /no interrupt\(\)/);
  });
});
