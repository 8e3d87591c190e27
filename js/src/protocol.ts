/**
 * The litebridge wire protocol, version 2: types and constants only.
 *
 * This file mirrors `docs/protocol.md` (normative) and `py/litebridge/protocol.py`. Every
 * kind string, error code and buffer layout constant is written here once and imported
 * everywhere else on the JavaScript side.
 *
 * @packageDocumentation
 */

/** Protocol version carried in the `v` field of every message. */
export const PROTOCOL_VERSION = 2;

/** Message kinds, always namespaced `litebridge.` (protocol section 2). */
export const Kind = {
  hello: 'litebridge.hello',
  ready: 'litebridge.ready',
  call: 'litebridge.call',
  register: 'litebridge.register',
  result: 'litebridge.result',
  error: 'litebridge.error',
  cancel: 'litebridge.cancel',
  op: 'litebridge.op',
  apply: 'litebridge.apply',
  release: 'litebridge.release'
} as const;

/** One of the message kind strings. */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Stream message kinds (protocol section 2, "Streams"); the envelope `id` is the stream id. */
export const StreamKind = {
  /** Consumer -> producer: `n` more chunks may be sent. */
  pull: 'litebridge.stream.pull',
  /** Producer -> consumer: one chunk, `value` is `{"$bytes": 0}`. */
  chunk: 'litebridge.stream.chunk',
  /** Producer -> consumer: the stream ended. */
  end: 'litebridge.stream.end',
  /** Producer -> consumer: the stream failed with `error`. */
  error: 'litebridge.stream.error',
  /** Consumer -> producer: stop producing (optional `reason`). */
  cancel: 'litebridge.stream.cancel'
} as const;

/** One of the stream message kind strings. */
export type StreamKind = (typeof StreamKind)[keyof typeof StreamKind];

/** Tag of a byte stream in a value: `{"$stream": id}`, id >= 1 chosen by the producer. */
export const STREAM_KEY = '$stream';

/** Largest chunk a producer sends, in bytes; larger source chunks are split. */
export const STREAM_CHUNK_BYTES = 1024 * 1024;

/**
 * Chunks a consumer lets be in flight or queued per stream: the memory bound is
 * `STREAM_WINDOW_CHUNKS * STREAM_CHUNK_BYTES` (4 MiB) per stream and side.
 */
export const STREAM_WINDOW_CHUNKS = 4;

/** Error codes set when the bridge itself produced an error (protocol section 5). */
export const ErrorCode = {
  unknownMethod: 'unknown_method',
  forbiddenName: 'forbidden_name',
  unserializable: 'unserializable',
  badRequest: 'bad_request',
  busy: 'busy',
  closed: 'closed',
  timeout: 'timeout',
  unknownProperty: 'unknown_property'
} as const;

/** One of the bridge error code strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The transport `call_sync` uses in a kernel (protocol sections 7 and 8). */
export type Transport = 'sab' | 'jspi' | 'async';

/** Every transport name, for validating what the worker reports. */
export const TRANSPORTS: readonly Transport[] = ['sab', 'jspi', 'async'];

/** Method name segments that never resolve, besides any segment starting with `_`. */
export const FORBIDDEN_SEGMENTS: readonly string[] = ['constructor', '__proto__', 'prototype'];

/** Placeholder key of a binary value in the JSON (protocol section 4). */
export const BYTES_KEY = '$bytes';

/** Wrapper key of an application object that would look like a placeholder. */
export const ESCAPE_KEY = '$escape';

/** Tag of a page object sent by reference: `{"$handle": [id, typeName]}` (protocol section 13). */
export const HANDLE_KEY = '$handle';

/** Tag of a Python callable sent by reference: `{"$py": [id, typeName]}` (protocol section 13). */
export const PY_KEY = '$py';

/** Every key that, alone in an application object, makes the encoder escape it. */
export const MARKER_KEYS: readonly string[] = ['$bytes', '$escape', '$stream', '$handle', '$py'];

/** Handle id of the page's `globalThis` (Python's `litebridge.window`); never released. */
export const GLOBAL_HANDLE = 0;

/** The operations of a `litebridge.op` message (protocol section 13). */
export const OPS = ['get', 'set', 'call', 'new', 'dir', 'listen', 'len', 'items'] as const;

/** One of the `litebridge.op` operations. */
export type Op = (typeof OPS)[number];

/** Largest frame a sender may send: UTF-8 JSON plus every buffer, in bytes (256 MiB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** The error object carried by `litebridge.error` (protocol section 5). */
export interface WireError {
  /** JavaScript `error.name` or the Python exception class name. */
  type: string;
  /** The error message. */
  message: string;
  /** JavaScript `error.stack` or the formatted Python traceback; may be empty. */
  stack: string;
  /** Set when the bridge itself produced the error. */
  code?: ErrorCode;
}

/** Fields common to every envelope. */
export interface EnvelopeBase {
  /** Protocol version, {@link PROTOCOL_VERSION}. */
  v: number;
  /** Message id: >= 1 for call/register and their answers, 0 for hello/ready. */
  id: number;
  /** Message kind. */
  kind: Kind;
}

/** `litebridge.ready`, page -> worker, on the kernel's Worker: the page attached. */
export interface ReadyMessage extends EnvelopeBase {
  kind: typeof Kind.ready;
  /** The litebridge JavaScript version. */
  page: string;
}

/** `litebridge.call`, both directions. */
export interface CallMessage extends EnvelopeBase {
  kind: typeof Kind.call;
  /** Dot-separated method name. */
  method: string;
  /** Encoded arguments (a JSON array with `$bytes` placeholders). */
  args: unknown[];
  /** Python -> page only: true when the caller is blocked (`call_sync`). */
  sync?: boolean;
}

/** `litebridge.register`, worker -> page: install page handlers from JavaScript source. */
export interface RegisterMessage extends EnvelopeBase {
  kind: typeof Kind.register;
  /** A JavaScript object expression, e.g. `{ f(x) { return x } }`. */
  source: string;
}

/** `litebridge.result`, both directions. */
export interface ResultMessage extends EnvelopeBase {
  kind: typeof Kind.result;
  /** The encoded value. */
  value: unknown;
}

/** `litebridge.error`, both directions; with `id: 0` on the hello's refusal port, the page refuses a hello. */
export interface ErrorMessage extends EnvelopeBase {
  kind: typeof Kind.error;
  error: WireError;
}

/** `litebridge.cancel`, both directions: the sender gave up on its call `id`; never answered. */
export interface CancelMessage extends EnvelopeBase {
  kind: typeof Kind.cancel;
  /** Why, for messages and the aborted signal's reason. */
  reason?: string;
}

/** `litebridge.op`, worker -> page: an operation on a page object (protocol section 13). */
export interface OpMessage extends EnvelopeBase {
  kind: typeof Kind.op;
  /** What to do. */
  op: Op;
  /** The handle id of the object operated on; {@link GLOBAL_HANDLE} is `globalThis`. */
  target: number;
  /** The property (for `get`, `set`, and `call` of a method); absent: the target itself. */
  name?: string | number;
  /** Optional: properties read from `target` first (`["document"]`: `target.document`). */
  path?: (string | number)[];
  /** Encoded arguments; for `set`, `[value]`. */
  args: unknown[];
  /** True when Python is blocked until answered. */
  sync?: boolean;
}

/** `litebridge.apply`, page -> worker: call a Python callable the page holds (section 13). */
export interface ApplyMessage extends EnvelopeBase {
  kind: typeof Kind.apply;
  /** The Python object id from its `$py` tag. */
  object: number;
  /** For a Python object that is not callable: the name of the method to call. */
  name?: string;
  /** Encoded arguments. */
  args: unknown[];
}

/** `litebridge.release`, both directions: references the sender dropped (section 13). */
export interface ReleaseMessage extends EnvelopeBase {
  kind: typeof Kind.release;
  /** `[id, count]` pairs: the receiver's id and how many times the sender had received it. */
  ids: [number, number][];
}

/** Every JSON envelope. */
export type Envelope =
  | ReadyMessage
  | CallMessage
  | RegisterMessage
  | ResultMessage
  | ErrorMessage
  | CancelMessage
  | OpMessage
  | ApplyMessage
  | ReleaseMessage;

/**
 * `litebridge.hello`, worker -> page, posted on the kernel's `Worker` as a structured-clone
 * object (not JSON), with `port` transferred.
 */
export interface HelloMessage {
  v: number;
  id: 0;
  kind: typeof Kind.hello;
  /**
   * The refusal port (section 1): a page that refuses the hello answers on it, whatever its
   * protocol version. Every other frame travels on the kernel's `Worker` (section 3).
   */
  port: MessagePort;
  /** The buffer for synchronous calls, or null when not `crossOriginIsolated`. */
  sab: SharedArrayBuffer | null;
  /** Pyodide version string. */
  pyodide: string;
  /** Python version string. */
  python: string;
  /** Optional: the transport `call_sync` uses in this kernel. */
  transport?: Transport;
}

/**
 * Kind of `litebridge.interrupt`, worker -> page on the kernel's `Worker` (protocol section 11;
 * the message and its handling are in `interrupt.ts`).
 */
export const INTERRUPT_KIND = 'litebridge.interrupt';

/** Key and value that mark a litebridge frame among the messages of a kernel's `Worker` (section 3). */
export const FRAME_MARK = 'litebridge.frame';

/** A frame as posted on the kernel's `Worker`, in both directions (protocol section 3). */
export interface ChannelFrame {
  /** Always {@link FRAME_MARK}: the kernel's own messages share the `Worker`. */
  lb: typeof FRAME_MARK;
  /** The envelope as JSON text. */
  json: string;
  /** The binary buffers, every one in the transfer list. */
  buffers: ArrayBuffer[];
  /**
   * Page -> worker only, optional: on the answer (`result` or `error`) to a kernel request, the
   * request's id (protocol section 3). A kernel blocked with JSPI on a `sync: true` request is
   * resumed from JavaScript when it arrives, without entering Python first; any other answer
   * enters Python through JSPI `callPromising` where the runtime has it.
   */
  answers?: number;
}

/** SAB layout (protocol section 7): bytes of the Int32 header before the payload. */
export const HEADER_BYTES = 32;

/** Bytes of the SharedArrayBuffer the worker helper allocates: 8 MiB payload + header. */
export const SAB_BYTES = 8 * 1024 * 1024 + HEADER_BYTES;

/** Int32 index of the header slots. */
export const Slot = {
  /** `seq * 8 + phase`; the only slot waited on for calls. */
  STATE: 0,
  /** Bytes of the current chunk in the payload area. */
  CHUNK_BYTES: 1,
  /** 0-based index of the current chunk. */
  CHUNK_INDEX: 2,
  /** Bytes of the whole frame. */
  TOTAL_BYTES: 3,
  /** 0 until the page has attached, then 1. */
  PAGE_READY: 4,
  /** Incremented by the worker when it starts a sync call that is not nested in another. */
  EPOCH: 5
} as const;

/** Phases stored in the low 3 bits of `STATE`. */
export const Phase = {
  IDLE: 0,
  REQUEST: 1,
  REQUEST_ACK: 2,
  CLAIMED: 3,
  RESPONSE: 4,
  RESPONSE_ACK: 5,
  /** The page wrote a chunk of a page -> Python request while the worker is blocked (re-entry). */
  CALLBACK: 6,
  /** The worker read a callback chunk that was not the last, and wants the next. */
  CALLBACK_ACK: 7
} as const;

/** One of the phase numbers. */
export type Phase = (typeof Phase)[keyof typeof Phase];

/** `STATE = seq * PHASE_SPAN + phase`. */
export const PHASE_SPAN = 8;

/** Sequence numbers count from 1 and wrap at this value back to 1. */
export const SEQ_WRAP = 2 ** 27;

/** Bound of a wait for a chunk acknowledgement, in milliseconds. */
export const CHUNK_WAIT_MS = 10000;

/** Default timeout of a call, in milliseconds (protocol section 9). */
export const DEFAULT_TIMEOUT_MS = 30000;

/** Bytes of the fixed part of a binary frame header: `J` and `N`, uint32 LE each. */
export const FRAME_FIXED_BYTES = 8;

/**
 * True for a message of a kernel's `Worker` that is a litebridge frame (section 3).
 *
 * @param data - The `data` of a `message` event.
 */
export function isChannelFrame(data: unknown): data is ChannelFrame {
  return data !== null && typeof data === 'object' && (data as { lb?: unknown }).lb === FRAME_MARK;
}
