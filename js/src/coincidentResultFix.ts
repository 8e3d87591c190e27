/**
 * Work-around for torn results in the Pyodide kernel's coincident transport, in both
 * directions (worker -> page and page -> worker calls).
 *
 * @packageDocumentation
 */
import { nativeWaitAsync } from './waitAsyncFix';

/**
 * The message key of coincident 1.x (`CHANNEL` in its `channel.js`), which
 * `@jupyterlite/pyodide-kernel` 0.8 bundles for its COOP/COEP worker.
 */
export const COINCIDENT_CHANNEL = '64e10b34-2bf7-4616-9668-f99de5aa046e';

/** Marks our wrappers so that installing them twice is a no-op. */
const WRAPPED = Symbol.for('litebridge.coincidentResultFix');

type Notify = ((typedArray: Int32Array, index: number, count?: number) => number) & { [WRAPPED]?: true };

/** Scratch buffer handed to coincident -> the buffer the worker is waiting on. */
const published = new WeakMap<Int32Array, Int32Array>();

/** False once {@link disableCoincidentResultFix} ran: no more results are redirected. */
let active = true;

/** `Atomics.notify` as the browser provides it (set by {@link installCoincidentResultFix}). */
let nativeNotify: Notify | null = null;

/**
 * Switch the fix off: later coincident results are no longer redirected (one already handed
 * a scratch buffer is still published). Used when the page runs a `@jupyterlite/pyodide-kernel`
 * other than the one this work-around was written for (`upstreamVersion.ts`); the wrappers
 * stay installed, since coincident may hold a reference to them already.
 *
 * @param why - Why, for the console warning.
 * @param warn - Where the one warning goes (default `console.warn`).
 * @returns True if switched off by this call, false if it already was.
 */
export function disableCoincidentResultFix(
  why: string,
  warn: (message: string) => void = (m) => { console.warn(m); }
): boolean {
  if (!active) {
    return false;
  }
  active = false;
  warn(`litebridge: the coincident result work-around (coincidentResultFix) is switched off: ${why}`);
  return true;
}

/**
 * Copy a finished result from `scratch` into `target` so that `target[0]` (the slot the
 * worker waits on) becomes non-zero last, then wake the worker.
 */
function publish(scratch: Int32Array, target: Int32Array, notify: Notify, count?: number): number {
  const bytes = Math.min(scratch.buffer.byteLength, target.buffer.byteLength);
  new Uint8Array(target.buffer, 4, bytes - 4).set(new Uint8Array(scratch.buffer, 4, bytes - 4));
  Atomics.store(target, 0, Atomics.load(scratch, 0));
  return notify.call(Atomics, target, 0, count);
}

/**
 * Intercept the second phase of a coincident worker -> page call: the message `[id, sb]`
 * asking the page to write the result string into `sb`. coincident would write it straight
 * into `sb` character by character; the worker waits with `Atomics.wait(sb, 0, 0)`, so if it
 * reaches the wait after the first characters landed it reads a half-written string. Hand
 * coincident a private buffer instead; {@link installCoincidentResultFix}'s `Atomics.notify`
 * publishes it once it is complete.
 */
function redirectResult(event: MessageEvent<unknown>): void {
  if (!active) {
    return;
  }
  const data = event.data as Record<string, unknown> | null;
  const details = data !== null && typeof data === 'object' ? data[COINCIDENT_CHANNEL] : undefined;
  if (!Array.isArray(details) || details.length !== 2) {
    return;
  }
  const target: unknown = details[1];
  if (!(target instanceof Int32Array) || !(target.buffer instanceof SharedArrayBuffer) || target.byteLength < 8) {
    return;
  }
  const scratch = new Int32Array(new SharedArrayBuffer(target.buffer.byteLength));
  published.set(scratch, target);
  details[1] = scratch;
}

/**
 * Intercept a page -> worker call of coincident 1.x before it is posted: the message
 * `{[COINCIDENT_CHANNEL]: [id, sb, name, args]}` (phase one: the worker stores the result's
 * length in `sb[1]`, then 1 in `sb[0]`) or `[id, sb]` (phase two: the worker writes the result
 * string into `sb` as UTF-16 code units from byte 0, so the first two land in `sb[0]`). The
 * page then waits with `Atomics.waitAsync(sb, 0, 0)` and, when `sb[0]` is already non-zero,
 * reads at once, possibly a half-written string (`SyntaxError: Bad Unicode escape in JSON`
 * and the call never settles). Instead the worker gets a private buffer; a waiter registered
 * on it before posting (so it cannot miss the worker's `Atomics.notify`, which comes after
 * the last write) copies it into `sb` with `sb[0]` written last, then wakes the page.
 *
 * Exported for tests.
 *
 * @param message - What the page posts to the kernel's worker; its `COINCIDENT_CHANNEL`
 *   entry is rewritten in place when it is such a call.
 * @param waitAsync - `Atomics.waitAsync` (default the browser's own); null: leave it alone.
 * @returns True if the call's buffer was swapped for a private one.
 */
export function redirectCall(
  message: unknown,
  waitAsync: typeof nativeWaitAsync | null = nativeWaitAsync ?? null
): boolean {
  const notify = nativeNotify;
  if (!active || waitAsync === null || notify === null || message === null || typeof message !== 'object') {
    return false;
  }
  const details = (message as Record<string, unknown>)[COINCIDENT_CHANNEL];
  if (!Array.isArray(details) || details.length < 2) {
    return false;
  }
  const target: unknown = details[1];
  if (
    !(target instanceof Int32Array) ||
    !(target.buffer instanceof SharedArrayBuffer) ||
    target.byteOffset !== 0 ||
    target.byteLength < 4 ||
    Atomics.load(target, 0) !== 0
  ) {
    return false;
  }
  const scratch = new Int32Array(new SharedArrayBuffer(target.buffer.byteLength));
  const waited = waitAsync.call(Atomics, scratch, 0, 0, Infinity);
  if (!waited.async) {
    return false;
  }
  void (waited.value as Promise<unknown>).then(() => publish(scratch, target, notify));
  details[1] = scratch;
  return true;
}

/**
 * Make coincident's results appear atomically to the side waiting for them: worker -> page
 * calls (the worker waits) and page -> worker calls (the page waits).
 *
 * Upstream cause: with COOP/COEP, `@jupyterlite/pyodide-kernel` 0.8 makes synchronous calls
 * from its worker to the page through coincident 1.x (for example `getattr` of the contents
 * file system while the kernel boots). The page writes the JSON result as UTF-16 code units
 * into the shared buffer whose first int32 is also the slot the worker waits on, without a
 * separate "done" flag; a worker that is descheduled between posting and waiting sees a
 * non-zero slot, does not wait, and parses a half-written string: `SyntaxError: Bad control
 * character in string literal in JSON`, "Pyodide has suffered a fatal error", and the kernel
 * never answers (about 1 boot in 8-16 on a loaded 2-core machine). The page -> worker
 * direction (for example the kernel's `execute`) has the same race with the roles swapped
 * ({@link redirectCall}): a page that reaches `Atomics.waitAsync` after the worker wrote the
 * first characters reads a half-written reply (`Bad Unicode escape in JSON` when the cut falls
 * in the `\u001b` of a traceback's colours), and the execute never completes.
 *
 * This installs, before any kernel exists: a `Worker` subclass as `globalThis.Worker` whose
 * first `message` listener gives coincident a scratch buffer for that phase and whose
 * `postMessage` gives the worker one for the page's own calls ({@link redirectCall}), and an
 * `Atomics.notify` wrapper that, when coincident notifies a scratch buffer, copies it into the
 * real one with the waited-on slot written last. coincident captures `Atomics.notify` when the
 * kernel's chunk is evaluated, which is after the labextension is loaded.
 *
 * @returns `true` if installed by this call; `false` if already installed or if this page
 *   has no `SharedArrayBuffer` (not cross-origin isolated: coincident is not used then).
 */
export function installCoincidentResultFix(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof globalThis.Worker !== 'function') {
    return false;
  }
  const native = Atomics.notify as Notify;
  if (native[WRAPPED] === true) {
    return false;
  }
  const notify: Notify = function notify(typedArray, index, count) {
    const target = typedArray instanceof Int32Array ? published.get(typedArray) : undefined;
    if (target === undefined || index !== 0) {
      return native.call(Atomics, typedArray, index, count);
    }
    published.delete(typedArray);
    return publish(typedArray, target, native, count);
  };
  notify[WRAPPED] = true;
  nativeNotify = native;
  Object.defineProperty(Atomics, 'notify', { value: notify, writable: true, configurable: true, enumerable: false });

  const NativeWorker = globalThis.Worker;
  class Worker extends NativeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      this.addEventListener('message', redirectResult);
    }

    // coincident 1.x captures `worker.postMessage` of the kernel's worker: this override.
    override postMessage(message: unknown, options?: Transferable[] | StructuredSerializeOptions): void {
      redirectCall(message);
      if (Array.isArray(options)) {
        super.postMessage(message, options);
      } else {
        super.postMessage(message, options);
      }
    }
  }
  Object.defineProperty(globalThis, 'Worker', { value: Worker, writable: true, configurable: true, enumerable: false });
  return true;
}
