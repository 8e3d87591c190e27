/**
 * The page side of `window` (protocol section 13) without a browser: the reference tables and
 * the ops, served over node's own objects (EventTarget, Event, Map).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Frame } from '../src/frame';
import { PageHandles, PythonRefs } from '../src/handles';
import { WindowOps, itemsOf, propertyNames, sizeOf } from '../src/windowOps';

type Answer = { kind: string; value?: unknown; error?: { code?: string; message: string; type: string } };

function parse(frame: Frame): Answer {
  return JSON.parse(frame.json) as Answer;
}

async function serve(ops: WindowOps, message: Record<string, unknown>): Promise<Answer> {
  return parse(await ops.serve(1, { args: [], ...message }, []));
}

function setup(): { handles: PageHandles; python: PythonRefs; ops: WindowOps; applied: [number, unknown[]][] } {
  const applied: [number, unknown[]][] = [];
  const handles = new PageHandles();
  const python = new PythonRefs(
    (id, args) => {
      applied.push([id, args]);
      return Promise.resolve(`py${id}`);
    },
    () => undefined
  );
  return { handles, python, ops: new WindowOps(handles, python), applied };
}

describe('window ops', () => {
  it('reads values as values and objects as handles, one id per object', async () => {
    const { handles, ops } = setup();
    const holder = { lbTestValue: { a: [1, 'x'] }, lbTestMap: new Map(), lbTestNamespace: JSON };
    Object.assign(globalThis, { lbHolder: holder });
    try {
      const target = handles.export(holder);
      const id = (target.$handle as [number, string])[0];
      assert.deepEqual((await serve(ops, { op: 'get', target: id, name: 'lbTestValue' })).value, { a: [1, 'x'] });
      const map = await serve(ops, { op: 'get', target: id, name: 'lbTestMap' });
      const again = await serve(ops, { op: 'get', target: id, name: 'lbTestMap' });
      assert.deepEqual(map.value, again.value);
      assert.equal((map.value as { $handle: [number, string] }).$handle[1], 'Map');
      const namespace = await serve(ops, { op: 'get', target: id, name: 'lbTestNamespace' });
      assert.equal((namespace.value as { $handle: [number, string] }).$handle[1], 'JSON', 'a namespace is not copied as {}');
      const viaPath = await serve(ops, { op: 'get', target: 0, path: ['lbHolder', 'lbTestValue'], name: 'a' });
      assert.deepEqual(viaPath.value, [1, 'x']);
      assert.equal(handles.size, 3);
      handles.release([[id, 1], [(map.value as { $handle: [number, string] }).$handle[0], 2]]);
      assert.equal(handles.size, 1);
    } finally {
      delete (globalThis as Record<string, unknown>).lbHolder;
    }
  });

  it('answers a missing property with unknown_property naming it, and a released handle with closed', async () => {
    const { handles, ops } = setup();
    const id = (handles.export(new Map()).$handle as [number, string])[0];
    const missing = await serve(ops, { op: 'get', target: id, name: 'colour' });
    assert.equal(missing.error?.code, 'unknown_property');
    assert.equal((missing.error as { message: string }).message, 'Map has no property "colour"');
    handles.release([[id, 1]]);
    assert.equal((await serve(ops, { op: 'get', target: id, name: 'size' })).error?.code, 'closed');
    assert.equal((await serve(ops, { op: 'nope', target: 0 })).error?.code, 'bad_request');
  });

  it('len and items: length or size; Array.from of iterables and array-likes, items as values or handles', async () => {
    assert.equal(sizeOf([1, 2, 3]), 3);
    assert.equal(sizeOf(new Map([[1, 2]])), 1);
    assert.equal(sizeOf({ length: 2 }), 2);
    assert.equal(sizeOf('abc'), 3);
    for (const unsized of [{}, { length: -1 }, { length: 1.5 }, { size: '2' }, null, undefined, 7, (a: number) => a]) {
      assert.equal(sizeOf(unsized), null, JSON.stringify(unsized));
    }
    assert.deepEqual(itemsOf(new Set(['a', 'b'])), ['a', 'b']);
    assert.deepEqual(itemsOf(new Map([['k', 1]])), [['k', 1]]);
    assert.deepEqual(itemsOf({ length: 2, 0: 'x', 1: 'y' }), ['x', 'y']);
    for (const plain of [{}, { length: 'two' }, null, undefined, 7, (a: number) => a]) {
      assert.equal(itemsOf(plain), null, JSON.stringify(plain));
    }
    const { handles, ops } = setup();
    const target = new EventTarget();
    const holder = { list: [1, target, 'z'], set: new Set([4]), plain: { a: 1 } };
    const id = (handles.export(holder).$handle as [number, string])[0];
    assert.equal((await serve(ops, { op: 'len', target: id, name: 'list' })).value, 3);
    assert.equal((await serve(ops, { op: 'len', target: id, name: 'set' })).value, 1);
    assert.equal((await serve(ops, { op: 'len', target: id, name: 'plain' })).value, null);
    const items = (await serve(ops, { op: 'items', target: id, name: 'list' })).value as unknown[];
    assert.equal(items[0], 1);
    assert.equal((items[1] as { $handle: [number, string] }).$handle[1], 'EventTarget');
    assert.equal(items[2], 'z');
    const setId = ((await serve(ops, { op: 'get', target: id, name: 'set' })).value as { $handle: [number, string] }).$handle[0];
    assert.deepEqual((await serve(ops, { op: 'items', target: setId })).value, [4]);
    assert.equal((await serve(ops, { op: 'items', target: id, name: 'plain' })).value, null);
    assert.equal((await serve(ops, { op: 'items', target: id, name: 'missing' })).error?.code, 'unknown_property');
  });

  it('calls methods with their object as this, and bound method handles keep it', async () => {
    const { ops } = setup();
    const counter = { n: 1, add(k: number) { this.n += k; return this.n; } };
    Object.assign(globalThis, { lbCounter: counter });
    try {
      assert.equal((await serve(ops, { op: 'call', target: 0, path: ['lbCounter'], name: 'add', args: [2] })).value, 3);
      const bound = (await serve(ops, { op: 'get', target: 0, path: ['lbCounter'], name: 'add' })).value as { $handle: [number, string] };
      assert.equal(bound.$handle[1], 'Function');
      assert.equal((await serve(ops, { op: 'call', target: bound.$handle[0], args: [4] })).value, 7);
      assert.equal((await serve(ops, { op: 'new', target: 0, name: 'Date', args: [0] })).value !== undefined, true);
      const failed = await serve(ops, { op: 'call', target: 0, path: ['lbCounter'], name: 'n' });
      assert.match(failed.error?.message ?? '', /Object\.n is not a function/);
    } finally {
      delete (globalThis as Record<string, unknown>).lbCounter;
    }
  });

  it('awaits a promise an op returns', async () => {
    const { ops } = setup();
    Object.assign(globalThis, { lbLater: () => Promise.resolve({ ok: true }) });
    try {
      assert.deepEqual((await serve(ops, { op: 'call', target: 0, name: 'lbLater' })).value, { ok: true });
    } finally {
      delete (globalThis as Record<string, unknown>).lbLater;
    }
  });

  it('listen: preventDefault is applied while the event is dispatched, the listener gets a handle', async () => {
    const { handles, ops, applied } = setup();
    const target = new EventTarget();
    const id = (handles.export(target).$handle as [number, string])[0];
    const listen = await serve(ops, {
      op: 'listen',
      target: id,
      args: ['submit', { $py: [7, 'function'] }, { preventDefault: true }]
    });
    assert.equal(listen.kind, 'litebridge.result');
    const event = new Event('submit', { cancelable: true });
    assert.equal(target.dispatchEvent(event), false, 'default prevented synchronously');
    assert.equal(applied.length, 1);
    assert.equal(applied[0][0], 7);
    assert.equal(applied[0][1][0], event);
    // the same Python id is the same function: removeEventListener finds it
    const wrapper = (listen.value as { $handle: [number, string] }).$handle[0];
    await serve(ops, { op: 'call', target: id, name: 'removeEventListener', args: ['submit', { $handle: [wrapper, ''] }] });
    assert.equal(target.dispatchEvent(new Event('submit', { cancelable: true })), true);
  });

  it('one function per Python id, and Python functions go back as $py', () => {
    const { python, ops } = setup();
    const first = python.import([3, 'function']);
    assert.equal(python.import([3, 'function']), first);
    assert.deepEqual(ops.exporter(first), { $py: [3, 'Function'] });
    assert.equal(python.size, 1);
    python.clear();
    assert.equal(python.size, 0);
  });

  it('a Python object that is not callable: its properties call its methods by name', async () => {
    const calls: [number, unknown[], string | undefined][] = [];
    const python = new PythonRefs(
      (id, args, name) => {
        calls.push([id, args, name]);
        return Promise.resolve(`${name ?? 'call'}:${JSON.stringify(args)}`);
      },
      () => undefined
    );
    const ops = new WindowOps(new PageHandles(), python);
    const counter = python.import([4, 'Counter', 'object']) as Record<string, (...args: unknown[]) => Promise<unknown>>;
    assert.equal(python.import([4, 'Counter', 'object']), counter, 'one object per Python id');
    assert.equal(typeof counter, 'object');
    assert.equal(await counter.add(2), 'add:[2]');
    assert.deepEqual(calls, [[4, [2], 'add']]);
    assert.equal(counter.add, counter.add, 'the same name is the same function');
    // what JavaScript reads on any object is not sent to Python
    assert.equal((counter as { then?: unknown }).then, undefined);
    assert.equal(await Promise.resolve(counter), counter, 'not a thenable');
    assert.equal(Object.prototype.toString.call(counter), '[object PythonObject Counter]');
    assert.equal((counter as Record<string, unknown>)._private, undefined);
    assert.equal('add' in counter, true);
    assert.throws(() => {
      (counter as Record<string, unknown>).add = 1;
    }, TypeError);
    assert.equal(calls.length, 1);
    // it goes back to Python as itself
    assert.deepEqual(ops.exporter(counter), { $py: [4, 'PythonObject'] });
    const fn = python.import([5, 'function']);
    assert.equal(typeof fn, 'function');
  });

  it('lists property names, own and inherited', () => {
    const names = propertyNames(new Map());
    assert.ok(names.includes('get') && names.includes('size'));
    assert.ok(!names.includes('constructor'));
  });
});
