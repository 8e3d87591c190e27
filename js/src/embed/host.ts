/**
 * `embed.js`: run code in, and call, a litebridge kernel living in an iframe of a static site.
 *
 * ```js
 * import { embed } from "https://example.org/site/litebridge/embed.js";
 * const kernel = await embed({ container: element });
 * const r = await kernel.execute("print('hi')\n6*7");
 * ```
 *
 * An ES module with no dependencies loaded from elsewhere (`js/scripts/build-embed.mjs`
 * bundles it). `docs/embed.md` is the guide.
 *
 * @packageDocumentation
 */
import type { IOutput } from '@jupyterlab/nbformat';

import { encodeValue } from '../codec';
import { BridgeError, PythonError } from '../errors';
import type { ErrorCode, Transport } from '../protocol';
import { ErrorCode as Codes } from '../protocol';
import { HandlerRegistry } from '../registry';
import type { BootStage, EmbedWireError, ExecuteResult, FrameMessage, HostMessage } from './messages';
import {
  CONFIG_KEY,
  CONNECT_INTERVAL_MS,
  DEFAULT_BOOT_TIMEOUT_MS,
  DEFAULT_EMBED_TIMEOUT_MS,
  EMBED_QUERY,
  EMBED_TAG,
  EMBED_VERSION,
  FRAME_PATH,
  errorToEmbedWire,
  isEmbedMessage
} from './messages';

export { BridgeError, PythonError };
export type { ExecuteResult, IOutput, Transport };

/** Options of {@link embed}. */
export interface EmbedOptions {
  /** The site's root URL (ending in `/`); default: the site this `embed.js` was loaded from. */
  site?: string | URL;
  /** Show the site's interactive console in this element; omitted: the iframe is hidden. */
  container?: HTMLElement;
  /** Boot timeout in milliseconds (default 120000): `embed()` rejects after it. */
  timeoutMs?: number;
}

/** Options of {@link EmbeddedKernel.execute}. */
export interface ExecuteOptions {
  /** Called with each output (an nbformat v4 output dict) as it arrives, in order. */
  onOutput?: (output: IOutput) => void;
  /**
   * Longest wait in milliseconds (default 60000) from the request, including time queued
   * behind earlier executes. On expiry the promise rejects with a `BridgeError` of code
   * `timeout` and the kernel is interrupted; later outputs of that execute are dropped.
   */
  timeoutMs?: number;
}

/** Options of {@link EmbeddedKernel.invoke}. */
export interface CallOptions {
  /** Longest wait for the answer in milliseconds (default 60000). */
  timeoutMs?: number;
}

type Untagged<T> = T extends unknown ? Omit<T, typeof EMBED_TAG> : never;

interface PendingExecute {
  code: string;
  onOutput: ((output: IOutput) => void) | undefined;
  outputs: IOutput[];
  resolve: (result: ExecuteResult) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface PendingReply {
  what: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The default site: the root of the site `embed.js` was loaded from. */
export function defaultSite(moduleUrl: string): URL {
  const url = new URL(moduleUrl);
  for (const suffix of ['litebridge/embed.js', 'extensions/litebridge/static/embed.js']) {
    if (url.pathname.endsWith(`/${suffix}`)) {
      return new URL(url.pathname.slice(0, -suffix.length), url);
    }
  }
  return new URL('../', url);
}

function rebuildError(wire: EmbedWireError | undefined, fallback: string): Error {
  if (wire === undefined) {
    return new Error(fallback);
  }
  if (wire.name === 'PythonError') {
    return new PythonError(wire.type ?? 'Exception', wire.message, wire.traceback ?? '');
  }
  if (wire.name === 'BridgeError' && wire.code !== undefined) {
    return new BridgeError(wire.code as ErrorCode, wire.message, wire.type, wire.traceback);
  }
  const error = wire.name === 'TypeError' ? new TypeError(wire.message) : new Error(wire.message);
  error.name = wire.name;
  return error;
}

function shorten(code: string): string {
  const line = code.trim().split('\n')[0] ?? '';
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 57)}...` : line);
}

/**
 * A kernel in an iframe of the site. Get one from {@link embed}.
 *
 * Executes queue in order in the kernel; each one's outputs are the iopub messages whose
 * parent is its own request, so they never mix with another's.
 */
export class EmbeddedKernel {
  /** The iframe the kernel lives in. */
  readonly iframe: HTMLIFrameElement;
  /** The site's root URL. */
  readonly site: URL;
  private readonly origin: string;
  private _transport: Transport = 'async';
  private _disposed = false;
  private stage: BootStage | 'connecting' = 'connecting';
  private readonly startedAt = performance.now();
  private readonly _bootTimesMs: Partial<Record<BootStage, number>> = {};
  private nextId = 1;
  private readonly executes = new Map<number, PendingExecute>();
  private readonly replies = new Map<number, PendingReply>();
  private readonly handlers = new HandlerRegistry();
  private boot: { resolve: () => void; reject: (error: unknown) => void } | null = null;

  /** @internal Use {@link embed}. */
  constructor(iframe: HTMLIFrameElement, site: URL) {
    this.iframe = iframe;
    this.site = site;
    this.origin = site.origin;
    listen(this);
  }

  /** What Python's `page.call_sync` uses in this kernel: `sab`, `jspi` or `async` (as `litebridge.transport`). */
  get transport(): Transport {
    return this._transport;
  }

  /**
   * When each boot stage was reached, in milliseconds after `embed()` was called: `app` (the
   * frame's app started), `kernel` (its kernel exists), `import` (booted; importing
   * litebridge), `bridge`, `ready`. For diagnostics and benchmarks.
   */
  get bootTimesMs(): Readonly<Partial<Record<BootStage, number>>> {
    return { ...this._bootTimesMs };
  }

  /** True after {@link EmbeddedKernel.dispose}. */
  get disposed(): boolean {
    return this._disposed;
  }

  /** @internal Connect and wait for the kernel (used by {@link embed}). */
  async start(timeoutMs: number): Promise<void> {
    const booted = new Promise<void>((resolve, reject) => {
      this.boot = { resolve, reject };
    });
    const connect = setInterval(() => {
      if (this.stage === 'connecting') {
        this.post({ kind: 'connect' });
      }
    }, CONNECT_INTERVAL_MS);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(this.bootTimeoutError(timeoutMs));
      }, timeoutMs);
    });
    try {
      await Promise.race([booted, timeout]);
    } finally {
      clearInterval(connect);
      clearTimeout(timer);
      this.boot = null;
    }
  }

  private bootTimeoutError(timeoutMs: number): BridgeError {
    const page = new URL(FRAME_PATH, this.site).href;
    if (this.stage === 'connecting') {
      return new BridgeError(
        Codes.timeout,
        `no answer from the litebridge embed page ${page} within ${timeoutMs} ms: is it a site built with ` +
          `litebridge, and does it allow this page's origin ${window.location.origin} ` +
          `(jupyter-config-data.${CONFIG_KEY}.embedOrigins in its jupyter-lite.json)?`
      );
    }
    return new BridgeError(
      Codes.timeout,
      `the embedded kernel of ${this.site.href} was not ready within ${timeoutMs} ms (last boot stage: ${this.stage})`
    );
  }

  /**
   * Run code in the kernel, as a notebook cell.
   *
   * @param code - Python source.
   * @param options - `onOutput` (called with each output) and `timeoutMs` (default 60000).
   * @returns `{status, executionCount, outputs, error}`; `status` is `ok`, `error` (the code
   *   raised: `error` holds `ename`, `evalue`, `traceback`) or `aborted` (the kernel was
   *   restarted before it finished, or interrupted while it was still queued).
   * @throws (rejects) `BridgeError` of code `timeout` after `timeoutMs` (the kernel is then
   *   interrupted), of code `closed` if the kernel is disposed first; `TypeError` if `code` is
   *   not a string.
   */
  execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    if (typeof code !== 'string') {
      return Promise.reject(new TypeError(`execute() takes the code as a string, got ${typeof code}`));
    }
    const closed = this.closedError('execute');
    if (closed !== null) {
      return Promise.reject(closed);
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_EMBED_TIMEOUT_MS;
    const id = this.nextId++;
    return new Promise<ExecuteResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.executes.delete(id);
        const error = new BridgeError(Codes.timeout, `execute ${shorten(code)} did not finish within ${timeoutMs} ms: the kernel was interrupted`);
        // Reject once the interrupt is delivered: the frame aborts the executes queued when the
        // interrupt comes, so an execute the caller sends next must not reach the frame before it.
        void this.interrupt()
          .catch(() => undefined)
          .finally(() => {
            reject(error);
          });
      }, timeoutMs);
      this.executes.set(id, { code, onOutput: options.onOutput, outputs: [], resolve, reject, timer });
      this.post({ kind: 'execute', id, code });
    });
  }

  /**
   * Call a method the kernel exposed with `page.expose`.
   *
   * @param method - The method name, e.g. `"multiply"` or `"example.multiply"`.
   * @param args - Its arguments (JSON values and binary, as for `k.call` in `docs/usage.md`).
   * @returns A promise of its result.
   * @throws (rejects) `PythonError` if it raised; `BridgeError` (`unknown_method`, `timeout`,
   *   `closed`...); `TypeError` if an argument cannot be sent.
   */
  call(method: string, ...args: unknown[]): Promise<unknown> {
    return this.invoke(method, args);
  }

  /**
   * {@link EmbeddedKernel.call} with options.
   *
   * @param method - The method name.
   * @param args - Its arguments.
   * @param options - `timeoutMs` (default 60000).
   */
  invoke(method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_EMBED_TIMEOUT_MS;
    try {
      // the rules of the bridge, checked here so that the error names the argument
      encodeValue(args, 'args');
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new TypeError(String(error)));
    }
    return this.request(`call of ${JSON.stringify(method)}`, (id) => ({ kind: 'call', id, method, args, timeoutMs }));
  }

  /**
   * Register host handlers: Python's `page.call(name, ...)` and `page.call_sync(name, ...)`
   * in this kernel reach the own enumerable function properties of `obj`, called with
   * `this` = `obj`; they may return promises. Later registrations replace earlier ones of
   * the same name; they stay across restarts.
   *
   * @param obj - An object of functions.
   * @returns The names registered.
   * @throws TypeError if `obj` is not an object.
   */
  register(obj: object): string[] {
    const names = this.handlers.register(obj);
    this.postHandlerNames();
    return names;
  }

  /**
   * Interrupt the running execute (`KeyboardInterrupt` in Python where the kernel supports it);
   * the executes queued behind it end with status `aborted`, those sent after it run. Resolves
   * once the kernel was signalled, not when the execute has ended.
   *
   * @throws (rejects) `BridgeError` `closed` after dispose; the frame's error if it failed.
   */
  async interrupt(): Promise<void> {
    await this.request('interrupt', (id) => ({ kind: 'interrupt', id }));
  }

  /**
   * Restart the kernel: a fresh Python process. Executes still running or queued end with
   * status `aborted`; pending calls reject with a `BridgeError` of code `closed`. Host
   * handlers stay registered; `transport` is updated.
   */
  async restart(): Promise<void> {
    const value = (await this.request('restart', (id) => ({ kind: 'restart', id }), DEFAULT_BOOT_TIMEOUT_MS)) as { transport?: Transport } | null;
    if (value?.transport !== undefined) {
      this._transport = value.transport;
    }
  }

  /** Remove the iframe (ending its kernel) and reject everything pending with code `closed`. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    LIVE.delete(this);
    this.iframe.remove();
    const error = (what: string) => new BridgeError(Codes.closed, `the embedded kernel was disposed during ${what}`);
    for (const [id, pending] of this.executes) {
      clearTimeout(pending.timer);
      this.executes.delete(id);
      pending.reject(error(`execute ${shorten(pending.code)}`));
    }
    for (const [id, pending] of this.replies) {
      this.replies.delete(id);
      pending.reject(error(pending.what));
    }
    this.boot?.reject(error('boot'));
  }

  private closedError(what: string): BridgeError | null {
    return this._disposed ? new BridgeError(Codes.closed, `the embedded kernel was disposed: cannot ${what}`) : null;
  }

  private request(what: string, build: (id: number) => Untagged<HostMessage>, timeoutMs?: number): Promise<unknown> {
    const closed = this.closedError(what);
    if (closed !== null) {
      return Promise.reject(closed);
    }
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.replies.set(id, { what, resolve: settle(resolve), reject: settle(reject) });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.replies.delete(id);
          reject(new BridgeError(Codes.timeout, `${what} got no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      try {
        this.post(build(id));
      } catch (error) {
        this.replies.delete(id);
        clearTimeout(timer);
        // a DataCloneError, possibly of the iframe's realm (so not `instanceof` this realm's Error)
        const message: unknown = error !== null && typeof error === 'object' ? (error as { message?: unknown }).message : error;
        reject(new TypeError(`cannot send ${what}: ${String(message)}`));
      }
    });
  }

  /** Post to the frame, to the site's origin only. Throws `DataCloneError` for values that cannot be sent. */
  private post(message: Untagged<HostMessage>): void {
    const target = this.iframe.contentWindow;
    if (target !== null) {
      target.postMessage({ ...message, [EMBED_TAG]: EMBED_VERSION }, this.origin);
    }
  }

  private postHandlerNames(): void {
    if (this.stage !== 'connecting' && !this._disposed) {
      this.post({ kind: 'register', names: this.handlers.names() });
    }
  }

  /** @internal Take one message from this kernel's iframe (see {@link onWindowMessage}). */
  handle(message: FrameMessage): void {
    switch (message.kind) {
      case 'accepted':
        if (this.stage === 'connecting') {
          this.stage = 'app';
          this.postHandlerNames();
        }
        break;
      case 'stage':
        this.stage = message.stage;
        this._bootTimesMs[message.stage] ??= performance.now() - this.startedAt;
        if (message.stage === 'ready') {
          this._transport = message.transport ?? 'async';
          this.boot?.resolve();
        }
        break;
      case 'bootFailed':
        this.boot?.reject(rebuildError(message.error, 'the embedded kernel failed to boot'));
        break;
      case 'output': {
        const pending = this.executes.get(message.id);
        if (pending !== undefined) {
          pending.outputs.push(message.output);
          try {
            pending.onOutput?.(message.output);
          } catch (error) {
            console.error('litebridge embed: onOutput threw', error);
          }
        }
        break;
      }
      case 'executed': {
        const pending = this.executes.get(message.id);
        if (pending !== undefined) {
          this.executes.delete(message.id);
          clearTimeout(pending.timer);
          pending.resolve(message.result);
        }
        break;
      }
      case 'reply': {
        const pending = this.replies.get(message.id);
        if (pending !== undefined) {
          this.replies.delete(message.id);
          if (message.ok) {
            pending.resolve(message.value);
          } else {
            pending.reject(rebuildError(message.error, `${pending.what} failed`));
          }
        }
        break;
      }
      case 'hostCall':
        void this.serveHostCall(message.id, message.method, message.args);
        break;
    }
  }

  private async serveHostCall(id: number, method: string, args: unknown[]): Promise<void> {
    let reply: Untagged<HostMessage>;
    try {
      const handler = this.handlers.get(method);
      if (handler === undefined) {
        throw new BridgeError(Codes.unknownMethod, `no host handler named ${JSON.stringify(method)}`);
      }
      const value: unknown = await handler.fn.apply(handler.self, Array.isArray(args) ? args : []);
      reply = { kind: 'hostReply', id, ok: true, value };
    } catch (error) {
      reply = { kind: 'hostReply', id, ok: false, error: errorToEmbedWire(error) };
    }
    try {
      this.post(reply);
    } catch (error) {
      this.post({ kind: 'hostReply', id, ok: false, error: errorToEmbedWire(new TypeError(`the result of host handler ${JSON.stringify(method)} cannot be sent: ${String(error)}`)) });
    }
  }
}

/** The kernels of this page that are not disposed. */
const LIVE = new Set<EmbeddedKernel>();
/** Origins and reasons already logged, so that a chatty sender is logged once. */
const REFUSED = new Set<string>();

function refuse(origin: string, why: string): void {
  const key = `${origin} ${why}`;
  if (!REFUSED.has(key)) {
    REFUSED.add(key);
    console.warn(`litebridge embed: dropped a message from ${origin || 'an unknown origin'}: ${why}`);
  }
}

/**
 * The page's one listener: an embed message is handed to the kernel whose iframe's window sent
 * it, and only if it came from that kernel's site origin; any other is dropped and logged.
 */
function onWindowMessage(event: MessageEvent<unknown>): void {
  if (!isEmbedMessage(event.data)) {
    return;
  }
  for (const kernel of LIVE) {
    if (event.source !== null && event.source === kernel.iframe.contentWindow) {
      if (event.origin !== kernel.site.origin) {
        refuse(event.origin, `the iframe of ${kernel.site.href} now shows a page of another origin`);
        return;
      }
      kernel.handle(event.data as unknown as FrameMessage);
      return;
    }
  }
  refuse(event.origin, 'it does not come from the iframe of an embedded kernel');
}

function listen(kernel: EmbeddedKernel): void {
  // the same listener function is added only once
  window.addEventListener('message', onWindowMessage);
  LIVE.add(kernel);
}

/** Create the iframe of the embed page: hidden, or filling `container`. */
function createIframe(site: URL, container: HTMLElement | undefined): HTMLIFrameElement {
  const iframe = document.createElement('iframe');
  const url = new URL(FRAME_PATH, site);
  url.searchParams.set('kernel', 'python');
  url.searchParams.set('toolbar', container === undefined ? '0' : '1');
  url.searchParams.set(EMBED_QUERY, String(EMBED_VERSION));
  iframe.src = url.href;
  iframe.title = 'litebridge kernel';
  // the kernel gets SharedArrayBuffer (transport sab) when this page and the frame are isolated
  iframe.allow = 'cross-origin-isolated';
  if (container === undefined) {
    iframe.setAttribute('aria-hidden', 'true');
    iframe.tabIndex = -1;
    Object.assign(iframe.style, { position: 'absolute', width: '1px', height: '1px', border: '0', left: '-10000px', top: '0' });
    document.body.appendChild(iframe);
  } else {
    Object.assign(iframe.style, { width: '100%', height: '100%', minHeight: '20em', border: '0' });
    container.appendChild(iframe);
  }
  return iframe;
}

/**
 * Start a kernel of a litebridge site in an iframe and connect to it.
 *
 * @param options - `site` (root URL; default: the site this module was loaded from),
 *   `container` (show the interactive console there; default: a hidden iframe), `timeoutMs`
 *   (boot timeout, default 120000 ms).
 * @returns The kernel, booted, with `litebridge` imported in it.
 * @throws (rejects) `BridgeError` of code `timeout` with what it waited for (the frame never
 *   answered: wrong site or origin not allowed; or the kernel did not boot in time); the iframe
 *   is removed.
 */
export async function embed(options: EmbedOptions = {}): Promise<EmbeddedKernel> {
  const site = options.site === undefined ? defaultSite(import.meta.url) : new URL(String(options.site), window.location.href);
  if (!site.pathname.endsWith('/')) {
    site.pathname += '/';
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) {
    throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  }
  const kernel = new EmbeddedKernel(createIframe(site, options.container), site);
  try {
    await kernel.start(timeoutMs);
  } catch (error) {
    kernel.dispose();
    throw error;
  }
  return kernel;
}
