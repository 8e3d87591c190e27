/**
 * The kernel's Stop button raises `KeyboardInterrupt` in a running cell (protocol section 11).
 *
 * JupyterLite 0.8 cannot interrupt a running cell (jupyterlite/jupyterlite#459): its kernel
 * client's `interrupt(kernelId)` only drops the queued cells, and
 * `@jupyterlite/pyodide-kernel` 0.8 never registers an interrupt buffer with Pyodide. With
 * COOP/COEP the worker side of litebridge registers one (`pyodide.setInterruptBuffer`) and
 * posts it on the kernel's Worker as `litebridge.interrupt`; this module keeps it per kernel and
 * writes `SIGINT` into it when the kernel client is asked to interrupt a kernel that is running
 * a cell.
 *
 * Internals of JupyterLite it depends on (checked at run time, with one console warning each
 * when missing): the kernel client (`IKernelClient` of `@jupyterlite/services`) has an
 * `interrupt(kernelId)` method, which `KernelConnection.interrupt()` of
 * `@jupyterlab/services` (the Stop button) calls; a kernel handles every shell message through
 * `handleMessage(msg)` (the public `IKernel` interface), awaiting an `execute_request` until
 * its reply is sent; a kernel sends its messages with the `sendMessage` of its factory's options
 * (`IKernel.IOptions`).
 *
 * One more repair of the kernel client's queue: when a kernel sends an `execute_reply` of status
 * `error`, JupyterLite 0.8's kernel client cancels every `execute_request` waiting for the
 * kernel, without any reply to them (their futures never complete), unless the reply's
 * `metadata.cause` is `'interrupt'` (what it sets on the replies it makes up for the cells an
 * interrupt drops). The interrupt has already dropped the cells queued when it came, so a cell
 * sent right after `interrupt()` resolved, which waits behind the interrupted cell, was lost
 * when that cell's `KeyboardInterrupt` reply came. {@link KernelInterrupts.wrapSend} marks
 * that reply `cause: 'interrupt'`, so the client keeps the cells queued after the interrupt.
 *
 * @packageDocumentation
 */

import { INTERRUPT_KIND } from './protocol';

export { INTERRUPT_KIND };

/** The signal number written into the buffer; Pyodide raises `KeyboardInterrupt` for it. */
export const SIGINT = 2;

/** `litebridge.interrupt`, worker -> page, posted on the kernel's `Worker` (structured clone). */
export interface InterruptMessage {
  v: number;
  id: 0;
  kind: typeof INTERRUPT_KIND;
  /** A one-element `Int32Array` over a `SharedArrayBuffer`, registered with Pyodide. */
  buffer: Int32Array;
}

/** Whether `data` is a well-formed {@link InterruptMessage}. */
export function isInterruptMessage(data: unknown): data is InterruptMessage {
  if (data === null || typeof data !== 'object') {
    return false;
  }
  const message = data as Partial<InterruptMessage>;
  return (
    message.kind === INTERRUPT_KIND &&
    message.buffer instanceof Int32Array &&
    message.buffer.length >= 1 &&
    typeof SharedArrayBuffer === 'function' &&
    message.buffer.buffer instanceof SharedArrayBuffer
  );
}

/** The `message` event source of a kernel's Worker. */
export interface WorkerLike {
  addEventListener(type: 'message', listener: (event: MessageEvent<unknown>) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent<unknown>) => void): void;
}

/** What this module uses of a JupyterLite kernel (`IKernel`). */
export interface KernelLike {
  readonly id: string;
  handleMessage(msg: { header: { msg_type: string } }): Promise<void>;
}

/** The part of a kernel message {@link KernelInterrupts.wrapSend} reads (`KernelMessage.IMessage`). */
export interface SentMessageLike {
  header: { msg_type: string };
  content: unknown;
  metadata: Record<string, unknown>;
}

/** The `cause` JupyterLite's kernel client reads in an `execute_reply`'s metadata. */
export const INTERRUPT_CAUSE = 'interrupt';

/** What this module uses of the JupyterLite kernel client (`IKernelClient`). */
export interface KernelClientLike {
  interrupt(kernelId: string): Promise<void>;
}

/** What happened to one interrupt request; for tests and the console. */
export type InterruptOutcome = 'signalled' | 'idle' | 'no-buffer' | 'unknown-kernel';

interface KernelState {
  buffer: Int32Array | null;
  /** `execute_request`s being handled (0 or 1: JupyterLite runs one message at a time). */
  running: number;
  /** SIGINT was written during the cell being handled. */
  signalled: boolean;
  warnedNoBuffer: boolean;
  stop(): void;
}

/**
 * Whether an `execute_reply` content is an error of `KeyboardInterrupt` (pyodide-kernel 0.8 sends
 * the `ename` as `"<class 'KeyboardInterrupt'>"`, IPython as `"KeyboardInterrupt"`).
 */
function isKeyboardInterrupt(content: unknown): boolean {
  if (content === null || typeof content !== 'object') {
    return false;
  }
  const { status, ename } = content as { status?: unknown; ename?: unknown };
  return status === 'error' && typeof ename === 'string' && /\bKeyboardInterrupt\b/.test(ename);
}

/** Marks a wrapped kernel client, so that wrapping twice is a no-op. */
const WRAPPED = Symbol.for('litebridge.interruptWrapped');

/**
 * Interrupt buffers and running cells of every kernel of the page.
 */
export class KernelInterrupts {
  private readonly kernels = new Map<string, KernelState>();
  private readonly warn: (message: string) => void;

  /**
   * @param warn - Where warnings go (default `console.warn`).
   */
  constructor(
    warn: (message: string) => void = (message) => {
      console.warn(message);
    }
  ) {
    this.warn = warn;
  }

  /**
   * Track one kernel: listen on its Worker for the interrupt buffer, and count the cells it
   * runs by wrapping its `handleMessage`. Call right after the kernel is created.
   *
   * @param kernel - The kernel.
   * @param worker - Its Worker, or null if it could not be found (no interrupt then).
   */
  attach(kernel: KernelLike, worker: WorkerLike | null): void {
    this.detach(kernel.id);
    const listener = (event: MessageEvent<unknown>): void => {
      if (isInterruptMessage(event.data)) {
        state.buffer = event.data.buffer;
      }
    };
    const state: KernelState = {
      buffer: null,
      running: 0,
      signalled: false,
      warnedNoBuffer: false,
      stop: () => worker?.removeEventListener('message', listener)
    };
    worker?.addEventListener('message', listener);
    this.kernels.set(kernel.id, state);
    if (typeof kernel.handleMessage !== 'function') {
      this.warn(`litebridge: kernel ${kernel.id} has no handleMessage(): Stop cannot interrupt its cells`);
      return;
    }
    const handle = kernel.handleMessage.bind(kernel);
    kernel.handleMessage = async (msg) => {
      if (msg.header.msg_type !== 'execute_request') {
        return handle(msg);
      }
      state.running += 1;
      try {
        await handle(msg);
        return;
      } finally {
        state.running -= 1;
        state.signalled = false;
        if (state.running === 0 && state.buffer !== null) {
          // A SIGINT that came too late for the cell must not hit the next one.
          Atomics.store(state.buffer, 0, 0);
        }
      }
    };
  }

  /** Forget a kernel (disposed). */
  detach(id: string): void {
    this.kernels.get(id)?.stop();
    this.kernels.delete(id);
  }

  /**
   * Write SIGINT into the kernel's interrupt buffer if it is running a cell.
   *
   * @param id - The kernel id.
   * @returns What was done: `signalled`, or why not.
   */
  interrupt(id: string): InterruptOutcome {
    const state = this.kernels.get(id);
    if (state === undefined) {
      return 'unknown-kernel';
    }
    if (state.running === 0) {
      return 'idle';
    }
    if (state.buffer === null) {
      if (!state.warnedNoBuffer) {
        state.warnedNoBuffer = true;
        this.warn(
          `litebridge: kernel ${id} has no interrupt buffer, so Stop only drops queued cells ` +
            '(the page is not cross-origin isolated, or the kernel did not load litebridge)'
        );
      }
      return 'no-buffer';
    }
    Atomics.store(state.buffer, 0, SIGINT);
    Atomics.notify(state.buffer, 0);
    state.signalled = true;
    return 'signalled';
  }

  /**
   * Wrap the `sendMessage` a kernel factory is given, so that the `execute_reply` of a cell
   * this module signalled, which ended with `KeyboardInterrupt`, carries
   * `metadata.cause = 'interrupt'` (see the module notes: the kernel client then keeps the
   * cells sent after the interrupt instead of dropping them without a reply). Every other
   * message is passed on unchanged.
   *
   * @param kernelId - The id the kernel is created with (`IKernel.IOptions.id`).
   * @param send - The factory's `sendMessage`.
   * @returns The `sendMessage` to give the factory instead.
   */
  wrapSend<M extends SentMessageLike>(kernelId: string, send: (msg: M) => void): (msg: M) => void {
    return (msg: M): void => {
      const state = this.kernels.get(kernelId);
      if (msg.header.msg_type === 'execute_reply' && state?.signalled === true && isKeyboardInterrupt(msg.content)) {
        send({ ...msg, metadata: { ...msg.metadata, cause: INTERRUPT_CAUSE } });
        return;
      }
      send(msg);
    };
  }

  /**
   * Wrap the kernel client's `interrupt(kernelId)` so that it signals the kernel first, then
   * does what it did (drop the queued cells).
   *
   * @param client - The JupyterLite kernel client (`IKernelClient`), or null.
   * @returns True if wrapped (now or before); false, with a console warning, if the client has
   *   no `interrupt` method.
   */
  wrapClient(client: KernelClientLike | null): boolean {
    const target: (KernelClientLike & { [WRAPPED]?: true }) | null = client;
    if (target === null || typeof target.interrupt !== 'function') {
      this.warn('litebridge: the JupyterLite kernel client has no interrupt(): Stop cannot interrupt running cells');
      return false;
    }
    if (target[WRAPPED] === true) {
      return true;
    }
    const original = target.interrupt.bind(target);
    target.interrupt = async (kernelId: string): Promise<void> => {
      this.interrupt(kernelId);
      return original(kernelId);
    };
    target[WRAPPED] = true;
    return true;
  }
}
