/**
 * The litebridge JupyterLite labextension.
 *
 * @packageDocumentation
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { IKernel } from '@jupyterlite/services';
import { IKernelClient, IKernelSpecs } from '@jupyterlite/services';

import type { KernelWorker } from './bridge';
import type { PageApi } from './manager';
import { BridgeManager } from './manager';
import { watchKernelBoot } from './bootWatchdog';
import { isolationPlugin } from './isolation';
import { installCoincidentResultFix } from './coincidentResultFix';
import { KernelInterrupts } from './interrupt';
import { installMissingSabFix } from './missingSabFix';
import { installWaitAsyncFix } from './waitAsyncFix';
import { embedFramePlugin } from './embed/frame';
import { checkUpstreamPatches } from './upstreamPatches';
import { installWorkerHook } from './workerHook';

export type { KernelBridge, InvokeOptions } from './bridge';
export { BridgeError, PythonError } from './errors';
export type { KernelOptions, PageApi } from './manager';

// As early as possible: when JupyterLite loads this federated module, before any plugin
// activates and before any kernel (and so coincident) exists.
installWaitAsyncFix();
installCoincidentResultFix();
if (globalThis.crossOriginIsolated) {
  // Both patches only matter with COOP/COEP; switched off if the kernel is not 0.8.x.
  void checkUpstreamPatches();
}
/** Set when the plugin activates; hellos posted before that are impossible (no kernel yet). */
let activeManager: BridgeManager | null = null;
installWorkerHook((worker, event) => {
  activeManager?.onWorkerMessage(worker, event);
});
installMissingSabFix();

/** The plugin id, also the key under which it can be disabled in `jupyter-lite.json`. */
export const PLUGIN_ID = 'litebridge:plugin';

/** `window.litebridge`: the page API, plus `app` (the JupyterLite app, for tests and benchmarks). */
export interface WindowApi extends PageApi {
  /** The JupyterLite application. For tests and benchmarks only; not a stable API. */
  readonly app: JupyterFrontEnd;
}

declare global {
  interface Window {
    litebridge?: WindowApi;
  }
}

type KernelFactory = (options: IKernel.IOptions) => Promise<IKernel>;

/** The kernel's Worker: `PyodideKernel` keeps it in the private field `_worker`. */
function workerOf(kernel: IKernel): KernelWorker | null {
  const worker: unknown = (kernel as unknown as { _worker?: unknown })._worker;
  if (
    worker !== null &&
    typeof worker === 'object' &&
    typeof (worker as KernelWorker).postMessage === 'function' &&
    typeof (worker as KernelWorker).addEventListener === 'function' &&
    typeof (worker as KernelWorker).removeEventListener === 'function'
  ) {
    return worker as KernelWorker;
  }
  return null;
}

/**
 * Wrap every kernel factory, including ones registered later, so that each kernel created
 * gets a bridge listening on its Worker for the hello, closed when the kernel is disposed.
 */
function wrapFactories(kernelspecs: IKernelSpecs, manager: BridgeManager, interrupts: KernelInterrupts): void {
  const wrapped = new WeakSet<KernelFactory>();
  const wrapAll = (): void => {
    for (const [name, factory] of kernelspecs.factories) {
      if (wrapped.has(factory)) {
        continue;
      }
      const bridged: KernelFactory = async (options) => {
        const kernel = await factory({ ...options, sendMessage: interrupts.wrapSend(options.id, options.sendMessage) });
        // The worker exists now and cannot have sent its hello yet: it sends it when
        // Python first imports litebridge, long after Pyodide has booted.
        const worker = workerOf(kernel);
        if (worker === null) {
          console.error(
            `litebridge: could not find the Worker of kernel ${kernel.id} (@jupyterlite/pyodide-kernel's PyodideKernel._worker): its Python will be told why when it imports litebridge`
          );
        }
        if (!kernel.isDisposed) {
          interrupts.attach(kernel, worker);
          kernel.disposed.connect(() => {
            interrupts.detach(kernel.id);
          });
        }
        const stopWatching = watchKernelBoot(kernel, worker);
        kernel.disposed.connect(stopWatching);
        if (worker !== null && !kernel.isDisposed) {
          const id = kernel.id;
          const bridge = manager.attach(id, worker);
          kernel.disposed.connect(() => {
            manager.detach(id, bridge);
          });
        }
        return kernel;
      };
      wrapped.add(bridged);
      kernelspecs.factories.set(name, bridged);
    }
  };
  wrapAll();
  kernelspecs.changed.connect(wrapAll);
}

/** The id of the kernel of the app shell's current widget (notebook or console), if any. */
function currentKernelId(app: JupyterFrontEnd): string | null {
  const widget = app.shell.currentWidget as unknown as {
    sessionContext?: { session?: { kernel?: { id?: unknown } | null } | null };
  } | null;
  const id = widget?.sessionContext?.session?.kernel?.id;
  return typeof id === 'string' ? id : null;
}

/**
 * The litebridge plugin: fixes `Atomics.waitAsync` for the Pyodide kernel's coincident
 * transport, attaches a bridge to every kernel the page starts, makes the kernel client's
 * `interrupt()` (the Stop button) signal a running cell (`interrupt.ts`), and sets
 * `window.litebridge`.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'litebridge: calls between the Pyodide kernel and this page.',
  autoStart: true,
  requires: [IKernelSpecs],
  optional: [IKernelClient],
  activate: (app: JupyterFrontEnd, kernelspecs: IKernelSpecs, kernelClient: IKernelClient | null): void => {
    installWaitAsyncFix();
    const manager = new BridgeManager();
    activeManager = manager;
    manager.currentKernelId = () => currentKernelId(app);
    const interrupts = new KernelInterrupts();
    interrupts.wrapClient(kernelClient);
    wrapFactories(kernelspecs, manager, interrupts);
    const api: WindowApi = {
      version: manager.version,
      PythonError: manager.PythonError,
      BridgeError: manager.BridgeError,
      register: (obj) => manager.register(obj),
      kernel: (id, options) => manager.kernel(id, options),
      kernels: () => manager.kernels(),
      app
    };
    window.litebridge = Object.freeze(api);
  }
};

export default [plugin, isolationPlugin, embedFramePlugin];
