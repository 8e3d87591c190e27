/**
 * The page API: every kernel's bridge, global handlers, and `window.litebridge`.
 *
 * @packageDocumentation
 */
import type { KernelWorker } from './bridge';
import { KernelBridge, isHello, refuseHello } from './bridge';
import { BridgeError, PythonError } from './errors';
import { DEFAULT_TIMEOUT_MS, ErrorCode } from './protocol';
import { HandlerRegistry } from './registry';
import { VERSION } from './version';

/** Options of {@link BridgeManager.kernel}. */
export interface KernelOptions {
  /** Longest wait for the kernel's hello, in milliseconds; default 30000. */
  timeoutMs?: number;
}

/** The object installed as `window.litebridge`. */
export interface PageApi {
  /** The litebridge JavaScript version. */
  readonly version: string;
  /**
   * Register page handlers for every kernel: the own enumerable function properties of
   * `obj`, called with `this` = `obj`; they may return Promises.
   *
   * @returns The names registered.
   * @throws TypeError if `obj` is not an object.
   */
  register(obj: object): string[];
  /**
   * The bridge of a kernel, once its hello has arrived (after `import litebridge` in it).
   * Without `id`: the kernel of the current notebook or console, else the most recently
   * connected one.
   *
   * @throws (rejects) BridgeError `timeout` if no such kernel connects in `timeoutMs`.
   */
  kernel(id?: string, options?: KernelOptions): Promise<KernelBridge>;
  /** The bridges of every connected kernel, oldest connection first. */
  kernels(): KernelBridge[];
  /** Error class of Python exceptions (`.type`, `.message`, `.traceback`). */
  readonly PythonError: typeof PythonError;
  /** Error class of bridge errors (`.code`). */
  readonly BridgeError: typeof BridgeError;
}

/** Tracks the bridges of the page's kernels and serves the page API. */
export class BridgeManager implements PageApi {
  readonly version = VERSION;
  readonly PythonError = PythonError;
  readonly BridgeError = BridgeError;
  /** Handlers registered with {@link BridgeManager.register}, shared by every kernel. */
  readonly globalHandlers = new HandlerRegistry();
  /** Returns the id of the kernel of the current widget, if any. */
  currentKernelId: () => string | null = () => null;

  private readonly bridges = new Map<string, KernelBridge>();
  /** The message sources (kernel Workers) some bridge listens on. */
  private readonly attachedSources = new WeakSet();
  /** Connected bridges in the order their hellos arrived. */
  private connectedOrder: KernelBridge[] = [];
  private changeWaiters: (() => void)[] = [];

  register(obj: object): string[] {
    return this.globalHandlers.register(obj);
  }

  /**
   * Start tracking a kernel: listen for its hello on `source` (its Worker).
   *
   * @param id - The kernel id.
   * @param source - The kernel's Worker.
   * @returns The kernel's bridge (not connected until the hello arrives).
   */
  attach(id: string, source: KernelWorker): KernelBridge {
    this.detach(id);
    const bridge = new KernelBridge(id, this.globalHandlers, VERSION);
    const listener = (event: MessageEvent<unknown>): void => {
      if (!isHello(event.data)) {
        return;
      }
      bridge.attach(event.data, source);
      if (bridge.connected) {
        this.connectedOrder = [...this.connectedOrder.filter((b) => b !== bridge), bridge];
        this.changed();
      }
    };
    source.addEventListener('message', listener);
    this.attachedSources.add(source);
    this.bridges.set(id, bridge);
    this.detachers.set(bridge, () => {
      source.removeEventListener('message', listener);
      this.attachedSources.delete(source);
    });
    return bridge;
  }

  /**
   * A message from some worker of this page (see `workerHook.ts`): a hello from a worker no
   * bridge listens on is refused with the reason, so that its Python fails fast and says why.
   *
   * @param worker - The worker that posted it.
   * @param event - The message event.
   */
  onWorkerMessage(worker: object, event: MessageEvent<unknown>): void {
    if (!isHello(event.data) || this.attachedSources.has(worker)) {
      return;
    }
    refuseHello(
      event.data,
      `the litebridge labextension (page ${VERSION}) did not attach to this worker: it attaches to the kernels that JupyterLite starts through IKernelSpecs, and finds their Worker in @jupyterlite/pyodide-kernel's PyodideKernel (written for 0.8); this worker is not one of them, or that kernel package changed`
    );
  }

  /**
   * Stop tracking a kernel (it was disposed): close its bridge, rejecting pending calls
   * with code `closed`.
   *
   * @param id - The kernel id.
   * @param only - If given, detach only if this is still the kernel's bridge (a restarted
   *   kernel may reuse the id).
   */
  detach(id: string, only?: KernelBridge): void {
    const bridge = this.bridges.get(id);
    if (bridge === undefined || (only !== undefined && bridge !== only)) {
      only?.close();
      return;
    }
    this.bridges.delete(id);
    this.detachers.get(bridge)?.();
    this.detachers.delete(bridge);
    this.connectedOrder = this.connectedOrder.filter((b) => b !== bridge);
    bridge.close();
    this.changed();
  }

  kernels(): KernelBridge[] {
    return [...this.connectedOrder];
  }

  async kernel(id?: string, options: KernelOptions = {}): Promise<KernelBridge> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.pick(id);
      if (found !== null) {
        return found;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        const what = id === undefined ? 'no kernel connected' : `kernel ${id} did not connect`;
        throw new BridgeError(
          ErrorCode.timeout,
          `${what} to litebridge within ${timeoutMs} ms: run "import litebridge" in the kernel`
        );
      }
      // Re-pick now and then too: the current widget may change while we wait.
      await this.nextChange(Math.min(remaining, 250));
    }
  }

  private readonly detachers = new Map<KernelBridge, () => void>();

  private pick(id: string | undefined): KernelBridge | null {
    if (id !== undefined) {
      const bridge = this.bridges.get(id);
      return bridge?.connected === true ? bridge : null;
    }
    let current: string | null;
    try {
      current = this.currentKernelId();
    } catch {
      current = null;
    }
    if (current !== null) {
      const bridge = this.bridges.get(current);
      if (bridge !== undefined) {
        // The current widget's kernel is bridged: wait for it rather than answer another.
        return bridge.connected ? bridge : null;
      }
    }
    return this.connectedOrder.at(-1) ?? null;
  }

  private changed(): void {
    const waiters = this.changeWaiters;
    this.changeWaiters = [];
    waiters.forEach((wake) => {
      wake();
    });
  }

  private nextChange(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changeWaiters = this.changeWaiters.filter((w) => w !== wake);
        resolve();
      }, timeoutMs);
      this.changeWaiters.push(wake);
    });
  }
}
