/**
 * A hook on every `Worker` the page creates, so that a litebridge hello never goes unanswered.
 *
 * @packageDocumentation
 */

/** Marks our subclass so that installing it twice is a no-op. */
const HOOKED = Symbol.for('litebridge.workerHook');

/** Receives every `message` event of every worker created after {@link installWorkerHook}. */
export type WorkerMessageListener = (worker: Worker, event: MessageEvent<unknown>) => void;

const listeners: WorkerMessageListener[] = [];

/**
 * Replace `globalThis.Worker` with a subclass that reports each created worker's messages to
 * `listener`. The kernel's own listeners are untouched; the subclass only adds one.
 *
 * The litebridge labextension finds a kernel's Worker through a private field of
 * `@jupyterlite/pyodide-kernel`'s `PyodideKernel`; if that ever fails, the hello of such a
 * kernel reaches no bridge. With this hook the page still sees it and refuses it with the
 * reason, so Python raises `BridgeUnavailable` at once instead of waiting out a timeout.
 *
 * @param listener - Called for every message of every worker created from now on.
 * @returns True when the subclass was installed by this call (false: already installed, the
 *   listener was added to it; or no `Worker` on this page).
 */
export function installWorkerHook(listener: WorkerMessageListener): boolean {
  listeners.push(listener);
  const native: (typeof globalThis.Worker & { [HOOKED]?: true }) | undefined = globalThis.Worker;
  if (typeof native !== 'function' || native[HOOKED] === true) {
    return false;
  }
  const NativeWorker: typeof globalThis.Worker = native;
  class HookedWorker extends NativeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      this.addEventListener('message', (event: MessageEvent<unknown>) => {
        for (const notify of listeners) {
          notify(this, event);
        }
      });
    }
  }
  Object.defineProperty(HookedWorker, 'name', { value: 'Worker' });
  Object.defineProperty(HookedWorker, HOOKED, { value: true });
  Object.defineProperty(globalThis, 'Worker', { value: HookedWorker, writable: true, configurable: true, enumerable: false });
  return true;
}
