/**
 * Errors that cross the bridge (protocol section 5).
 *
 * @packageDocumentation
 */
import type { ErrorCode, WireError } from './protocol';
import { ErrorCode as Codes } from './protocol';

/**
 * A Python exception raised by an exposed method in the kernel.
 *
 * The page's promise rejects with it; the kernel keeps serving.
 */
export class PythonError extends Error {
  /** The Python exception class name, e.g. `ZeroDivisionError`. */
  readonly type: string;
  /** The formatted Python traceback (may be empty). */
  readonly traceback: string;

  /**
   * @param type - The Python exception class name.
   * @param message - The exception message.
   * @param traceback - The formatted traceback.
   */
  constructor(type: string, message: string, traceback: string) {
    super(message);
    this.name = 'PythonError';
    this.type = type;
    this.traceback = traceback;
  }

  /** `PythonError: <type>: <message>`, so that consoles show the Python type. */
  override toString(): string {
    return `${this.name}: ${this.type}: ${this.message}`;
  }
}

/**
 * An error produced by the bridge itself rather than by user code: unknown or forbidden
 * method names, values that cannot be encoded, malformed messages, re-entrant calls into a
 * blocked kernel, closed kernels and timeouts.
 */
export class BridgeError extends Error {
  /** Why: one of the protocol's error codes (`unknown_method`, `busy`, `timeout`...). */
  readonly code: ErrorCode;
  /** The error type reported by the other side, when it came from there. */
  readonly type: string;
  /** The other side's stack or traceback, when it came from there (may be empty). */
  readonly remoteStack: string;

  /**
   * @param code - The protocol error code.
   * @param message - What happened, naming the method or what was waited for.
   * @param type - The remote error type, defaults to `BridgeError`.
   * @param remoteStack - The remote stack or traceback, defaults to empty.
   */
  constructor(code: ErrorCode, message: string, type = 'BridgeError', remoteStack = '') {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
    this.type = type;
    this.remoteStack = remoteStack;
  }
}

const CODES = new Set<string>(Object.values(Codes));

/**
 * Rebuild the typed error for a received error object.
 *
 * @param wire - The `error` field of a `litebridge.error` message (validated here).
 * @returns A {@link BridgeError} when `code` is set, else a {@link PythonError}.
 */
export function errorFromWire(wire: unknown): PythonError | BridgeError {
  const fields = (wire !== null && typeof wire === 'object' ? wire : {}) as Partial<Record<keyof WireError, unknown>>;
  const type = typeof fields.type === 'string' ? fields.type : 'Error';
  const message = typeof fields.message === 'string' ? fields.message : 'malformed error from the other side';
  const stack = typeof fields.stack === 'string' ? fields.stack : '';
  if (typeof fields.code === 'string' && CODES.has(fields.code)) {
    return new BridgeError(fields.code as ErrorCode, message, type, stack);
  }
  return new PythonError(type, message, stack);
}

/**
 * The error object for something a page handler threw.
 *
 * @param thrown - Anything thrown (usually an `Error`).
 * @returns `{type: error.name, message, stack}`; plus `code` when it is a {@link BridgeError}
 *   (e.g. the handler's own `k.call` was refused with `busy` or rejected with `closed`), so
 *   that Python raises the matching class (protocol section 5).
 */
export function errorToWire(thrown: unknown): WireError {
  if (thrown instanceof BridgeError) {
    return { type: thrown.name, message: thrown.message, stack: thrown.stack ?? '', code: thrown.code };
  }
  if (thrown instanceof Error) {
    return { type: thrown.name, message: thrown.message, stack: thrown.stack ?? '' };
  }
  if (thrown !== null && typeof thrown === 'object') {
    const { name, message, stack } = thrown as Record<string, unknown>;
    if (typeof message === 'string') {
      return {
        type: typeof name === 'string' ? name : 'Error',
        message,
        stack: typeof stack === 'string' ? stack : ''
      };
    }
  }
  let text: string;
  try {
    text = String(thrown);
  } catch {
    text = Object.prototype.toString.call(thrown);
  }
  return { type: 'Error', message: text, stack: '' };
}

/**
 * The error object for an error the bridge produced.
 *
 * @param code - The protocol error code.
 * @param message - What happened.
 * @param type - The error type, defaults to `BridgeError` (`TypeError` for `unserializable`).
 */
export function bridgeWireError(code: ErrorCode, message: string, type = 'BridgeError'): WireError {
  return { type, message, stack: '', code };
}
