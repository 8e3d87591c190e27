/**
 * What a page handler sees as `this` while it serves a Python -> page call.
 *
 * @packageDocumentation
 */

/**
 * One Python -> page call being served: its abort signal, created on first use.
 *
 * The signal is aborted when Python gives up on the call (`litebridge.cancel`: the caller's
 * task was cancelled, the call timed out, or the kernel was interrupted) or when the kernel
 * goes away.
 */
export class ServingCall {
  /** The handler name, for messages. */
  readonly method: string;
  private controller: AbortController | null = null;
  private reason: Error | null = null;

  /**
   * @param method - The handler name.
   */
  constructor(method: string) {
    this.method = method;
  }

  /** True once the call was cancelled; its answer is then dropped. */
  get aborted(): boolean {
    return this.reason !== null;
  }

  /** The call's `AbortSignal` (created lazily: most handlers never look at it). */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.reason !== null) {
        this.controller.abort(this.reason);
      }
    }
    return this.controller.signal;
  }

  /**
   * Abort the call (idempotent).
   *
   * @param reason - The signal's reason: a `DOMException` named `AbortError` saying why.
   */
  abort(reason: Error): void {
    if (this.reason !== null) {
      return;
    }
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * The `this` of a handler call: the object the handler was registered from, plus two
 * read-only properties provided by litebridge, which shadow own properties of those names:
 *
 * - `this.kernel`: the `KernelBridge` of the kernel that made the call (so a handler can call
 *   back into *its* caller with `await this.kernel.call(...)`, whichever notebook is shown);
 * - `this.signal`: an `AbortSignal` aborted when Python gives up on the call.
 *
 * Every other read, and every write, goes to the registered object itself, so handlers that
 * keep state in `this` or call `this.otherHandler()` behave as before.
 *
 * @param self - The object the handler was registered from.
 * @param kernel - The calling kernel's bridge.
 * @param call - The call being served.
 * @returns A proxy to use as `this`.
 */
export function handlerThis(self: object, kernel: unknown, call: ServingCall): object {
  return new Proxy(self, {
    get(target, key) {
      if (key === 'kernel') {
        return kernel;
      }
      if (key === 'signal') {
        return call.signal;
      }
      return Reflect.get(target, key, target) as unknown;
    },
    set(target, key, value) {
      return Reflect.set(target, key, value, target);
    }
  });
}
