import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { KernelBridge, isHello } from '../src/bridge';
import { BridgeError, PythonError } from '../src/errors';
import { HandlerRegistry } from '../src/registry';
import { readFileSync } from 'node:fs';

import type { WorkerHelperApi } from './fixtures/helper';
import { HELPER_PATH, loadHelper } from './fixtures/helper';

type Envelope = Record<string, unknown>;

/**
 * A stand-in for the kernel's Python over the real worker helper bundle (async transport,
 * no SAB): it records every frame the page sends and answers calls with `answer`.
 */
class FakePython {
  /** Every instance not yet closed: closed after each test. */
  static readonly open = new Set<FakePython>();
  readonly helper: WorkerHelperApi = loadHelper();
  readonly frames: { envelope: Envelope; buffers: Uint8Array[] | null }[] = [];
  /** How Python answers a page -> Python call; return null to stay silent. */
  answer: (call: Envelope, buffers: Uint8Array[] | null) => { json: Envelope; buffers?: Uint8Array[] } | null = () => null;
  /** How each frame entered Python: `plain` (a call of onFrame) or `promising` (JSPI). */
  readonly entries: { id: unknown; how: 'plain' | 'promising' }[] = [];
  private readonly waiters = new Map<number, (frame: { envelope: Envelope; buffers: Uint8Array[] | null }) => void>();
  private nextId = 1;
  /** Stands in for the kernel's Worker: port1 is the worker's `self`, port2 the page's `Worker`. */
  private readonly channel = new MessageChannel();

  constructor() {
    FakePython.open.add(this);
  }

  /**
   * Connect the helper to `bridge`.
   *
   * @param jspi - Pretend the runtime has JSPI: `WebAssembly.Suspending` exists while the helper
   *   connects, and onFrame has `callPromising`, as a Pyodide PyProxy has.
   */
  connect(bridge: KernelBridge, transport?: string, jspi = false): void {
    const scope = globalThis as unknown as Record<string, unknown>;
    const wasm = WebAssembly as unknown as Record<string, unknown>;
    scope.crossOriginIsolated = false;
    const { port1: self, port2: worker } = this.channel;
    self.start();
    worker.start();
    scope.postMessage = (message: unknown, transfer: Transferable[]) => {
      if (isHello(message)) {
        bridge.attach(message, worker);
        return;
      }
      self.postMessage(message, transfer);
    };
    scope.addEventListener = (type: 'message', listener: (event: MessageEvent<unknown>) => void) => {
      self.addEventListener(type, listener);
    };
    const deliver = (how: 'plain' | 'promising', json: string, buffers: Uint8Array[] | null): void => {
      const envelope = JSON.parse(json) as Envelope;
      this.entries.push({ id: envelope.id, how });
      this.onFrame(envelope, buffers);
    };
    const onFrame = Object.assign((json: string, buffers: Uint8Array[] | null) => {
      deliver('plain', json, buffers);
    }, jspi ? {
      callPromising: (json: string, buffers: Uint8Array[] | null): Promise<void> => {
        deliver('promising', json, buffers);
        return Promise.resolve();
      }
    } : {});
    const hadSuspending = 'Suspending' in wasm;
    if (jspi && !hadSuspending) {
      wasm.Suspending = function Suspending(): void {};
    }
    try {
      const created = this.helper.connect(onFrame, '314.0.6', '3.14.0', transport);
      assert.equal(created, false);
    } finally {
      delete scope.postMessage;
      delete scope.addEventListener;
      delete scope.crossOriginIsolated;
      if (jspi && !hadSuspending) {
        delete wasm.Suspending;
      }
    }
  }

  /** Send a Python -> page request and wait for its answer. */
  request(fields: Envelope, buffers: Uint8Array[] | null = null): Promise<{ envelope: Envelope; buffers: Uint8Array[] | null }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      this.helper.post(JSON.stringify({ v: 2, id, ...fields }), buffers);
    });
  }

  /** Close the stand-in Worker's channel (a started port keeps node's event loop alive). */
  close(): void {
    FakePython.open.delete(this);
    this.channel.port1.close();
  }

  /** Wait until Python has received `count` frames. */
  async received(count: number): Promise<void> {
    while (this.frames.length < count) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  private onFrame(envelope: Envelope, buffers: Uint8Array[] | null): void {
    this.frames.push({ envelope, buffers });
    const waiter = this.waiters.get(envelope.id as number);
    if ((envelope.kind === 'litebridge.result' || envelope.kind === 'litebridge.error') && waiter !== undefined) {
      this.waiters.delete(envelope.id as number);
      waiter({ envelope, buffers });
      return;
    }
    if (envelope.kind === 'litebridge.call') {
      const reply = this.answer(envelope, buffers);
      if (reply !== null) {
        this.helper.post(JSON.stringify({ v: 2, id: envelope.id, ...reply.json }), reply.buffers ?? null);
      }
    }
  }
}

afterEach(() => {
  for (const python of [...FakePython.open]) {
    python.close();
  }
});

/** A bridge to a FakePython over the real worker helper, fresh for each test. */
function connected(): { globals: HandlerRegistry; bridge: KernelBridge; python: FakePython } {
  const globals = new HandlerRegistry();
  const bridge = new KernelBridge('kernel-1', globals, '0.1.0');
  const python = new FakePython();
  python.connect(bridge);
  return { globals, bridge, python };
}

describe('KernelBridge over the kernel Worker (async transport)', () => {
  let globals: HandlerRegistry;
  let bridge: KernelBridge;
  let python: FakePython;

  beforeEach(() => {
    ({ globals, bridge, python } = connected());
  });

  afterEach(() => {
    bridge.close();
  });

  it('connects on the hello and answers it with ready', async () => {
    assert.equal(bridge.connected, true);
    assert.equal(bridge.pyodideVersion, '314.0.6');
    await python.received(1);
    assert.deepEqual(python.frames[0].envelope, { v: 2, id: 0, kind: 'litebridge.ready', page: '0.1.0' });
  });

  it('reports the transport the worker names, else derives it', () => {
    assert.equal(bridge.transport, typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function' ? 'jspi' : 'async');
    const other = new KernelBridge('kernel-2', globals, '0.1.0');
    new FakePython().connect(other, 'jspi');
    assert.equal(other.transport, 'jspi');
    other.close();
  });

  it('calls Python and decodes the result, bytes included', async () => {
    python.answer = (call, buffers) => {
      const args = call.args as [number, number, { $bytes: number }];
      const data = buffers?.[args[2].$bytes] ?? new Uint8Array(0);
      return { json: { kind: 'litebridge.result', value: { product: args[0] * args[1], back: { $bytes: 0 } } }, buffers: [data.map((b) => b + 1)] };
    };
    const result = (await bridge.call('multiply', 6, 7, new Uint8Array([1, 2, 3]))) as { product: number; back: Uint8Array };
    assert.equal(result.product, 42);
    assert.ok(result.back instanceof Uint8Array);
    assert.deepEqual([...result.back], [2, 3, 4]);
    const call = python.frames.find((f) => f.envelope.kind === 'litebridge.call');
    assert.deepEqual(call?.envelope, { v: 2, id: 1, kind: 'litebridge.call', method: 'multiply', args: [6, 7, { $bytes: 0 }] });
  });

  it('does not detach the caller\'s buffers', async () => {
    python.answer = () => ({ json: { kind: 'litebridge.result', value: null } });
    const mine = new Uint8Array([5, 6]);
    await bridge.call('f', mine);
    assert.deepEqual([...mine], [5, 6]);
  });

  it('rejects with PythonError for a Python exception', async () => {
    python.answer = () => ({
      json: { kind: 'litebridge.error', error: { type: 'ZeroDivisionError', message: 'division by zero', stack: 'Traceback...' } }
    });
    await assert.rejects(bridge.call('divide', 1, 0), (error: unknown) => {
      assert.ok(error instanceof PythonError);
      assert.equal(error.type, 'ZeroDivisionError');
      assert.equal(error.message, 'division by zero');
      assert.equal(error.traceback, 'Traceback...');
      return true;
    });
  });

  it('rejects with BridgeError when Python answers with a code', async () => {
    python.answer = () => ({
      json: { kind: 'litebridge.error', error: { type: 'LookupError', message: 'no exposed method "nope"', stack: '', code: 'unknown_method' } }
    });
    await assert.rejects(bridge.call('nope'), (error: unknown) => error instanceof BridgeError && error.code === 'unknown_method');
  });

  it('refuses an argument that cannot be sent, before sending anything', async () => {
    await assert.rejects(bridge.call('f', 1, { k: new Set() }), { name: 'TypeError', message: 'cannot send Set at args[1].k' });
    await python.received(1);
    assert.equal(python.frames.filter((f) => f.envelope.kind === 'litebridge.call').length, 0);
  });

  it('times out, and drops the late answer', async () => {
    const calls: Envelope[] = [];
    python.answer = (call) => {
      calls.push(call);
      return null;
    };
    await assert.rejects(bridge.invoke('slow', [], { timeoutMs: 30 }), (error: unknown) => error instanceof BridgeError && error.code === 'timeout' && /slow/.test(error.message));
    python.answer = (call) => ({ json: { kind: 'litebridge.result', value: `answer to ${String(call.id)}` } });
    // The late answer to the first call arrives before the second call's answer.
    python.helper.post(JSON.stringify({ v: 2, id: calls[0].id, kind: 'litebridge.result', value: 'late' }), null);
    assert.equal(await bridge.call('next'), 'answer to 2');
  });

  it('shares one deadline timer among its calls, and times each out at its own deadline', async () => {
    python.answer = () => ({ json: { kind: 'litebridge.result', value: 1 } });
    const realSetTimeout = globalThis.setTimeout;
    let armed = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      armed += 1;
      return realSetTimeout(...args);
    }) as typeof setTimeout;
    try {
      for (let i = 0; i < 50; i++) {
        assert.equal(await bridge.call('echo'), 1);
      }
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    assert.equal(armed, 1, 'one timer for 50 calls answered in time (it stays armed for the first deadline)');
    python.answer = () => null;
    const started = performance.now();
    const late = bridge.invoke('late', [], { timeoutMs: 300 });
    const early = bridge.invoke('early', [], { timeoutMs: 20 }); // earlier than the armed deadline
    await assert.rejects(early, (error: unknown) => error instanceof BridgeError && error.code === 'timeout' && /"early" within 20 ms/.test(error.message));
    assert.ok(performance.now() - started < 250, 'the earlier deadline re-armed the timer');
    assert.equal(bridge.counts().calls, 1);
    await assert.rejects(late, (error: unknown) => error instanceof BridgeError && error.code === 'timeout' && /"late" within 300 ms/.test(error.message));
    assert.ok(performance.now() - started >= 299);
    assert.equal(bridge.counts().calls, 0);
  });

  it('rejects with the signal\'s reason when aborted', async () => {
    const controller = new AbortController();
    const pending = bridge.invoke('slow', [], { signal: controller.signal });
    controller.abort(new Error('stop'));
    await assert.rejects(pending, { message: 'stop' });
  });

  it('rejects pending calls with closed when the kernel is disposed', async () => {
    const pending = bridge.call('slow');
    await python.received(2);
    bridge.close();
    await assert.rejects(pending, (error: unknown) => error instanceof BridgeError && error.code === 'closed');
    await assert.rejects(bridge.call('after'), (error: unknown) => error instanceof BridgeError && error.code === 'closed');
  });

  it('serves Python -> page calls from global handlers, awaiting promises', async () => {
    globals.register({
      async indentLeft(line: string, count: number) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return line.padStart(line.length + count);
      }
    });
    const answer = await python.request({ kind: 'litebridge.call', method: 'indentLeft', args: ['hello', 4], sync: false });
    assert.deepEqual(answer.envelope, { v: 2, id: 1, kind: 'litebridge.result', value: '    hello' });
  });

  it('keeps the worker awake from a post until the page\'s answer arrives', async () => {
    let release: () => void = () => undefined;
    globals.register({
      slowEcho(x: number) {
        return new Promise((resolve) => { release = () => { resolve(x); }; });
      }
    });
    assert.equal(python.helper.awake(), false, 'not before any post');
    const answer = python.request({ kind: 'litebridge.call', method: 'slowEcho', args: [7], sync: false });
    assert.equal(python.helper.awake(), true, 'awake once Python posted');
    await new Promise((resolve) => setTimeout(resolve, 30)); // longer than KEEP_AWAKE_MS
    assert.equal(python.helper.awake(), false, 'stops by itself while the page takes long');
    python.helper.post(JSON.stringify({ v: 2, id: 0, kind: 'litebridge.release', ids: [] }), null);
    assert.equal(python.helper.awake(), true, 'awake again after the next post');
    release();
    const back = await answer; // resumed right after the answer's onmessage, well within KEEP_AWAKE_MS
    assert.equal(python.helper.awake(), false, 'the answer ended it before its deadline');
    assert.deepEqual(back.envelope, { v: 2, id: 1, kind: 'litebridge.result', value: 7 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(python.helper.awake(), false, 'the answer ended it');
  });

  it('awaits a handler result that is a thenable but not a Promise', async () => {
    globals.register({
      later: () => ({
        then(resolve: (value: unknown) => void) {
          setTimeout(resolve, 1, 'settled');
        }
      })
    });
    const answer = await python.request({ kind: 'litebridge.call', method: 'later', args: [], sync: false });
    assert.deepEqual(answer.envelope, { v: 2, id: 1, kind: 'litebridge.result', value: 'settled' });
  });

  it('answers with an error when reading the result\'s then throws', async () => {
    globals.register({
      trap: () =>
        Object.defineProperty({}, 'then', {
          get() {
            throw new RangeError('no then for you');
          }
        })
    });
    const answer = await python.request({ kind: 'litebridge.call', method: 'trap', args: [], sync: false });
    const error = answer.envelope.error as Envelope;
    assert.equal(answer.envelope.kind, 'litebridge.error');
    assert.equal(error.type, 'RangeError');
    assert.equal(error.message, 'no then for you');
  });

  it('registers per-kernel handlers from source, which win over global ones', async () => {
    globals.register({ who: () => 'global' });
    const registered = await python.request({ kind: 'litebridge.register', source: '{ who() { return "kernel" }, _hidden() {} }' });
    assert.deepEqual(registered.envelope.value, ['who']);
    const answer = await python.request({ kind: 'litebridge.call', method: 'who', args: [] });
    assert.equal(answer.envelope.value, 'kernel');
    const other = new KernelBridge('kernel-2', globals, '0.1.0');
    assert.equal(other.handlers.get('who'), undefined);
  });

  it('answers a bad register source with bad_request', async () => {
    const answer = await python.request({ kind: 'litebridge.register', source: '{ oops(' });
    assert.equal((answer.envelope.error as Envelope).code, 'bad_request');
  });

  it('passes bytes to handlers and returns bytes as buffers', async () => {
    globals.register({ reverse: (data: Uint8Array) => data.slice().reverse() });
    const answer = await python.request({ kind: 'litebridge.call', method: 'reverse', args: [{ $bytes: 0 }] }, [new Uint8Array([1, 2, 3])]);
    assert.deepEqual(answer.envelope.value, { $bytes: 0 });
    assert.deepEqual([...(answer.buffers?.[0] ?? [])], [3, 2, 1]);
  });

  it('answers a throwing handler with its name, message and stack', async () => {
    globals.register({
      broken() {
        throw new TypeError('bad input');
      }
    });
    const answer = await python.request({ kind: 'litebridge.call', method: 'broken', args: [] });
    const error = answer.envelope.error as Envelope;
    assert.equal(error.type, 'TypeError');
    assert.equal(error.message, 'bad input');
    assert.match(error.stack as string, /bad input/);
    assert.equal(error.code, undefined);
  });

  it('answers an unencodable result with unserializable, naming the path', async () => {
    globals.register({ gives: () => ({ k: [() => 1] }) });
    const answer = await python.request({ kind: 'litebridge.call', method: 'gives', args: [] });
    const error = answer.envelope.error as Envelope;
    assert.equal(error.code, 'unserializable');
    assert.equal(error.message, 'cannot send function at result.k[0]');
  });

  it('answers unknown and forbidden names with their codes', async () => {
    const unknown = await python.request({ kind: 'litebridge.call', method: 'missing', args: [] });
    assert.equal((unknown.envelope.error as Envelope).code, 'unknown_method');
    assert.match((unknown.envelope.error as Envelope).message as string, /missing/);
    const forbidden = await python.request({ kind: 'litebridge.call', method: 'constructor', args: [] });
    assert.equal((forbidden.envelope.error as Envelope).code, 'forbidden_name');
  });

  it('answers another protocol version with bad_request', async () => {
    const answer = await python.request({ v: 3, kind: 'litebridge.call', method: 'x', args: [] });
    assert.equal((answer.envelope.error as Envelope).code, 'bad_request');
  });

  it('sends page -> Python calls on the Worker while a sync (jspi) call is served: not refused', async () => {
    globals.register({
      async reenter() {
        return bridge.call('multiply', 1, 2);
      }
    });
    python.answer = () => ({ json: { kind: 'litebridge.result', value: 2 } });
    const answer = await python.request({ kind: 'litebridge.call', method: 'reenter', args: [], sync: true });
    assert.equal(answer.envelope.value, 2);
  });
});

describe('the answer to a sync (jspi) call wakes the worker helper in JavaScript (protocol section 3)', () => {
  let globals: HandlerRegistry;
  let bridge: KernelBridge;
  let python: FakePython;

  beforeEach(async () => {
    ({ globals, bridge, python } = connected());
    await python.received(1); // the ready
    python.frames.length = 0;
    globals.register({
      echo: (...args: unknown[]) => args,
      bytes: () => new Uint8Array([1, 2, 3]),
      fail: () => {
        throw new TypeError('no');
      }
    });
  });

  afterEach(() => {
    bridge.close();
  });

  const sync = (id: number, method: string): string =>
    JSON.stringify({ v: 2, id, kind: 'litebridge.call', method, args: ['a', 1], sync: true });

  it('resolves awaitAnswer with the answer frame and does not pass it to onFrame', { timeout: 5000 }, async () => {
    const answer = python.helper.awaitAnswer(41);
    python.helper.post(sync(41, 'echo'), null);
    const frame = await answer;
    assert.equal(typeof frame, 'string');
    const envelope = JSON.parse(frame as string) as Envelope;
    assert.deepEqual([envelope.id, envelope.kind, envelope.value], [41, 'litebridge.result', ['a', 1]]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(python.frames, []);
  });

  it('resolves with [json, ...buffers] for an answer with buffers, and for an error answer', { timeout: 5000 }, async () => {
    const withBytes = python.helper.awaitAnswer(42);
    python.helper.post(sync(42, 'bytes'), null);
    const parts = (await withBytes) as unknown[];
    assert.ok(Array.isArray(parts));
    assert.deepEqual(JSON.parse(parts[0] as string), { v: 2, id: 42, kind: 'litebridge.result', value: { $bytes: 0 } });
    assert.deepEqual([...(parts[1] as Uint8Array)], [1, 2, 3]);
    const failed = python.helper.awaitAnswer(43);
    python.helper.post(sync(43, 'fail'), null);
    const error = JSON.parse((await failed) as string) as Envelope;
    assert.equal(error.kind, 'litebridge.error');
    assert.equal((error.error as Envelope).message, 'no');
  });

  it('passes an async call\'s answer to onFrame while another id is awaited', { timeout: 5000 }, async () => {
    const pending = python.helper.awaitAnswer(99);
    const answer = await python.request({ kind: 'litebridge.call', method: 'echo', args: ['b'] });
    assert.deepEqual(answer.envelope.value, ['b']);
    python.helper.wake(99);
    assert.equal(await pending, undefined);
  });

  it('passes the answer to onFrame when nothing awaits it (the sync call ended first)', { timeout: 5000 }, async () => {
    python.helper.wake(44); // nothing waits: no effect
    python.helper.post(sync(44, 'echo'), null);
    await python.received(1);
    assert.deepEqual([python.frames[0].envelope.id, python.frames[0].envelope.value], [44, ['a', 1]]);
  });

  it('wake gives the wait up with undefined; a later answer goes to onFrame', { timeout: 5000 }, async () => {
    const answer = python.helper.awaitAnswer(45);
    python.helper.wake(45);
    assert.equal(await answer, undefined);
    python.helper.post(sync(45, 'echo'), null);
    await python.received(1);
    assert.equal(python.frames[0].envelope.id, 45);
  });
});

describe('an answer to an async call enters Python through JSPI where the runtime has it (protocol section 10)', () => {
  let globals: HandlerRegistry;
  let bridge: KernelBridge;
  let python: FakePython;

  beforeEach(async () => {
    globals = new HandlerRegistry();
    bridge = new KernelBridge('kernel-1', globals, '0.1.0');
    python = new FakePython();
    python.connect(bridge, undefined, true);
    await python.received(1); // the ready
    globals.register({ echo: (...args: unknown[]) => args, fail: () => { throw new TypeError('no'); } });
  });

  afterEach(() => {
    bridge.close();
  });

  it('delivers results and errors of calls with callPromising, and other frames plainly', { timeout: 5000 }, async () => {
    const result = await python.request({ kind: 'litebridge.call', method: 'echo', args: ['b'] });
    const error = await python.request({ kind: 'litebridge.call', method: 'fail', args: [] });
    assert.deepEqual([result.envelope.kind, error.envelope.kind], ['litebridge.result', 'litebridge.error']);
    python.answer = () => ({ json: { kind: 'litebridge.result', value: 3 } });
    assert.equal(await bridge.call('add', 1, 2), 3); // a page -> Python call: not an answer
    assert.deepEqual(python.entries, [
      { id: 0, how: 'plain' }, // the ready
      { id: result.envelope.id, how: 'promising' },
      { id: error.envelope.id, how: 'promising' },
      { id: python.entries[3].id, how: 'plain' }
    ]);
    assert.equal(python.frames[3].envelope.kind, 'litebridge.call');
  });

  it('still resolves awaitAnswer for an answer to a sync call, without entering Python', { timeout: 5000 }, async () => {
    const answer = python.helper.awaitAnswer(7);
    python.helper.post(JSON.stringify({ v: 2, id: 7, kind: 'litebridge.call', method: 'echo', args: [1], sync: true }), null);
    assert.equal((JSON.parse((await answer) as string) as Envelope).id, 7);
    assert.deepEqual(python.entries.map((entry) => entry.id), [0]);
  });
});

describe('KernelBridge: cancellation, handler context, refusals', () => {
  let globals: HandlerRegistry;
  let bridge: KernelBridge;
  let python: FakePython;

  beforeEach(() => {
    ({ globals, bridge, python } = connected());
  });

  afterEach(() => {
    bridge.close();
  });

  const settle = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it('a cancel from Python aborts the handler\'s signal and drops its answer', async () => {
    const seen: { aborted?: boolean; reason?: string } = {};
    globals.register({
      hang(this: { signal: AbortSignal }) {
        return new Promise((resolve) => {
          this.signal.addEventListener('abort', () => {
            seen.aborted = true;
            seen.reason = (this.signal.reason as Error).message;
            resolve('too late');
          });
        });
      }
    });
    python.answer = () => ({ json: { kind: 'litebridge.result', value: 'served' } });
    // a sync call (jspi) whose handler never answers: the kernel is blocked on it
    python.helper.post(JSON.stringify({ v: 2, id: 7, kind: 'litebridge.call', method: 'hang', args: [], sync: true }), null);
    await settle();
    assert.deepEqual(bridge.counts(), { calls: 0, serving: 1 });
    // Python's call_sync timed out: it cancels the call
    python.helper.post(JSON.stringify({ v: 2, id: 7, kind: 'litebridge.cancel', reason: 'call_sync timed out in Python' }), null);
    await settle();
    assert.equal(seen.aborted, true);
    assert.match(seen.reason ?? '', /cancelled: call_sync timed out in Python/);
    assert.deepEqual(bridge.counts(), { calls: 0, serving: 0 });
    assert.equal(python.frames.filter((f) => f.envelope.id === 7).length, 0, 'no answer to a cancelled call');
    assert.equal(await bridge.call('x'), 'served');
  });

  it('aborting or timing out a page -> Python call sends a cancel for it', async () => {
    const controller = new AbortController();
    const aborted = bridge.invoke('slow', [], { signal: controller.signal });
    await settle();
    controller.abort(new Error('user gave up'));
    await assert.rejects(aborted, { message: 'user gave up' });
    await assert.rejects(bridge.invoke('slower', [], { timeoutMs: 10 }), (error: unknown) => error instanceof BridgeError && error.code === 'timeout');
    await settle();
    const calls = python.frames.filter((f) => f.envelope.kind === 'litebridge.call').map((f) => f.envelope.id);
    const cancels = python.frames.filter((f) => f.envelope.kind === 'litebridge.cancel').map((f) => f.envelope.id);
    assert.deepEqual(cancels, calls);
    assert.deepEqual(bridge.counts(), { calls: 0, serving: 0 });
  });

  it('handlers get the calling kernel as this.kernel and keep their state in this', async () => {
    const counter = {
      count: 0,
      bump(this: { count: number; kernel: KernelBridge }) {
        this.count += 1;
        return [this.count, this.kernel.id];
      }
    };
    globals.register(counter);
    const first = await python.request({ kind: 'litebridge.call', method: 'bump', args: [] });
    const second = await python.request({ kind: 'litebridge.call', method: 'bump', args: [] });
    assert.deepEqual(first.envelope.value, [1, 'kernel-1']);
    assert.deepEqual(second.envelope.value, [2, 'kernel-1']);
    assert.equal(counter.count, 2);
    const other = new KernelBridge('kernel-2', globals, '0.1.0');
    const otherPython = new FakePython();
    otherPython.connect(other);
    const third = await otherPython.request({ kind: 'litebridge.call', method: 'bump', args: [] });
    assert.deepEqual(third.envelope.value, [3, 'kernel-2']);
    other.close();
  });

  it('refuses a hello of another protocol version on its refusal port, naming both versions', async () => {
    const other = new KernelBridge('kernel-3', globals, '0.1.0');
    const channel = new MessageChannel();
    const refusal = new Promise<Envelope>((resolve) => {
      channel.port1.onmessage = (event: MessageEvent<{ json: string }>) => {
        resolve(JSON.parse(event.data.json) as Envelope);
      };
    });
    other.attach({ v: 99, id: 0, kind: 'litebridge.hello', port: channel.port2, sab: null, pyodide: 'x', python: 'y' } as never, new MessageChannel().port2);
    const message = await refusal;
    channel.port1.close();
    assert.equal(message.kind, 'litebridge.error');
    assert.equal(message.id, 0);
    const error = message.error as Envelope;
    assert.equal(error.code, 'bad_request');
    assert.match(error.message as string, /version 99.*version 2/);
    assert.equal(other.connected, false);
    other.close();
  });

  it('hears a refusal on the hello\'s port, as a page of either protocol version sends it', { timeout: 5000 }, async () => {
    const helper = loadHelper(); // a fresh worker helper, as in another kernel's worker
    const scope = globalThis as unknown as Record<string, unknown>;
    const seen: { port: MessagePort | null } = { port: null };
    scope.postMessage = (message: unknown) => {
      if (isHello(message)) {
        seen.port = message.port;
      }
    };
    scope.addEventListener = () => undefined; // nothing arrives on this worker's own channel
    const frames: string[] = [];
    try {
      helper.connect((json) => {
        frames.push(json);
      }, '314.0.6', '3.14.0');
    } finally {
      delete scope.postMessage;
      delete scope.addEventListener;
    }
    const port = seen.port;
    assert.ok(port !== null, 'the hello carries the refusal port');
    const refusal = { v: 1, id: 0, kind: 'litebridge.error', error: { type: 'BridgeError', message: 'version 2 is not 1', code: 'bad_request' } };
    // a version 1 page posts {json, buffers} with no frame mark
    port.postMessage({ json: JSON.stringify(refusal), buffers: [] });
    while (frames.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    port.close();
    assert.deepEqual(JSON.parse(frames[0]), refusal);
  });

  it('refuses a second connection from the same worker (one connection per kernel)', () => {
    // beforeEach connected one helper in this "worker" (the test process's global)
    const second = (0, eval)(readFileSync(HELPER_PATH, 'utf8')) as WorkerHelperApi;
    assert.throws(
      () => second.connect(() => undefined, '314.0.6', '3.14.0'),
      (error: unknown) => error instanceof Error && error.name === 'BridgeError' && /already connected/.test(error.message)
    );
  });

  it('refuses a call over the 256 MiB frame limit before sending it', async () => {
    const half = new Uint8Array(129 * 1024 * 1024);
    await assert.rejects(bridge.call('big', half, half), (error: unknown) => error instanceof RangeError && /over the limit of 268435456 bytes/.test(error.message));
    await settle();
    assert.equal(python.frames.filter((f) => f.envelope.kind === 'litebridge.call').length, 0);
  });
});

