import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeValue, DecodeError, encodeValue, formatPath, needsDecoding } from '../src/codec';

/** Encode, go through JSON text like the wire does, decode. */
function roundTrip(value: unknown): unknown {
  const { tree, buffers } = encodeValue(value, 'args');
  const copies = buffers.map((b) => b.slice().buffer);
  return decodeValue(JSON.parse(JSON.stringify(tree)), copies);
}

describe('encodeValue / decodeValue', () => {
  it('round-trips JSON values unchanged', () => {
    const value = { a: [1, 2.5, -3, 'x', true, false, null], b: { c: { d: [] } }, e: '', 'f g': {} };
    assert.deepEqual(roundTrip(value), value);
  });

  it('sends undefined as null, also inside arrays, objects and holes', () => {
    // eslint-disable-next-line no-sparse-arrays
    assert.deepEqual(roundTrip([undefined, { k: undefined }, , 1]), [null, { k: null }, null, 1]);
    assert.equal(roundTrip(undefined), null);
  });

  it('carries bytes as buffers, not in the JSON, depth-first left to right', () => {
    const a = new Uint8Array([1, 2, 3]);
    const b = new Uint16Array([0x0102, 0x0304]);
    const { tree, buffers } = encodeValue({ x: [a, { y: b.buffer }], z: new DataView(new ArrayBuffer(2)) }, 'args');
    assert.deepEqual(tree, { x: [{ $bytes: 0 }, { y: { $bytes: 1 } }], z: { $bytes: 2 } });
    assert.deepEqual(buffers.map((v) => [...v]), [[1, 2, 3], [...new Uint8Array(b.buffer)], [0, 0]]);
  });

  it('sends the bytes of a view, not its whole buffer', () => {
    const whole = new Uint8Array([9, 8, 7, 6, 5]);
    const out = roundTrip([whole.subarray(1, 3)]) as Uint8Array[];
    assert.ok(out[0] instanceof Uint8Array);
    assert.deepEqual([...out[0]], [8, 7]);
  });

  it('round-trips empty and large binary values as Uint8Array', () => {
    const big = new Uint8Array(1 << 20).map((_, i) => i * 7);
    const out = roundTrip({ empty: new Uint8Array(0), big }) as { empty: Uint8Array; big: Uint8Array };
    assert.equal(out.empty.byteLength, 0);
    assert.deepEqual(out.big, big);
  });

  it('escapes application objects that look like placeholders', () => {
    const value = { $bytes: 0 };
    const { tree, buffers } = encodeValue(value, 'args');
    assert.deepEqual(tree, { $escape: { $bytes: 0 } });
    assert.equal(buffers.length, 0);
    assert.deepEqual(roundTrip(value), value);
    assert.deepEqual(roundTrip({ $escape: { $bytes: 1 } }), { $escape: { $bytes: 1 } });
    assert.deepEqual(roundTrip({ $escape: 'x' }), { $escape: 'x' });
    // Objects with more keys than the placeholder key are not escaped.
    assert.deepEqual(encodeValue({ $bytes: 1, other: 2 }, 'args').tree, { $bytes: 1, other: 2 });
  });

  it('still decodes values inside an escaped object', () => {
    const bytes = new Uint8Array([4, 2]);
    const out = roundTrip({ $bytes: bytes }) as { $bytes: Uint8Array };
    assert.deepEqual([...out.$bytes], [4, 2]);
  });

  it('keeps a __proto__ key as an own property, never as the prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}}') as object;
    const out = roundTrip(value) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { k: 1 };
    assert.deepEqual(roundTrip([shared, shared]), [{ k: 1 }, { k: 1 }]);
  });

  it('accepts objects with a null prototype', () => {
    const value = Object.create(null) as Record<string, unknown>;
    value.a = 1;
    assert.deepEqual(roundTrip(value), { a: 1 });
  });
});

describe('the plain-JSON fast paths', () => {
  it('encodes a plain JSON value as itself: no copy of the tree', () => {
    const value = [{ op: 'echo', n: 42, x: 1.5, s: 'héllo', ok: true, none: null, list: [1, [2, { a: -0 }]] }];
    const encoded = encodeValue(value, 'args');
    assert.equal(encoded.tree, value);
    assert.deepEqual(encoded.buffers, []);
  });

  it('falls back to the full walk for anything that needs converting or refusing', () => {
    // each of these goes through the walk: converted, escaped or refused with its path
    assert.deepEqual(encodeValue([1, undefined], 'args').tree, [1, null]);
    assert.deepEqual(encodeValue([, 1], 'args').tree, [null, 1]); // eslint-disable-line no-sparse-arrays
    assert.deepEqual(encodeValue({ k: undefined }, 'args').tree, { k: null });
    assert.deepEqual(encodeValue({ $bytes: 1 }, 'args').tree, { $escape: { $bytes: 1 } });
    assert.deepEqual(encodeValue([new Uint8Array([1])], 'args').tree, [{ $bytes: 0 }]);
    assert.throws(() => encodeValue({ a: [Number.NaN] }, 'args'), /cannot send NaN at args\.a\[0\]/);
    assert.throws(() => encodeValue({ toJSON: () => 1 }, 'result'), /cannot send function at result\.toJSON/);
    assert.throws(() => encodeValue(['\ud800'], 'args'), /lone surrogate at args\[0\]/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    assert.throws(() => encodeValue(cyclic, 'args'), /cannot send cyclic structure at args\[0\]/);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) {
      deep = [deep];
    }
    assert.equal(JSON.stringify(encodeValue(deep, 'args').tree), JSON.stringify(deep)); // deep but fine
  });

  it('decodes only frames that can hold a placeholder or an escape', () => {
    assert.equal(needsDecoding('{"args":[{"n":1,"s":"x"}]}', 0), false);
    assert.equal(needsDecoding('{"args":[{"$bytes":0}]}', 1), true);
    assert.equal(needsDecoding('{"args":[{"$escape":{"a":1}}]}', 0), true);
    assert.equal(needsDecoding('{"args":["price: 5$"]}', 0), true); // a false alarm is only slower
    assert.equal(needsDecoding('{"args":[{"\\u0024bytes":0}]}', 0), true);
    assert.equal(needsDecoding('{"args":[]}', 2), true);
  });
});

describe('encodeValue refuses what cannot be sent, naming type and path', () => {
  class Point {
    x = 1;
  }
  const cyclic: Record<string, unknown> = { a: { b: [] as unknown[] } };
  ((cyclic.a as Record<string, unknown>).b as unknown[]).push(cyclic);
  const cases: [string, unknown, string][] = [
    ['function', { k: [() => 1] }, 'cannot send function at result.k[0]'],
    ['symbol', [Symbol('s')], 'cannot send symbol at result[0]'],
    ['bigint', { n: 10n }, 'cannot send bigint at result.n'],
    ['NaN', [1, NaN], 'cannot send NaN at result[1]'],
    ['Infinity', { 'a b': Infinity }, 'cannot send Infinity at result["a b"]'],
    ['-Infinity', -Infinity, 'cannot send -Infinity at result'],
    ['Map', { m: new Map() }, 'cannot send Map at result.m'],
    ['Set', [[new Set()]], 'cannot send Set at result[0][0]'],
    ['Date', { d: new Date(0) }, 'cannot send Date at result.d'],
    ['class instance', { p: new Point() }, 'cannot send Point at result.p'],
    ['cycle', cyclic, 'cannot send cyclic structure at result.a.b[0]'],
    ['escaped function', { $bytes: () => 1 }, 'cannot send function at result.$bytes']
  ];
  for (const [name, value, message] of cases) {
    it(name, () => {
      assert.throws(() => encodeValue(value, 'result'), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.equal(error.message, message);
        return true;
      });
    });
  }

  it('uses the root it is given', () => {
    assert.throws(() => encodeValue([1, { k: new Set() }], 'args'), { message: 'cannot send Set at args[1].k' });
  });
});

describe('decodeValue rejects malformed placeholders', () => {
  it('a placeholder index past the buffers', () => {
    assert.throws(() => decodeValue({ $bytes: 1 }, [new ArrayBuffer(1)]), DecodeError);
  });
  it('a placeholder index that is not an integer', () => {
    assert.throws(() => decodeValue([{ $bytes: 'x' }], []), DecodeError);
  });
  it('an escape of a non-object', () => {
    assert.throws(() => decodeValue({ $escape: [1] }, []), DecodeError);
  });
});

describe('formatPath', () => {
  it('uses dots for identifiers and brackets otherwise', () => {
    assert.equal(formatPath('args', [1, 'k', 0, 'a-b', '$x']), 'args[1].k[0]["a-b"].$x');
  });
});
