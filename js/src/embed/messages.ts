/**
 * The embed protocol: what the host page (`embed.js`) and the embed frame (the litebridge
 * labextension inside the iframe) post to each other with `window.postMessage`.
 *
 * Types and constants only, shared by `host.ts` and `frame.ts`; `docs/embed.md` describes it.
 * Every message is a structured-clone object tagged with {@link EMBED_TAG} and a `kind`;
 * requests carry an `id` chosen by their sender, answers carry the `id` they answer.
 *
 * @packageDocumentation
 */
import type { IOutput } from '@jupyterlab/nbformat';

import type { Transport } from '../protocol';

/** The property every embed message carries, with value {@link EMBED_VERSION}. */
export const EMBED_TAG = 'litebridgeEmbed';

/** Version of this message set; a receiver drops messages of another version. */
export const EMBED_VERSION = 1;

/** The query parameter that puts a page of the site into embed mode (value: {@link EMBED_VERSION}). */
export const EMBED_QUERY = 'litebridge-embed';

/** The page of the site the host loads in its iframe, relative to the site root. */
export const FRAME_PATH = 'repl/index.html';

/** Milliseconds between two `connect` messages of the host until the frame answers. */
export const CONNECT_INTERVAL_MS = 100;

/** Default boot timeout of `embed()`, in milliseconds. */
export const DEFAULT_BOOT_TIMEOUT_MS = 120000;

/** Default timeout of `execute()` and `call()`, in milliseconds. */
export const DEFAULT_EMBED_TIMEOUT_MS = 60000;

/** `jupyter-config-data` key holding the site's litebridge settings (`{embedOrigins: [...]}`). */
export const CONFIG_KEY = 'litebridge';

/** The boot stages the frame reports, in order. */
export type BootStage = 'app' | 'kernel' | 'import' | 'bridge' | 'ready';

/** What a finished execute reports (`status` is `aborted` for a restart or a kernel abort). */
export interface ExecuteResult {
  /** `ok`, `error` (the code raised) or `aborted` (never run to its end: restart, abort). */
  status: 'ok' | 'error' | 'aborted';
  /** The kernel's execution count for it, or null when there was none. */
  executionCount: number | null;
  /** The outputs in order, as nbformat v4 output dicts (stream, execute_result, display_data, error). */
  outputs: IOutput[];
  /** The exception when `status` is `error`, else null. */
  error: { ename: string; evalue: string; traceback: string[] } | null;
}

/** An error sent across: enough to rebuild a `PythonError`, a `BridgeError` or a plain `Error`. */
export interface EmbedWireError {
  /** `PythonError`, `BridgeError`, `TypeError`, ... (the class to rebuild). */
  name: string;
  /** The message. */
  message: string;
  /** The stack of the side that threw (may be empty). */
  stack: string;
  /** Bridge error code, when it is a `BridgeError`. */
  code?: string;
  /** Python exception type (`PythonError`) or remote error type (`BridgeError`). */
  type?: string;
  /** Python traceback (`PythonError`) or remote stack (`BridgeError`). */
  traceback?: string;
}

interface Base {
  [EMBED_TAG]: typeof EMBED_VERSION;
}

/** Host -> frame: ask to be served (sent every {@link CONNECT_INTERVAL_MS} until accepted). */
export interface ConnectMessage extends Base {
  kind: 'connect';
}
/** Host -> frame: run code in the kernel. */
export interface ExecuteMessage extends Base {
  kind: 'execute';
  id: number;
  code: string;
}
/** Host -> frame: call a method the kernel exposed (`page.expose`). */
export interface CallMessage extends Base {
  kind: 'call';
  id: number;
  method: string;
  args: unknown[];
  timeoutMs: number;
}
/** Host -> frame: the names of the host's handlers (all of them, replacing earlier lists). */
export interface RegisterMessage extends Base {
  kind: 'register';
  names: string[];
}
/** Host -> frame: interrupt or restart the kernel. */
export interface ControlMessage extends Base {
  kind: 'interrupt' | 'restart';
  id: number;
}
/** Host -> frame: the answer to a {@link HostCallMessage}. */
export interface HostReplyMessage extends Base {
  kind: 'hostReply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: EmbedWireError;
}
/** Everything the host sends. */
export type HostMessage = ConnectMessage | ExecuteMessage | CallMessage | RegisterMessage | ControlMessage | HostReplyMessage;

/** Frame -> host: the connect was accepted; boot progress follows. */
export interface AcceptedMessage extends Base {
  kind: 'accepted';
}
/** Frame -> host: a boot stage was reached (`ready` carries the transport). */
export interface StageMessage extends Base {
  kind: 'stage';
  stage: BootStage;
  /** Set with stage `ready`: what Python's `call_sync` uses. */
  transport?: Transport;
  /** Set with stage `ready`: the kernel id inside the frame. */
  kernelId?: string;
}
/** Frame -> host: the boot failed (the host's `embed()` rejects with this). */
export interface BootFailedMessage extends Base {
  kind: 'bootFailed';
  error: EmbedWireError;
}
/** Frame -> host: one output of a running execute, in order. */
export interface OutputMessage extends Base {
  kind: 'output';
  id: number;
  output: IOutput;
}
/** Frame -> host: an execute finished (after its reply and its `status: idle`). */
export interface ExecutedMessage extends Base {
  kind: 'executed';
  id: number;
  result: ExecuteResult;
}
/** Frame -> host: the answer to a {@link CallMessage} or a {@link ControlMessage}. */
export interface ReplyMessage extends Base {
  kind: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: EmbedWireError;
}
/** Frame -> host: Python called a host handler (`page.call` / `page.call_sync`). */
export interface HostCallMessage extends Base {
  kind: 'hostCall';
  id: number;
  method: string;
  args: unknown[];
}
/** Everything the frame sends. */
export type FrameMessage =
  | AcceptedMessage
  | StageMessage
  | BootFailedMessage
  | OutputMessage
  | ExecutedMessage
  | ReplyMessage
  | HostCallMessage;

/** True for any object carrying the embed tag of this version. */
export function isEmbedMessage(data: unknown): data is { kind: unknown; [EMBED_TAG]: number } {
  return data !== null && typeof data === 'object' && (data as Record<string, unknown>)[EMBED_TAG] === EMBED_VERSION;
}

/** The error's fields for sending, whatever was thrown. */
export function errorToEmbedWire(thrown: unknown): EmbedWireError {
  if (thrown instanceof Error) {
    const extra = thrown as Error & { code?: unknown; type?: unknown; traceback?: unknown; remoteStack?: unknown };
    const wire: EmbedWireError = { name: thrown.name, message: thrown.message, stack: thrown.stack ?? '' };
    if (typeof extra.code === 'string') {
      wire.code = extra.code;
    }
    if (typeof extra.type === 'string') {
      wire.type = extra.type;
    }
    const traceback = typeof extra.traceback === 'string' ? extra.traceback : extra.remoteStack;
    if (typeof traceback === 'string') {
      wire.traceback = traceback;
    }
    return wire;
  }
  return { name: 'Error', message: String(thrown), stack: '' };
}
