/**
 * The embed frame: the litebridge labextension's side of `embed()`, active only in a page of
 * the site opened in an iframe with `?litebridge-embed=1` (the host's `embed.js` does that).
 *
 * It serves exactly one host window, its `parent`, and only if the host's origin is allowed
 * (its own origin, or one listed in `jupyter-config-data.litebridge.embedOrigins`); messages
 * from any other window or origin are dropped and logged. It runs the host's executes in the
 * kernel of the page's console, answers its calls through the page's litebridge bridge, and
 * forwards Python's calls of host handlers to the host.
 *
 * @packageDocumentation
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { Kernel, KernelMessage } from '@jupyterlab/services';

import type { KernelBridge } from '../bridge';
import type { PageApi } from '../manager';
import type {
  BootStage,
  EmbedWireError,
  ExecuteResult,
  FrameMessage,
  HostMessage,
  HostReplyMessage
} from './messages';
import { CONFIG_KEY, DEFAULT_BOOT_TIMEOUT_MS, EMBED_QUERY, EMBED_TAG, EMBED_VERSION, errorToEmbedWire, isEmbedMessage } from './messages';
import type { OriginPolicy } from './origins';
import { isAllowedOrigin, readOriginPolicy } from './origins';
import { OutputCollector, exceptionName } from './outputs';

/** The plugin id. */
export const EMBED_FRAME_PLUGIN_ID = 'litebridge:embed-frame';

/** Milliseconds between two looks for the console's session while the app starts. */
const POLL_MS = 50;

/** The part of a console panel's `ISessionContext` the frame uses. */
interface SessionContextLike {
  readonly ready: Promise<void>;
  readonly session: { readonly kernel: Kernel.IKernelConnection | null } | null;
}

/** Distributive `Omit`: drop the tag from each member of a union. */
type Untagged<T> = T extends unknown ? Omit<T, typeof EMBED_TAG> : never;

/** Whether this page was opened by `embed()`: in an iframe, with the embed query parameter. */
export function isEmbedPage(win: Window): boolean {
  return win.parent !== win && new URLSearchParams(win.location.search).get(EMBED_QUERY) === String(EMBED_VERSION);
}

/** `jupyter-config-data.litebridge` of this page (JupyterLite merges `jupyter-lite.json` into it). */
function siteSettings(doc: Document): unknown {
  const text = doc.getElementById('jupyter-config-data')?.textContent ?? '';
  try {
    const data = JSON.parse(text) as Record<string, unknown>;
    const value = data[CONFIG_KEY];
    // PageConfig stores non-string values as JSON text
    return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Serves one host window from inside the iframe. */
export class EmbedFrame {
  private readonly app: JupyterFrontEnd;
  private readonly win: Window;
  private readonly policy: OriginPolicy;
  /** The host's origin, pinned by its first accepted `connect`. */
  private hostOrigin: string | null = null;
  private readonly refusedOrigins = new Set<string>();
  private booting: Promise<void> | null = null;
  private kernel: Kernel.IKernelConnection | null = null;
  private bridge: KernelBridge | null = null;
  private nextHostCallId = 1;
  private readonly hostCalls = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  private readonly hostHandlerNames = new Set<string>();
  /** The executes, chained: each is sent to the kernel once the one before it is done. */
  private executeQueue: Promise<void> = Promise.resolve();
  /** Bumped by an interrupt and a restart: an execute queued before it is aborted, not run. */
  private epoch = 0;

  /**
   * @param app - The JupyterLite app of this page.
   * @param win - This page's window (its `parent` is the host).
   */
  constructor(app: JupyterFrontEnd, win: Window) {
    this.app = app;
    this.win = win;
    const { policy, problems } = readOriginPolicy(siteSettings(win.document), win.location.origin);
    this.policy = policy;
    for (const problem of problems) {
      console.error(`litebridge embed: jupyter-config-data.${CONFIG_KEY}.${problem}`);
    }
  }

  /** Start listening for the host's messages. */
  listen(): void {
    this.win.addEventListener('message', (event: MessageEvent<unknown>) => {
      this.onMessage(event);
    });
  }

  private onMessage(event: MessageEvent<unknown>): void {
    if (!isEmbedMessage(event.data)) {
      return;
    }
    if (event.source !== this.win.parent) {
      this.refuse(event.origin, 'it does not come from the window that embeds this page');
      return;
    }
    if (!isAllowedOrigin(this.policy, event.origin)) {
      this.refuse(
        event.origin,
        `the origin is not allowed: add it to jupyter-config-data.${CONFIG_KEY}.embedOrigins in this site's jupyter-lite.json`
      );
      return;
    }
    if (this.hostOrigin !== null && event.origin !== this.hostOrigin) {
      this.refuse(event.origin, `this frame already serves ${this.hostOrigin}`);
      return;
    }
    const message = event.data as unknown as HostMessage;
    if (message.kind === 'connect') {
      this.hostOrigin = event.origin;
      this.post({ kind: 'accepted' });
      this.booting ??= this.boot();
      return;
    }
    if (this.hostOrigin === null) {
      this.refuse(event.origin, 'no connect came first');
      return;
    }
    this.serve(message);
  }

  /** Log a dropped message (once per origin and reason: the host retries its connect). */
  private refuse(origin: string, why: string): void {
    const key = `${origin} ${why}`;
    if (!this.refusedOrigins.has(key)) {
      this.refusedOrigins.add(key);
      console.warn(`litebridge embed: dropped a message from ${origin || 'an unknown origin'}: ${why}`);
    }
  }

  private post(message: Untagged<FrameMessage>): void {
    if (this.hostOrigin === null) {
      return;
    }
    try {
      this.win.parent.postMessage({ ...message, [EMBED_TAG]: EMBED_VERSION }, this.hostOrigin);
    } catch (error) {
      // a value that cannot be cloned: answer the request with the reason instead
      const id = (message as { id?: unknown }).id;
      if (typeof id === 'number' && message.kind === 'reply') {
        this.win.parent.postMessage(
          { [EMBED_TAG]: EMBED_VERSION, kind: 'reply', id, ok: false, error: errorToEmbedWire(error) },
          this.hostOrigin
        );
      } else {
        console.error('litebridge embed: could not send to the host', error);
      }
    }
  }

  private stage(stage: BootStage, extra: { transport?: KernelBridge['transport']; kernelId?: string } = {}): void {
    this.post({ kind: 'stage', stage, ...extra });
  }

  /** Boot: wait for the console's kernel, import litebridge in it, connect its bridge. */
  private async boot(): Promise<void> {
    try {
      await this.app.started;
      this.stage('app');
      await this.connectKernel();
    } catch (error) {
      this.post({ kind: 'bootFailed', error: errorToEmbedWire(error) });
    }
  }

  /** Find the kernel, make it import litebridge, and report `ready` with its transport. */
  private async connectKernel(): Promise<void> {
    const context = await this.sessionContext();
    this.stage('kernel');
    await context.ready;
    const kernel = context.session?.kernel ?? null;
    if (kernel === null) {
      throw new Error('the console of the embed page has no kernel');
    }
    await kernel.info;
    this.kernel = kernel;
    this.stage('import');
    const future = kernel.requestExecute({ code: 'import litebridge', silent: true, store_history: false, allow_stdin: false });
    const reply = await future.done;
    if (reply.content.status !== 'ok') {
      throw new Error(`import litebridge failed in the embedded kernel (${reply.content.status})`);
    }
    this.stage('bridge');
    const api = this.pageApi();
    this.bridge = await api.kernel(kernel.id, { timeoutMs: DEFAULT_BOOT_TIMEOUT_MS });
    this.stage('ready', { transport: this.bridge.transport, kernelId: kernel.id });
  }

  private pageApi(): PageApi {
    const api = (this.win as Window & { litebridge?: PageApi }).litebridge;
    if (api === undefined) {
      throw new Error('window.litebridge is missing: the litebridge plugin did not start in the embed page');
    }
    return api;
  }

  /** The session context of the page's console (the repl app shows one), once it exists. */
  private async sessionContext(): Promise<SessionContextLike> {
    for (;;) {
      const found = this.findSessionContext();
      if (found !== null) {
        return found;
      }
      await sleep(POLL_MS);
    }
  }

  private findSessionContext(): SessionContextLike | null {
    const candidates: unknown[] = [this.app.shell.currentWidget];
    for (const widget of this.app.shell.widgets('main')) {
      candidates.push(widget);
    }
    for (const widget of candidates) {
      const context = (widget as { sessionContext?: SessionContextLike } | null)?.sessionContext;
      if (context?.session?.kernel) {
        return context;
      }
    }
    return null;
  }

  private serve(message: HostMessage): void {
    switch (message.kind) {
      case 'execute':
        this.enqueueExecute(message.id, message.code);
        break;
      case 'call':
        void this.answer(message.id, () => this.connected().invoke(message.method, message.args, { timeoutMs: message.timeoutMs }));
        break;
      case 'register': {
        // window.litebridge is set when the main plugin activates, before the app starts
        const names = message.names;
        void this.app.started.then(() => {
          this.registerHostHandlers(names);
        });
        break;
      }
      case 'interrupt':
        // as the app's interrupt does with the kernel's queue: the executes waiting are dropped
        this.epoch += 1;
        void this.answer(message.id, async () => {
          await this.requireKernel().interrupt();
          return null;
        });
        break;
      case 'restart':
        void this.answer(message.id, async () => {
          await this.restart();
          return { transport: this.connected().transport };
        });
        break;
      case 'hostReply':
        this.settleHostCall(message);
        break;
      case 'connect':
        break;
    }
  }

  private requireKernel(): Kernel.IKernelConnection {
    if (this.kernel === null) {
      throw new Error('the embedded kernel is not ready yet');
    }
    return this.kernel;
  }

  private connected(): KernelBridge {
    if (this.bridge === null) {
      throw new Error('the embedded kernel is not ready yet');
    }
    return this.bridge;
  }

  private async answer(id: number, run: () => Promise<unknown>): Promise<void> {
    try {
      const value = await run();
      this.post({ kind: 'reply', id, ok: true, value });
    } catch (error) {
      this.post({ kind: 'reply', id, ok: false, error: errorToEmbedWire(error) });
    }
  }

  /**
   * Queue one execute. They go to the kernel one at a time, each once the one before it is done,
   * never several at once: JupyterLite 0.8's kernel client drops every `execute_request` waiting
   * for the kernel, without a reply, when a cell ends with an error (whatever its
   * `stop_on_error`), so an execute queued there behind one that raised would never be
   * answered. An interrupt or a restart aborts the executes still queued here.
   */
  private enqueueExecute(id: number, code: string): void {
    const epoch = this.epoch;
    this.executeQueue = this.executeQueue.then(() => {
      if (epoch !== this.epoch) {
        this.post({ kind: 'executed', id, result: { status: 'aborted', executionCount: null, outputs: [], error: null } });
        return;
      }
      return this.execute(id, code);
    });
  }

  /**
   * Run one execute: outputs are the iopub messages whose parent is this request; done when
   * both its `execute_reply` and its `status: idle` have arrived (`future.done`). Never rejects.
   */
  private async execute(id: number, code: string): Promise<void> {
    const collector = new OutputCollector();
    let result: ExecuteResult;
    try {
      const future = this.requireKernel().requestExecute({
        code,
        silent: false,
        store_history: true,
        allow_stdin: false,
        stop_on_error: false
      });
      future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
        const output = collector.add(msg);
        if (output !== null) {
          this.post({ kind: 'output', id, output });
        }
      };
      const reply = await future.done;
      const content = reply.content;
      const executionCount = 'execution_count' in content && typeof content.execution_count === 'number' ? content.execution_count : null;
      if (content.status === 'ok') {
        result = { status: 'ok', executionCount, outputs: collector.outputs, error: null };
      } else if (content.status === 'error') {
        // the last error output, as a notebook shows it, else the reply's
        const { ename, evalue, traceback } = collector.lastError ?? content;
        const error = { ename: exceptionName(ename), evalue, traceback };
        result = { status: 'error', executionCount, outputs: collector.outputs, error };
      } else {
        result = { status: 'aborted', executionCount, outputs: collector.outputs, error: null };
      }
    } catch {
      // the future was disposed before its reply: the kernel restarted or went away
      result = { status: 'aborted', executionCount: null, outputs: collector.outputs, error: null };
    }
    this.post({ kind: 'executed', id, result });
  }

  private async restart(): Promise<void> {
    const kernel = this.requireKernel();
    this.epoch += 1;
    this.bridge = null;
    await kernel.restart();
    await this.connectKernel();
  }

  /** Register one forwarding page handler per host handler name (page-wide: this page has one kernel). */
  private registerHostHandlers(names: readonly string[]): void {
    const forwards: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const name of names) {
      if (typeof name !== 'string' || this.hostHandlerNames.has(name)) {
        continue;
      }
      this.hostHandlerNames.add(name);
      forwards[name] = (...args: unknown[]) => this.callHost(name, args);
    }
    this.pageApi().register(forwards);
  }

  private callHost(method: string, args: unknown[]): Promise<unknown> {
    const id = this.nextHostCallId++;
    return new Promise<unknown>((resolve, reject) => {
      this.hostCalls.set(id, { resolve, reject });
      try {
        this.win.parent.postMessage({ [EMBED_TAG]: EMBED_VERSION, kind: 'hostCall', id, method, args }, this.hostOrigin ?? '');
      } catch (error) {
        this.hostCalls.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private settleHostCall(message: HostReplyMessage): void {
    const pending = this.hostCalls.get(message.id);
    if (pending === undefined) {
      return;
    }
    this.hostCalls.delete(message.id);
    if (message.ok) {
      pending.resolve(message.value);
    } else {
      pending.reject(hostError(message.error));
    }
  }
}

/** The Error a host handler threw, rebuilt so that Python's `JSError` shows its name and message. */
function hostError(wire: EmbedWireError | undefined): Error {
  const error = new Error(wire?.message ?? 'the host handler failed');
  error.name = wire?.name ?? 'Error';
  error.stack = wire?.stack ?? '';
  return error;
}

/** The plugin: in an embed page, serve the host window; elsewhere, do nothing. */
export const embedFramePlugin: JupyterFrontEndPlugin<void> = {
  id: EMBED_FRAME_PLUGIN_ID,
  description: 'litebridge: serve the page that embeds this one (embed.js), if it is allowed.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    if (isEmbedPage(window)) {
      new EmbedFrame(app, window).listen();
    }
  }
};
