/**
 * The shared protocol vectors (`tests/protocol/vectors.json`) from the JavaScript side.
 *
 * `tests/unit/test_protocol_vectors.py` runs the same file from the Python side, so the two
 * mirrors of `docs/protocol.md` cannot drift apart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { decodeValue, encodeValue } from '../src/codec';
import { BridgeError, errorFromWire } from '../src/errors';
import { FrameWriter } from '../src/frame';
import {
  ErrorCode,
  FORBIDDEN_SEGMENTS,
  INTERRUPT_KIND,
  Kind,
  MAX_PAYLOAD_BYTES,
  PROTOCOL_VERSION,
  STREAM_CHUNK_BYTES,
  STREAM_KEY,
  STREAM_WINDOW_CHUNKS,
  StreamKind
} from '../src/protocol';
import { checkMethodName } from '../src/registry';
import { StreamTable } from '../src/streams';

interface Case {
  name: string;
  [key: string]: unknown;
}

interface Vectors {
  protocol_version: number;
  kinds: string[];
  interrupt_kind: string;
  codes: string[];
  forbidden_segments: string[];
  max_payload_bytes: number;
  encode: (Case & { value: unknown; wire: unknown; buffers: string[] })[];
  refuse: (Case & { value: unknown; js_path: string; message?: string })[];
  decode_errors: (Case & { wire: unknown; buffers: string[] })[];
  names: (Case & { outcome: string })[];
  errors: (Case & { wire: unknown; js: string; code: string | null })[];
  frames: (Case & { json: string; buffers: string[]; hex: string })[];
  stream_kinds: string[];
  stream_key: string;
  stream_chunk_bytes: number;
  stream_window_chunks: number;
  streams: (Case & { value: unknown; wire: unknown; buffers: string[] })[];
  references: (Case & { wire: unknown; buffers: string[]; decoded: unknown; plain?: boolean })[];
}

/** From build/test/ to the repository's tests/protocol/vectors.json. */
const VECTORS = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'tests', 'protocol', 'vectors.json'), 'utf8')) as Vectors;

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');

/** Turn a tagged vector value into the JavaScript value it stands for. */
function native(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(native);
  }
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length === 1 && keys[0] === '@bytes') {
      return fromHex(object['@bytes'] as string);
    }
    if (keys.length === 1 && keys[0] === '@float') {
      return { nan: NaN, inf: Infinity, '-inf': -Infinity }[object['@float'] as string];
    }
    return Object.fromEntries(keys.map((key) => [key, native(object[key])]));
  }
  return value;
}

describe('protocol vectors', () => {
  it('constants match', () => {
    assert.equal(PROTOCOL_VERSION, VECTORS.protocol_version);
    assert.deepEqual(Object.values(Kind), VECTORS.kinds);
    assert.equal(INTERRUPT_KIND, VECTORS.interrupt_kind);
    assert.deepEqual(Object.values(ErrorCode), VECTORS.codes);
    assert.deepEqual([...FORBIDDEN_SEGMENTS], VECTORS.forbidden_segments);
    assert.equal(MAX_PAYLOAD_BYTES, VECTORS.max_payload_bytes);
  });

  for (const vector of VECTORS.encode) {
    it(`encodes: ${vector.name}`, () => {
      const encoded = encodeValue(native(vector.value), 'args');
      assert.deepEqual(JSON.parse(JSON.stringify(encoded.tree)), vector.wire);
      assert.deepEqual(encoded.buffers.map(toHex), vector.buffers);
    });
    it(`decodes: ${vector.name}`, () => {
      assert.deepEqual(decodeValue(vector.wire, vector.buffers.map(fromHex)), native(vector.value));
    });
  }

  for (const vector of VECTORS.refuse) {
    it(`refuses: ${vector.name}`, () => {
      assert.throws(
        () => encodeValue(native(vector.value), 'args'),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.includes('cannot send') &&
          error.message.includes(`at ${vector.js_path}`) &&
          error.message.includes(vector.message ?? '')
      );
    });
  }

  for (const vector of VECTORS.decode_errors) {
    it(`refuses to decode: ${vector.name}`, () => {
      assert.throws(() => decodeValue(vector.wire, vector.buffers.map(fromHex)), RangeError);
    });
  }

  for (const vector of VECTORS.names) {
    it(`name ${JSON.stringify(vector.name)}: ${vector.outcome}`, () => {
      if (vector.outcome === 'ok') {
        checkMethodName(vector.name);
        return;
      }
      assert.throws(
        () => {
          checkMethodName(vector.name);
        },
        (error: unknown) => error instanceof BridgeError && error.code === vector.outcome
      );
    });
  }

  for (const vector of VECTORS.errors) {
    it(`error: ${vector.name}`, () => {
      const error = errorFromWire(vector.wire);
      assert.equal(error.constructor.name, vector.js);
      assert.equal(error instanceof BridgeError ? error.code : null, vector.code);
    });
  }

  for (const vector of VECTORS.references) {
    it(`reference: ${vector.name}`, () => {
      const buffers = vector.buffers.map(fromHex);
      const record = (key: string, value: unknown): unknown => ({ '@ref': [key, value] });
      assert.deepEqual(decodeValue(vector.wire, buffers, undefined, record), native(vector.decoded));
      if (vector.plain === true) {
        assert.deepEqual(decodeValue(vector.wire, buffers), native(vector.decoded));
      } else {
        assert.throws(() => decodeValue(vector.wire, buffers), /reference is not accepted here/);
      }
    });
  }

  for (const vector of VECTORS.frames) {
    it(`frame: ${vector.name}`, () => {
      const writer = new FrameWriter(vector.json, vector.buffers.map(fromHex));
      const out = new Uint8Array(writer.totalBytes);
      writer.writeChunk(out);
      assert.ok(writer.done);
      assert.equal(toHex(out), vector.hex);
    });
  }

  it('stream constants match', () => {
    assert.deepEqual(Object.values(StreamKind), VECTORS.stream_kinds);
    assert.equal(STREAM_KEY, VECTORS.stream_key);
    assert.equal(STREAM_CHUNK_BYTES, VECTORS.stream_chunk_bytes);
    assert.equal(STREAM_WINDOW_CHUNKS, VECTORS.stream_window_chunks);
  });

  /** Like {@link native}, with each `{"@stream": n}` replaced by `make(n)`. */
  const withStreams = (value: unknown, make: (n: number) => unknown): unknown => {
    if (Array.isArray(value)) {
      return value.map((item) => withStreams(item, make));
    }
    if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object);
      if (keys.length === 1 && keys[0] === '@stream') {
        return make(object['@stream'] as number);
      }
      if (keys.length === 1 && keys[0] === '@bytes') {
        return fromHex(object['@bytes'] as string);
      }
      return Object.fromEntries(keys.map((key) => [key, withStreams(object[key], make)]));
    }
    return value;
  };

  for (const vector of VECTORS.streams) {
    it(`streams: ${vector.name}`, () => {
      const table = new StreamTable(() => undefined);
      const encoded = table.exporting(1, () => encodeValue(withStreams(vector.value, () => new ReadableStream()), 'args', table));
      assert.deepEqual(JSON.parse(JSON.stringify(encoded.value.tree)), vector.wire);
      assert.deepEqual(encoded.value.buffers.map(toHex), vector.buffers);
      const received = table.collectImports(() => decodeValue(vector.wire, vector.buffers.map(fromHex), table));
      // streams are compared by their order of arrival: the ids the table received, in order
      let seen = 0;
      const expected = withStreams(vector.value, () => ({ stream: ++seen }));
      let index = 0;
      const shape = (value: unknown): unknown => {
        if (value instanceof ReadableStream) {
          return { stream: ++index };
        }
        if (value instanceof Uint8Array) {
          return value;
        }
        if (Array.isArray(value)) {
          return value.map(shape);
        }
        if (value !== null && typeof value === 'object') {
          return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shape(item)]));
        }
        return value;
      };
      assert.deepEqual(shape(received.value), expected);
      assert.deepEqual(received.streams, collectIds(vector.value));
    });
  }
});

/** The `@stream` ids of a tagged vector value, depth-first. */
function collectIds(value: unknown): number[] {
  if (Array.isArray(value)) {
    return value.flatMap(collectIds);
  }
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (Object.keys(object).length === 1 && '@stream' in object) {
      return [object['@stream'] as number];
    }
    return Object.values(object).flatMap(collectIds);
  }
  return [];
}
