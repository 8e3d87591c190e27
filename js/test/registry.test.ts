import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BridgeError } from '../src/errors';
import { checkMethodName, evaluateSource, HandlerRegistry, resolveHandler } from '../src/registry';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BridgeError, `expected a BridgeError, got ${String(error)}`);
    return error.code;
  }
  assert.fail('did not throw');
}

describe('method names', () => {
  for (const name of ['_private', 'a._b', 'constructor', '__proto__', 'prototype', 'ex.constructor', 'x.prototype.y', '__init__']) {
    it(`refuses ${name} with forbidden_name`, () => {
      assert.equal(codeOf(() => { checkMethodName(name); }), 'forbidden_name');
    });
  }
  for (const name of ['', 7, null]) {
    it(`refuses ${JSON.stringify(name)} with bad_request`, () => {
      assert.equal(codeOf(() => { checkMethodName(name); }), 'bad_request');
    });
  }
  it('accepts ordinary and dotted names', () => {
    checkMethodName('indentLeft');
    checkMethodName('ex.multiply');
    checkMethodName('a_b.c_');
  });
});

describe('HandlerRegistry', () => {
  it('registers own enumerable functions only, skipping uncallable names', () => {
    class Base {
      inherited(): number {
        return 1;
      }
    }
    const obj = Object.assign(new Base(), {
      f() {
        return 1;
      },
      value: 3,
      _hidden() {
        return 2;
      },
      constructor: () => 0
    });
    Object.defineProperty(obj, 'notEnumerable', { value: () => 1, enumerable: false });
    const registry = new HandlerRegistry();
    assert.deepEqual(registry.register(obj), ['f']);
    assert.deepEqual(registry.names(), ['f']);
  });

  it('calls handlers with this = their object', () => {
    const registry = new HandlerRegistry();
    registry.register({
      factor: 3,
      times(this: { factor: number }, x: number) {
        return x * this.factor;
      }
    });
    const handler = resolveHandler('times', [registry]);
    assert.equal(handler.fn.apply(handler.self, [5]), 15);
  });

  it('looks in each registry in turn; later registrations replace earlier ones', () => {
    const kernel = new HandlerRegistry();
    const global = new HandlerRegistry();
    global.register({ f: () => 'global', g: () => 'global' });
    kernel.register({ f: () => 'first' });
    kernel.register({ f: () => 'kernel' });
    assert.equal(resolveHandler('f', [kernel, global]).fn(), 'kernel');
    assert.equal(resolveHandler('g', [kernel, global]).fn(), 'global');
  });

  it('answers an unknown name with unknown_method naming it', () => {
    assert.throws(() => resolveHandler('nope.here', [new HandlerRegistry()]), (error: unknown) => {
      assert.ok(error instanceof BridgeError);
      assert.equal(error.code, 'unknown_method');
      assert.match(error.message, /nope\.here/);
      return true;
    });
  });

  it('never resolves forbidden names, even if present', () => {
    const registry = new HandlerRegistry();
    registry.register({ ok: () => 1 });
    assert.equal(codeOf(() => resolveHandler('constructor', [registry])), 'forbidden_name');
    assert.equal(codeOf(() => resolveHandler('_x', [registry])), 'forbidden_name');
  });

  it('refuses a non-object', () => {
    assert.throws(() => new HandlerRegistry().register(3), TypeError);
  });
});

describe('evaluateSource', () => {
  it('evaluates an object expression with methods', () => {
    const obj = evaluateSource(`{
      indentLeft(line, count) { return line.padStart(line.length + count); },
    }`) as { indentLeft: (l: string, c: number) => string };
    assert.equal(obj.indentLeft('hello', 4), '    hello');
  });
  it('tolerates a trailing line comment', () => {
    assert.deepEqual(Object.keys(evaluateSource('{ f() { return 1 } } // handlers')), ['f']);
  });
  for (const source of ['{ f( }', '42', 'null', '(() => { throw new Error("x") })()']) {
    it(`answers ${source} with bad_request`, () => {
      assert.equal(codeOf(() => evaluateSource(source)), 'bad_request');
    });
  }
});
