/**
 * Work-around for a hang in the Pyodide kernel's coincident transport.
 *
 * @packageDocumentation
 */

/** Marks our wrapper so that installing it twice is a no-op. */
const WRAPPED = Symbol.for('litebridge.waitAsyncWrapped');

/** The shape of `Atomics.waitAsync` (ES2024), typed here so that the ES2022 lib suffices. */
type WaitAsync = (
  typedArray: Int32Array | BigInt64Array,
  index: number,
  value: number | bigint,
  timeoutMs?: number
) => { async: boolean; value: unknown };

interface AtomicsWithWaitAsync {
  waitAsync?: WaitAsync & { [WRAPPED]?: true };
}

/**
 * `Atomics.waitAsync` as the browser provides it, captured before the wrapper is installed,
 * for litebridge's own SAB loop (which handles synchronous outcomes itself and must not pay
 * the wrapper's extra task).
 */
export const nativeWaitAsync: WaitAsync | undefined = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync;

/** node's `MessagePort.ref`/`unref` (absent in browsers). */
interface NodePortRefs {
  ref?: () => void;
  unref?: () => void;
}

/** Callbacks waiting for {@link laterTask}'s next message, first in first out. */
const queued: (() => void)[] = [];
let channel: MessageChannel | undefined;

/**
 * Run `callback` on a later task (a `MessageChannel` message), never a timer: unlike
 * `setTimeout(callback, 0)` it is not clamped or throttled in a hidden tab.
 *
 * @param callback - Called once, with no arguments, on a task after the current one.
 */
export function laterTask(callback: () => void): void {
  if (channel === undefined) {
    channel = new MessageChannel();
    const port = channel.port1 as MessagePort & NodePortRefs;
    port.onmessage = () => {
      queued.shift()?.();
      if (queued.length === 0) {
        port.unref?.();
      }
    };
  }
  // node's MessagePort holds the event loop open while referenced; browsers have no ref/unref
  (channel.port1 as MessagePort & NodePortRefs).ref?.();
  queued.push(callback);
  channel.port2.postMessage(null);
}

/** False once {@link disableWaitAsyncFix} ran: the wrapper then passes every call through. */
let active = true;

/**
 * Switch the wrapper off: from now on it returns what the browser's `Atomics.waitAsync`
 * returns. Used when the page runs a `@jupyterlite/pyodide-kernel` other than the one this
 * work-around was written for (`upstreamVersion.ts`): it cannot be uninstalled, since
 * coincident may hold a reference to it already.
 *
 * @param why - Why, for the console warning.
 * @param warn - Where the one warning goes (default `console.warn`).
 * @returns True if switched off by this call, false if it already was.
 */
export function disableWaitAsyncFix(why: string, warn: (message: string) => void = (m) => { console.warn(m); }): boolean {
  if (!active) {
    return false;
  }
  active = false;
  warn(`litebridge: the Atomics.waitAsync work-around (waitAsyncFix) is switched off: ${why}`);
  return true;
}

/**
 * Wrap `Atomics.waitAsync` on this page so that it always returns
 * `{async: true, value: Promise<"ok" | "not-equal" | "timed-out">}`.
 *
 * Upstream cause: with COOP/COEP (`crossOriginIsolated`), `@jupyterlite/pyodide-kernel`
 * talks to its worker through `coincident`, whose main-thread code calls
 * `Atomics.waitAsync(...).value.then(...)`. When the worker has already answered, the
 * native call returns synchronously with `{async: false, value: "not-equal"}`; `value` is
 * then a string, not a Promise, and the request never completes: about 5 executes in 100
 * hung on our 2-core test machine. Returning the synchronous outcome as an
 * already-resolved Promise keeps the meaning of the result and makes `.value.then` always
 * valid.
 *
 * It must run before the first kernel is created, because coincident may keep a reference
 * to the function: the litebridge labextension calls it when its module is loaded and again
 * when its plugin activates.
 *
 * @returns `true` if the wrapper was installed by this call, `false` if it was already
 *   installed or if this browser has no `Atomics.waitAsync` (nothing to fix then).
 */
export function installWaitAsyncFix(): boolean {
  const atomics = Atomics as unknown as AtomicsWithWaitAsync;
  const native = atomics.waitAsync;
  if (typeof native !== 'function' || native[WRAPPED] === true) {
    return false;
  }
  const wrapped: WaitAsync & { [WRAPPED]?: true } = function waitAsync(
    typedArray,
    index,
    value,
    timeoutMs
  ) {
    const result = native.call(Atomics, typedArray, index, value, timeoutMs);
    if (result.async || !active) {
      return result;
    }
    // Settle on a later task, not a microtask. This does not make a reply the worker is still
    // writing complete (a task boundary is no bound on the worker's copy): coincidentResultFix
    // hands the worker a private buffer for that, so coincident only sees finished replies.
    // The task is a message, not a timer: browsers clamp timers in background tabs to 1 s
    // (HTML: "timer initialisation steps" allow it; Firefox's dom.min_background_timeout_value
    // is 1000 ms), which made every execute of a hidden lab take a second.
    const outcome = result.value;
    return { async: true, value: new Promise((resolve) => { laterTask(() => { resolve(outcome); }); }) };
  };
  wrapped[WRAPPED] = true;
  Object.defineProperty(Atomics, 'waitAsync', {
    value: wrapped,
    writable: true,
    configurable: true,
    enumerable: false
  });
  return true;
}
