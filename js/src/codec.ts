/**
 * Value encoding of protocol section 4: JSON plus binary buffers.
 *
 * @packageDocumentation
 */
import { BYTES_KEY, ESCAPE_KEY, HANDLE_KEY, MARKER_KEYS, MAX_PAYLOAD_BYTES, PY_KEY, STREAM_KEY } from './protocol';
import type { StreamExporter, StreamImporter } from './streams';

/**
 * Sends what is not a value by reference (protocol section 13): returns the tag object
 * (`{"$handle": [id, type]}` or `{"$py": [id, type]}`) for a function or a non-plain object.
 */
export type Exporter = (value: object) => Record<string, unknown>;

/**
 * Turns a received reference tag back into an object: `key` is `$handle` or `$py`, `value`
 * what the tag holds (unchecked).
 */
export type Importer = (key: string, value: unknown) => unknown;

/** The root a path starts from in error messages: `args` of a call or `result` of an answer. */
export type Root = 'args' | 'result' | 'value';

/** An encoded value: a JSON-ready tree with `$bytes` placeholders, and the buffers. */
export interface Encoded {
  /** A tree of plain data that `JSON.stringify` turns into the wire JSON. */
  tree: unknown;
  /** The binary values, in placeholder order (depth-first, left to right). */
  buffers: Uint8Array[];
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Render a path in JavaScript syntax, e.g. `result.k[0]` or `args[1]["a b"]`.
 *
 * @param root - The root name.
 * @param keys - Property names and array indices from the root.
 * @returns The path text.
 */
export function formatPath(root: string, keys: readonly (string | number)[]): string {
  let out = root;
  for (const key of keys) {
    if (typeof key === 'number') {
      out += `[${key}]`;
    } else if (IDENTIFIER.test(key)) {
      out += `.${key}`;
    } else {
      out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

function tagOf(value: object): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

/** The bytes of an `ArrayBuffer`, `SharedArrayBuffer` or any `ArrayBufferView`, or null. */
function bytesOf(value: object): Uint8Array | null {
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  const tag = tagOf(value);
  if (tag === 'ArrayBuffer' || tag === 'SharedArrayBuffer') {
    return new Uint8Array(value as ArrayBuffer);
  }
  return null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` has no lone surrogate, i.e. has a UTF-8 form (`String.prototype.isWellFormed`). */
function isWellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return typeof native === 'function' ? native.call(text) : !LONE_SURROGATE.test(text);
}

/** Bytes of the UTF-8 form of a well-formed string. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 1; // a pair: 2 units, 4 bytes
      i++;
    } else if (unit >= 0x800) {
      bytes += 2;
    } else if (unit >= 0x80) {
      bytes += 1;
    }
  }
  return bytes;
}

/**
 * Refuse a frame over the protocol's size limit (section 4): JSON (as UTF-8) plus buffers.
 *
 * @param json - The envelope's JSON text.
 * @param buffers - The frame's buffers.
 * @param root - What is being sent, for the message (`args`, `result`).
 * @throws RangeError naming the size and the limit (256 MiB) when the frame is larger.
 */
export function checkPayloadSize(json: string, buffers: readonly { byteLength: number }[], root: string): void {
  let size = 0;
  for (const buffer of buffers) {
    size += buffer.byteLength;
  }
  if (size + json.length * 3 <= MAX_PAYLOAD_BYTES) {
    return; // cannot be over: the common case costs no UTF-8 count
  }
  size += utf8Length(json);
  if (size > MAX_PAYLOAD_BYTES) {
    throw new RangeError(
      `cannot send ${root}: the frame would be ${size} bytes, over the limit of ${MAX_PAYLOAD_BYTES} bytes (256 MiB) per call; send large data in several calls`
    );
  }
}

/** A name for the type of a value that cannot be sent. */
function typeName(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== null && typeof proto === 'object' && 'constructor' in proto) {
    const ctor: unknown = proto.constructor;
    if (typeof ctor === 'function' && ctor.name !== '') {
      return ctor.name;
    }
  }
  return tagOf(value);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Set `out[key] = value` even when `key` is `__proto__`. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

/**
 * Encode a value for the wire.
 *
 * `undefined` becomes `null`; `ArrayBuffer`, `SharedArrayBuffer` and every `ArrayBufferView`
 * become `{"$bytes": n}` with their bytes (referenced, not copied) in `buffers[n]`; an object
 * whose only key is `$bytes` or `$escape` is wrapped in `{"$escape": ...}`.
 *
 * @param value - The value to encode.
 * @param root - The root of paths in error messages.
 * @param streams - Sends `ReadableStream`s and async iterables as `{"$stream": id}`; without
 *   it they are refused like other class instances.
 * @param exporter - Optional: sends functions and non-plain objects by reference instead of
 *   refusing them (window operations only; plain calls stay values-only).
 * @returns The JSON-ready tree and the buffers.
 * @throws TypeError naming the type and the path of the first value that cannot be sent:
 *   functions, symbols, bigints, NaN and infinities, Map, Set, Date and other class
 *   instances, strings (or keys) with a lone surrogate (no UTF-8 form), and cyclic
 *   structures (the path where the cycle closes), e.g. `cannot send function at result.k[0]`.
 */
export function encodeValue(value: unknown, root: Root, streams?: StreamExporter, exporter?: Exporter): Encoded {
  // nothing to convert (no stream, handle or binary): no copy of the tree. Not with an exporter:
  // there a namespace object such as JSON (plain prototype, no enumerable keys) is a handle.
  if (exporter === undefined && isPlainJson(value, 0)) {
    return { tree: value, buffers: [] };
  }
  const buffers: Uint8Array[] = [];
  const keys: (string | number)[] = [];
  const ancestors = new Set<object>();

  const refuse = (what: string): never => {
    throw new TypeError(`cannot send ${what} at ${formatPath(root, keys)}`);
  };

  const walk = (item: unknown): unknown => {
    switch (typeof item) {
      case 'undefined':
        return null;
      case 'boolean':
        return item;
      case 'string':
        if (!isWellFormed(item)) {
          refuse('string with a lone surrogate');
        }
        return item;
      case 'number':
        if (!Number.isFinite(item)) {
          refuse(String(item));
        }
        return item;
      case 'function':
        return exporter === undefined ? refuse('function') : exporter(item);
      case 'bigint':
      case 'symbol':
        return refuse(typeof item);
      default:
        break;
    }
    if (item === null) {
      return null;
    }
    const object = item as object;
    const bytes = bytesOf(object);
    if (bytes !== null) {
      buffers.push(bytes);
      return { [BYTES_KEY]: buffers.length - 1 };
    }
    if (streams !== undefined) {
      const id = streams.exportStream(object, () => formatPath(root, keys));
      if (id !== null) {
        return { [STREAM_KEY]: id };
      }
    }
    if (ancestors.has(object)) {
      refuse('cyclic structure');
    }
    if (Array.isArray(object)) {
      ancestors.add(object);
      const out: unknown[] = new Array<unknown>(object.length);
      for (let i = 0; i < object.length; i++) {
        keys.push(i);
        out[i] = walk(object[i] as unknown);
        keys.pop();
      }
      ancestors.delete(object);
      return out;
    }
    if (!isPlainObject(object)) {
      if (exporter !== undefined) {
        return exporter(object);
      }
      refuse(typeName(object));
    } else if (exporter !== undefined && tagOf(object) !== 'Object') {
      return exporter(object); // a namespace such as JSON, Math or console: its members are not enumerable
    }
    ancestors.add(object);
    const out: Record<string, unknown> = {};
    const ownKeys = Object.keys(object);
    for (const key of ownKeys) {
      keys.push(key);
      if (!isWellFormed(key)) {
        refuse('key with a lone surrogate');
      }
      setOwn(out, key, walk((object as Record<string, unknown>)[key]));
      keys.pop();
    }
    ancestors.delete(object);
    if (ownKeys.length === 1 && MARKER_KEYS.includes(ownKeys[0])) {
      return { [ESCAPE_KEY]: out };
    }
    return out;
  };

  const tree = walk(value);
  return { tree, buffers };
}

/** Deeper than this, the fast check gives up and the full walk (which finds cycles) runs. */
const PLAIN_MAX_DEPTH = 32;

/**
 * The fast path of {@link encodeValue} (Python's codec has the same): true when `value` is
 * already its own wire tree, i.e. `JSON.stringify(value)` is the encoding. Only `null`,
 * booleans, finite numbers, well-formed strings, arrays (no holes) and plain objects with
 * well-formed keys, none of them a placeholder look-alike (an object whose only key is
 * `$bytes` or `$escape`), at most {@link PLAIN_MAX_DEPTH} deep (so a cycle ends the check).
 * Anything else (undefined, bytes, a class instance, a function...) returns false and the
 * full walk handles or refuses it, with the path in the message.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'boolean':
      return true;
    case 'string':
      return isWellFormed(value);
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) {
    return true;
  }
  if (depth >= PLAIN_MAX_DEPTH) {
    return false;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !isPlainJson(value[i], depth + 1)) {
        return false;
      }
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return false;
  }
  const keys = Object.keys(value);
  if (keys.length === 1 && MARKER_KEYS.includes(keys[0])) {
    return false;
  }
  for (const key of keys) {
    if (!isWellFormed(key) || !isPlainJson((value as Record<string, unknown>)[key], depth + 1)) {
      return false;
    }
  }
  return true;
}

/**
 * Whether a received frame may hold a placeholder or an escape, so that its JSON must be
 * walked by {@link decodeValue}. Without buffers and without a `$` (or a `\u` escape, which
 * could spell one) in the text there is none: the parsed JSON is the value as it is. Python's
 * codec makes the same check.
 *
 * @param json - The frame's JSON text.
 * @param bufferCount - How many buffers the frame has.
 * @returns False when `JSON.parse(json)` needs no decoding.
 */
export function needsDecoding(json: string, bufferCount: number): boolean {
  return bufferCount > 0 || json.includes('$') || json.includes('\\u');
}

/** A received value that breaks the encoding rules: a bad placeholder or escape. */
export class DecodeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** A binary buffer as received: in a channel frame (`ArrayBuffer`) or a frame (`Uint8Array`). */
export type ReceivedBuffer = ArrayBuffer | Uint8Array;

/**
 * Decode a value received from the wire (the parsed JSON and the frame's buffers).
 *
 * @param tree - The parsed JSON value.
 * @param buffers - The frame's buffers; `{"$bytes": n}` becomes a `Uint8Array` over `buffers[n]`.
 * @param streams - Makes the value of each `{"$stream": id}` (a `ReadableStream`); without it
 *   such a tag is a {@link DecodeError}.
 * @param importer - Optional: turns `$handle` and `$py` tags into objects; without it such a
 *   tag is refused with a DecodeError.
 * @returns The value: JSON types, plain objects, arrays, `Uint8Array`s (and streams, handles).
 * @throws DecodeError if a placeholder names a missing buffer, an escape is malformed, or a
 *   stream or reference tag is not allowed here or is malformed.
 */
export function decodeValue(
  tree: unknown,
  buffers: readonly ReceivedBuffer[],
  streams?: StreamImporter,
  importer?: Importer,
): unknown {
  const walk = (item: unknown): unknown => {
    if (item === null || typeof item !== 'object') {
      return item;
    }
    if (Array.isArray(item)) {
      return item.map(walk);
    }
    const object = item as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length === 1 && keys[0] === BYTES_KEY) {
      const index = object[BYTES_KEY];
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= buffers.length) {
        throw new DecodeError(`bad ${BYTES_KEY} placeholder ${JSON.stringify(index)}: ${buffers.length} buffers`);
      }
      const buffer = buffers[index];
      return buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    }
    if (keys.length === 1 && keys[0] === STREAM_KEY) {
      const id = object[STREAM_KEY];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 1) {
        throw new DecodeError(`bad ${STREAM_KEY} ${JSON.stringify(id)}: a stream id is an integer >= 1`);
      }
      if (streams === undefined) {
        throw new DecodeError(`bad frame: stream ${id} where no stream can be received`);
      }
      return streams.importStream(id);
    }
    if (keys.length === 1 && (keys[0] === HANDLE_KEY || keys[0] === PY_KEY)) {
      if (importer === undefined) {
        throw new DecodeError(`a ${keys[0]} reference is not accepted here: only window operations carry references`);
      }
      return importer(keys[0], object[keys[0]]);
    }
    let source = object;
    if (keys.length === 1 && keys[0] === ESCAPE_KEY) {
      const inner = object[ESCAPE_KEY];
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
        throw new DecodeError(`bad ${ESCAPE_KEY}: not an object`);
      }
      source = inner as Record<string, unknown>;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(source)) {
      setOwn(out, key, walk(source[key]));
    }
    return out;
  };
  return walk(tree);
}
