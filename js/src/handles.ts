/**
 * The page's two reference tables of one kernel (protocol section 13): page objects Python
 * holds handles to, and Python callables the page holds functions for.
 *
 * Both count references the way the protocol does: the sender counts how many times it sent
 * an id, the receiver how many times it received it; a `litebridge.release` carries the
 * receiver's count, and the sender forgets the id once its count drops to zero. So a release
 * that crosses a new send of the same id never frees an id still in use.
 *
 * @packageDocumentation
 */
import { BridgeError } from './errors';
import { ErrorCode, GLOBAL_HANDLE, HANDLE_KEY, PY_KEY } from './protocol';

/** A page object sent to Python, and the `this` to call it with when it is a bound method. */
interface Entry {
  value: unknown;
  self: unknown;
  sent: number;
}

/** The constructor name of a page object, for Python's `repr` (`HTMLButtonElement`). */
export function typeNameOf(value: unknown): string {
  if (typeof value === 'function') {
    return 'Function';
  }
  if (value === null || typeof value !== 'object') {
    return typeof value;
  }
  try {
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    const ctor: unknown = (value as { constructor?: unknown }).constructor;
    if (typeof ctor === 'function' && ctor.name !== '' && ctor.name !== 'Object') {
      return ctor.name;
    }
    return tag;
  } catch {
    return 'Object'; // a cross-origin object or a throwing getter
  }
}

/**
 * Page objects Python holds handles to, by id. Id 0 is `globalThis`, always present.
 *
 * An object sent twice gets the same id (so Python sees the same `JSHandle`); a bound
 * method (a function read from an object, remembered with that object as `this`) gets a
 * fresh id each time.
 */
export class PageHandles {
  private readonly entries = new Map<number, Entry>();
  private readonly ids = new Map<unknown, number>();
  private nextId = 1;

  /** Live handles (`globalThis` not counted). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Send `value` by reference: the `$handle` tag for it.
   *
   * @param value - A function or an object that is not a plain value.
   * @param self - For a function read as a property: the object it was read from (`this`
   *   of later calls). Such bound methods are never shared between sends.
   * @returns `{"$handle": [id, typeName]}`.
   */
  export(value: unknown, self?: object): Record<string, unknown> {
    if (value === globalThis) {
      return { [HANDLE_KEY]: [GLOBAL_HANDLE, typeNameOf(value)] };
    }
    let id = self === undefined ? this.ids.get(value) : undefined;
    if (id === undefined) {
      id = this.nextId++;
      this.entries.set(id, { value, self, sent: 0 });
      if (self === undefined) {
        this.ids.set(value, id);
      }
    }
    const entry = this.entries.get(id) as Entry;
    entry.sent += 1;
    return { [HANDLE_KEY]: [id, typeNameOf(value)] };
  }

  /**
   * The object behind a handle id.
   *
   * @param id - From a `$handle` tag or an op's `target`.
   * @returns The object and the `this` of a bound method (undefined otherwise).
   * @throws BridgeError `closed` for an id that was released or never existed.
   */
  get(id: unknown): { value: unknown; self: unknown } {
    if (id === GLOBAL_HANDLE) {
      return { value: globalThis, self: undefined };
    }
    const entry = typeof id === 'number' ? this.entries.get(id) : undefined;
    if (entry === undefined) {
      throw new BridgeError(ErrorCode.closed, `page handle ${String(id)} was released (or never existed)`);
    }
    return entry;
  }

  /**
   * Apply a `litebridge.release` from Python.
   *
   * @param pairs - `[id, count]` pairs; malformed pairs are ignored.
   */
  release(pairs: unknown): void {
    if (!Array.isArray(pairs)) {
      return;
    }
    for (const pair of pairs as unknown[]) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'number' || typeof pair[1] !== 'number') {
        continue;
      }
      const [id, count] = pair as [number, number];
      const entry = this.entries.get(id);
      if (entry === undefined) {
        continue;
      }
      entry.sent -= count;
      if (entry.sent <= 0) {
        this.entries.delete(id);
        if (this.ids.get(entry.value) === id) {
          this.ids.delete(entry.value);
        }
      }
    }
  }

  /** Forget every handle (the kernel went away). */
  clear(): void {
    this.entries.clear();
    this.ids.clear();
  }
}

/**
 * Calls the Python callable `id` with `args` (or, with `name`, the method `name` of Python
 * object `id`); resolves to its result.
 */
export type ApplyFn = (id: number, args: unknown[], name?: string) => Promise<unknown>;

/**
 * Property names of a {@link pythonObject} that are never Python methods: JavaScript reads them
 * on any object (`await` looks for `then`, `JSON.stringify` for `toJSON`, string conversion for
 * `toString`/`valueOf`), and Python's private names are refused there anyway.
 */
const NOT_PYTHON_METHODS = new Set(['then', 'toJSON', 'toString', 'toLocaleString', 'valueOf', 'constructor', 'prototype']);

/** Whether property `key` of a {@link pythonObject} is a Python method (see {@link NOT_PYTHON_METHODS}). */
function isPythonMethodName(key: string | symbol): key is string {
  return typeof key === 'string' && !NOT_PYTHON_METHODS.has(key) && !key.startsWith('_');
}

/** The target of a {@link pythonObject} proxy: gives it a type for `String()` and `typeNameOf`. */
class PythonObject {
  constructor(private readonly pythonType: string) {}

  get [Symbol.toStringTag](): string {
    return `PythonObject ${this.pythonType}`;
  }
}

/**
 * The page's stand-in for a Python object that is not callable (a `$py` tag with kind
 * `"object"`): every other string property is a function that calls the Python method of that
 * name and returns a promise of its result (`await counter.add(2)`); the same name gives the same
 * function. Properties cannot be written.
 *
 * @param id - The Python object id.
 * @param typeName - Its Python type name.
 * @param apply - Calls into Python.
 */
function pythonObject(id: number, typeName: string, apply: ApplyFn): object {
  const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(new PythonObject(typeName), {
    get(target, key) {
      if (!isPythonMethodName(key)) {
        return Reflect.get(target, key) as unknown;
      }
      let method = methods.get(key);
      if (method === undefined) {
        method = { [key]: (...args: unknown[]): Promise<unknown> => apply(id, args, key) }[key];
        methods.set(key, method);
      }
      return method;
    },
    has(target, key) {
      return isPythonMethodName(key) || Reflect.has(target, key);
    },
    set() {
      return false;
    },
    defineProperty() {
      return false;
    },
    deleteProperty() {
      return false;
    }
  });
}

/** Receives `[id, count]` pairs to release in Python. */
export type ReleaseFn = (pairs: [number, number][]) => void;

/**
 * Python callables the page holds, as JavaScript functions.
 *
 * The same Python id always gives the same function while it lives (so
 * `removeEventListener` finds the listener `addEventListener` got). When the page's garbage
 * collector frees a function, its id is released in Python (batched, `FinalizationRegistry`).
 */
export class PythonRefs {
  private readonly functions = new Map<number, WeakRef<object>>();
  private readonly received = new Map<number, number>();
  private readonly idOf = new WeakMap<object, number>();
  private readonly registry: FinalizationRegistry<number>;
  private pendingRelease: [number, number][] = [];
  private flushScheduled = false;

  /**
   * @param apply - Calls into Python (the bridge's `apply`).
   * @param release - Sends a `litebridge.release` to Python.
   */
  constructor(
    private readonly apply: ApplyFn,
    private readonly release: ReleaseFn
  ) {
    this.registry = new FinalizationRegistry((id: number) => {
      this.collected(id);
    });
  }

  /** Python callables with a live function on the page. */
  get size(): number {
    return this.received.size;
  }

  /**
   * The function (or, for a Python object that is not callable, the object) for a `$py` tag.
   *
   * @param value - What the tag holds: `[id, typeName]`, or `[id, typeName, "object"]` for a
   *   Python object that is not callable.
   * @returns A function that calls the Python callable and returns a Promise of its result; for
   *   an object, a {@link pythonObject} whose properties call its methods.
   * @throws DecodeError-like `TypeError` for a malformed tag.
   */
  import(value: unknown): object {
    if (!Array.isArray(value) || typeof value[0] !== 'number' || !Number.isInteger(value[0])) {
      throw new TypeError(`bad ${PY_KEY} reference ${JSON.stringify(value)}`);
    }
    const id = value[0];
    const object = value[2] === 'object';
    const name = typeof value[1] === 'string' ? value[1] : object ? 'object' : 'function';
    this.received.set(id, (this.received.get(id) ?? 0) + 1);
    const existing = this.functions.get(id)?.deref();
    if (existing !== undefined) {
      return existing;
    }
    const apply = this.apply;
    const made = object
      ? pythonObject(id, name, apply)
      : {
          [name]: (...args: unknown[]): Promise<unknown> => apply(id, args)
        }[name];
    this.functions.set(id, new WeakRef(made));
    this.idOf.set(made, id);
    this.registry.register(made, id);
    return made;
  }

  /**
   * The Python id of a function made by {@link PythonRefs.import}, or undefined.
   *
   * @param value - Any function or object.
   */
  idFor(value: object): number | undefined {
    return this.idOf.get(value);
  }

  /** Forget everything (the kernel went away); the functions then reject with `closed`. */
  clear(): void {
    this.functions.clear();
    this.received.clear();
    this.pendingRelease = [];
  }

  private collected(id: number): void {
    const ref = this.functions.get(id);
    if (ref !== undefined && ref.deref() === undefined) {
      this.functions.delete(id);
    }
    const count = this.received.get(id);
    if (count === undefined || this.functions.has(id)) {
      return; // a newer function for this id lives on; its own collection releases
    }
    this.received.delete(id);
    this.pendingRelease.push([id, count]);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => {
        this.flushScheduled = false;
        const pairs = this.pendingRelease;
        this.pendingRelease = [];
        if (pairs.length > 0) {
          this.release(pairs);
        }
      }, 0);
    }
  }
}
