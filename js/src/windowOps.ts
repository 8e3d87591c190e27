/**
 * Serving `litebridge.op` (protocol section 13): Python's `window` and `JSHandle` reading,
 * writing and calling page objects.
 *
 * @packageDocumentation
 */
import type { Exporter, Importer, ReceivedBuffer } from './codec';
import { checkPayloadSize, decodeValue, encodeValue } from './codec';
import { BridgeError, bridgeWireError, errorToWire } from './errors';
import type { Frame } from './frame';
import type { PageHandles, PythonRefs } from './handles';
import { typeNameOf } from './handles';
import { ErrorCode, Kind, OPS, PROTOCOL_VERSION, PY_KEY } from './protocol';
import type { Op } from './protocol';

/** An op envelope as received: any field may be missing or mistyped. */
export interface RawOp {
  op?: unknown;
  target?: unknown;
  name?: unknown;
  path?: unknown;
  args?: unknown;
}

/** Options of `listen`, from Python's `add_event_listener`. */
interface ListenOptions {
  preventDefault?: unknown;
  stopPropagation?: unknown;
  once?: unknown;
  capture?: unknown;
}

/** A function read as a property: sent as a handle that calls it with `self` as `this`. */
class BoundMethod {
  constructor(
    readonly fn: object,
    readonly self: object
  ) {}
}

function frame(envelope: object, buffers: Uint8Array[] = []): Frame {
  return { json: JSON.stringify(envelope), buffers };
}

/** The `litebridge.error` answer for something an op threw. */
export function opErrorFrame(id: number, error: unknown): Frame {
  const wire = error instanceof BridgeError ? bridgeWireError(error.code, error.message) : errorToWire(error);
  return frame({ v: PROTOCOL_VERSION, id, kind: Kind.error, error: wire });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function describe(value: unknown): string {
  return value === null || value === undefined ? String(value) : typeNameOf(value);
}

/** Every property name of `value`, own and inherited, sorted (what Python's `dir()` shows). */
export function propertyNames(value: unknown): string[] {
  const names = new Set<string>();
  let object: unknown = value !== null && (typeof value === 'object' || typeof value === 'function') ? value : Object(value);
  while (object !== null && object !== undefined && object !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(object)) {
      names.add(name);
    }
    object = Object.getPrototypeOf(object);
  }
  return [...names].filter((name) => name !== 'constructor').sort();
}

/**
 * Python's `len()` of a page object: its `length` (arrays, strings, collections, array-likes),
 * else its `size` (`Map`, `Set`), as a non-negative integer; `null` when it has neither (Python
 * raises `TypeError`). A function's `length` (its arity) is not a size.
 */
export function sizeOf(value: unknown): number | null {
  if (value === null || value === undefined || typeof value === 'function') {
    return null;
  }
  const object = Object(value) as { length?: unknown; size?: unknown };
  for (const size of [object.length, object.size]) {
    if (typeof size === 'number' && Number.isInteger(size) && size >= 0) {
      return size;
    }
  }
  return null;
}

/**
 * Python's iteration over a page object: `Array.from` of an iterable (`Symbol.iterator`: arrays,
 * `NodeList`, `Map` as `[key, value]` pairs, `Set`) or of an array-like (an integer `length`);
 * `null` when it is neither, or a function (Python raises `TypeError`).
 */
export function itemsOf(value: unknown): unknown[] | null {
  if (value === null || value === undefined || typeof value === 'function') {
    return null;
  }
  const object = Object(value) as Partial<Iterable<unknown>> & ArrayLike<unknown>;
  if (typeof object[Symbol.iterator] === 'function') {
    return Array.from(object as Iterable<unknown>);
  }
  if (typeof object.length === 'number' && Number.isInteger(object.length) && object.length >= 0) {
    return Array.from(object);
  }
  return null;
}

/** The page side of `window`: ops on page objects, values out with handles for the rest. */
export class WindowOps {
  /** Sends functions and non-plain objects by reference (Python callables back as `$py`). */
  readonly exporter: Exporter;
  /** Turns `$handle` and `$py` tags into page objects and functions. */
  readonly importer: Importer;

  /**
   * @param handles - The kernel's page-object table.
   * @param python - The kernel's table of Python callables.
   */
  constructor(
    private readonly handles: PageHandles,
    private readonly python: PythonRefs
  ) {
    this.exporter = (value: object) => {
      if (value instanceof BoundMethod) {
        return handles.export(value.fn, value.self);
      }
      const pyId = python.idFor(value);
      if (pyId !== undefined) {
        return { [PY_KEY]: [pyId, typeNameOf(value)] };
      }
      return handles.export(value);
    };
    this.importer = (key: string, value: unknown) => {
      if (key === PY_KEY) {
        return python.import(value);
      }
      const id: unknown = Array.isArray(value) ? value[0] : value;
      const entry = handles.get(id);
      if (typeof entry.value === 'function' && entry.self !== undefined) {
        return (entry.value as (...a: unknown[]) => unknown).bind(entry.self);
      }
      return entry.value;
    };
  }

  /**
   * Encode a value for Python: values as values, everything else as handles.
   *
   * @param id - The call id answered.
   * @param value - The op's result (already awaited).
   * @returns The `litebridge.result` frame.
   */
  resultFrame(id: number, value: unknown): Frame {
    const encoded = encodeValue(value, 'result', undefined, this.exporter);
    const answer = frame({ v: PROTOCOL_VERSION, id, kind: Kind.result, value: encoded.tree }, encoded.buffers);
    checkPayloadSize(answer.json, answer.buffers, 'result');
    return answer;
  }

  /**
   * Serve one `litebridge.op`; never throws. A thenable result is awaited first (so a
   * `fetch()` called from Python answers with the `Response`).
   *
   * @param id - The op's id.
   * @param message - The envelope.
   * @param buffers - The frame's buffers.
   * @returns The answer frame, or a promise of it that never rejects.
   */
  serve(id: number, message: RawOp, buffers: readonly ReceivedBuffer[]): Frame | Promise<Frame> {
    let result: unknown;
    try {
      result = this.run(message, buffers);
      if (!isThenable(result)) {
        return this.resultFrame(id, result);
      }
    } catch (error) {
      return opErrorFrame(id, error);
    }
    return Promise.resolve(result).then(
      (value) => {
        try {
          return this.resultFrame(id, value);
        } catch (error) {
          return opErrorFrame(id, error);
        }
      },
      (error: unknown) => opErrorFrame(id, error)
    );
  }

  private run(message: RawOp, buffers: readonly ReceivedBuffer[]): unknown {
    const op = message.op;
    if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
      throw new BridgeError(ErrorCode.badRequest, `unknown op ${JSON.stringify(op)} (one of ${OPS.join(', ')})`);
    }
    if (!Array.isArray(message.args)) {
      throw new BridgeError(ErrorCode.badRequest, 'op args must be an array');
    }
    const name = message.name;
    if (name !== undefined && typeof name !== 'string' && typeof name !== 'number') {
      throw new BridgeError(ErrorCode.badRequest, 'op name must be a string or a number');
    }
    let target = this.handles.get(message.target);
    if (message.path !== undefined) {
      if (!Array.isArray(message.path) || !(message.path as unknown[]).every((p) => typeof p === 'string' || typeof p === 'number')) {
        throw new BridgeError(ErrorCode.badRequest, 'op path must be an array of property names');
      }
      for (const step of message.path as (string | number)[]) {
        target = { value: this.get(target.value, step, false), self: undefined };
      }
    }
    const args = decodeValue(message.args, buffers, undefined, this.importer) as unknown[];
    return this.apply(op as Op, target, name, args);
  }

  private apply(op: Op, target: { value: unknown; self: unknown }, name: string | number | undefined, args: unknown[]): unknown {
    const object = target.value;
    switch (op) {
      case 'get':
        return this.get(object, this.needName(op, name));
      case 'set':
        this.writable(object, this.needName(op, name));
        (object as Record<string | number, unknown>)[this.needName(op, name)] = args[0];
        return null;
      case 'call':
        if (name === undefined) {
          if (typeof object !== 'function') {
            throw new TypeError(`${describe(object)} is not a function`);
          }
          return Reflect.apply(object, target.self, args);
        }
        return Reflect.apply(this.method(object, name), object, args);
      case 'new': {
        const ctor = name === undefined ? object : this.get(object, name, false);
        if (typeof ctor !== 'function') {
          throw new TypeError(`${describe(ctor)} is not a constructor`);
        }
        return Reflect.construct(ctor, args) as unknown;
      }
      case 'dir':
        return propertyNames(object);
      case 'len':
        return sizeOf(name === undefined ? object : this.get(object, name, false));
      case 'items':
        return itemsOf(name === undefined ? object : this.get(object, name, false));
      case 'listen':
        return this.listen(object, args);
    }
  }

  private needName(op: string, name: string | number | undefined): string | number {
    if (name === undefined) {
      throw new BridgeError(ErrorCode.badRequest, `op ${op} needs a name`);
    }
    return name;
  }

  private writable(object: unknown, name: string | number): void {
    if (object === null || object === undefined) {
      throw new TypeError(`cannot set property ${JSON.stringify(name)} of ${String(object)}`);
    }
  }

  /** Read a property; a function is returned as a handle bound to `object` (its `this`). */
  private get(object: unknown, name: string | number, bind = true): unknown {
    if (object === null || object === undefined) {
      throw new TypeError(`cannot read property ${JSON.stringify(name)} of ${String(object)}`);
    }
    if (!(name in Object(object))) {
      throw new BridgeError(ErrorCode.unknownProperty, `${describe(object)} has no property ${JSON.stringify(name)}`);
    }
    const value: unknown = (object as Record<string | number, unknown>)[name];
    if (bind && typeof value === 'function' && this.python.idFor(value) === undefined) {
      return new BoundMethod(value, Object(object) as object);
    }
    return value;
  }

  private method(object: unknown, name: string | number): (...args: unknown[]) => unknown {
    const fn = this.get(object, name, false);
    if (typeof fn !== 'function') {
      throw new TypeError(`${describe(object)}.${String(name)} is not a function`);
    }
    return fn as (...args: unknown[]) => unknown;
  }

  private listen(object: unknown, args: unknown[]): unknown {
    const [type, listener, options] = args as [unknown, unknown, ListenOptions | undefined];
    const target = object as Partial<EventTarget> | null;
    if (target === null || typeof target.addEventListener !== 'function') {
      throw new TypeError(`${describe(object)} is not an EventTarget`);
    }
    if (typeof type !== 'string' || typeof listener !== 'function') {
      throw new TypeError('add_event_listener needs an event type (str) and a Python callable');
    }
    const opts = options ?? {};
    const call = listener as (event: Event) => Promise<unknown>;
    const wrapper = (event: Event): void => {
      // Synchronously, while the event is dispatched: Python's answer comes too late for these.
      if (opts.preventDefault === true) {
        event.preventDefault();
      }
      if (opts.stopPropagation === true) {
        event.stopPropagation();
      }
      call(event).catch((error: unknown) => {
        console.error(`litebridge: the Python listener for "${type}" failed:`, error);
      });
    };
    target.addEventListener(type, wrapper, { once: opts.once === true, capture: opts.capture === true });
    return wrapper;
  }
}
