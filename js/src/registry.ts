/**
 * Page handlers: the functions Python calls with `page.call` and `page.call_sync`.
 *
 * @packageDocumentation
 */
import { BridgeError } from './errors';
import { ErrorCode, FORBIDDEN_SEGMENTS } from './protocol';

/** A registered handler and the object it is called on. */
export interface Handler {
  /** The function. */
  fn: (...args: unknown[]) => unknown;
  /** `this` for the call: the object it was registered from. */
  self: object;
}

/** Names that passed {@link checkMethodName} (bounded). */
const checkedNames = new Set<string>();

/**
 * Check a method name against the protocol's naming rules (section 2).
 *
 * @param name - The method name as received.
 * @throws BridgeError with code `bad_request` if it is not a non-empty string or has an
 *   empty segment (`a..b`), or
 *   `forbidden_name` if a dot-separated segment starts with `_` or is `constructor`,
 *   `__proto__` or `prototype`.
 */
export function checkMethodName(name: unknown): asserts name is string {
  if (typeof name === 'string' && checkedNames.has(name)) {
    return; // names repeat: one set lookup per call after the first
  }
  if (typeof name !== 'string' || name === '') {
    throw new BridgeError(ErrorCode.badRequest, `method name must be a non-empty string, got ${typeof name === 'string' ? '""' : typeof name}`);
  }
  for (const segment of name.split('.')) {
    if (segment === '') {
      throw new BridgeError(ErrorCode.badRequest, `bad method name ${JSON.stringify(name)}: empty segment`);
    }
    if (segment.startsWith('_') || FORBIDDEN_SEGMENTS.includes(segment)) {
      throw new BridgeError(
        ErrorCode.forbiddenName,
        `method name ${JSON.stringify(name)} is not callable: segment ${JSON.stringify(segment)} is private or reserved`
      );
    }
  }
  if (checkedNames.size < 4096) {
    checkedNames.add(name);
  }
}

/** True if `name` passes {@link checkMethodName}. */
export function isCallableName(name: string): boolean {
  try {
    checkMethodName(name);
    return true;
  } catch {
    return false;
  }
}

/** A set of named page handlers. Later registrations replace earlier ones of the same name. */
export class HandlerRegistry {
  private readonly handlers = new Map<string, Handler>();

  /**
   * Register the own enumerable function properties of `obj` as handlers, called with
   * `this` = `obj`. Inherited methods (e.g. of a class instance) are not registered, and
   * names that can never be called (private or reserved segments) are skipped.
   *
   * @param obj - An object whose function properties become handlers.
   * @returns The names registered.
   * @throws TypeError if `obj` is not an object.
   */
  register(obj: unknown): string[] {
    if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) {
      throw new TypeError(`register() takes an object of functions, got ${obj === null ? 'null' : typeof obj}`);
    }
    const self = obj as Record<string, unknown>;
    const names: string[] = [];
    for (const name of Object.keys(self)) {
      const descriptor = Object.getOwnPropertyDescriptor(self, name);
      const fn: unknown = descriptor?.value;
      if (typeof fn === 'function' && isCallableName(name)) {
        this.handlers.set(name, { fn: fn as Handler['fn'], self });
        names.push(name);
      }
    }
    return names;
  }

  /**
   * @param name - The method name.
   * @returns The handler, or undefined.
   */
  get(name: string): Handler | undefined {
    return this.handlers.get(name);
  }

  /** The registered names, in registration order. */
  names(): string[] {
    return [...this.handlers.keys()];
  }
}

/**
 * Find the handler for a call, looking in each registry in turn (per-kernel first).
 *
 * @param name - The method name as received.
 * @param registries - Where to look, in order.
 * @returns The handler.
 * @throws BridgeError with code `bad_request`, `forbidden_name` or `unknown_method` (whose
 *   message names the method).
 */
export function resolveHandler(name: unknown, registries: readonly HandlerRegistry[]): Handler {
  checkMethodName(name);
  for (const registry of registries) {
    const handler = registry.get(name);
    if (handler !== undefined) {
      return handler;
    }
  }
  throw new BridgeError(ErrorCode.unknownMethod, `no page handler named ${JSON.stringify(name)}`);
}

/**
 * Evaluate the JavaScript object expression sent by Python's `page.register(source)`.
 *
 * @param source - A JavaScript expression, e.g. `{ f(x) { return x } }`.
 * @returns The object it evaluates to.
 * @throws BridgeError with code `bad_request` if it does not compile, throws, or is not an object.
 */
export function evaluateSource(source: unknown): object {
  if (typeof source !== 'string') {
    throw new BridgeError(ErrorCode.badRequest, 'register source must be a string');
  }
  let value: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const make = new Function(`"use strict";\nreturn (${source}\n);`) as () => unknown;
    value = make();
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new BridgeError(ErrorCode.badRequest, `register source does not evaluate: ${reason}`);
  }
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    throw new BridgeError(ErrorCode.badRequest, `register source must be an object expression, got ${value === null ? 'null' : typeof value}`);
  }
  return value;
}
