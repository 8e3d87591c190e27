/**
 * The outputs of one execute: its iopub messages turned into nbformat v4 output dicts.
 *
 * Pure (no DOM, no kernel), tested in node (`js/test/embedOutputs.test.ts`). The message types
 * are `@jupyterlab/services`' own; the output types are `@jupyterlab/nbformat`'s.
 *
 * @packageDocumentation
 */
import type { IDisplayData, IError, IExecuteResult, IOutput, IStream } from '@jupyterlab/nbformat';
import type { KernelMessage } from '@jupyterlab/services';

/**
 * Collects the outputs of one execute in order, as a notebook cell would: `stream`,
 * `execute_result`, `display_data`, `error`; consecutive pieces of one stream are merged
 * into one output, as a notebook shows them; `clear_output` empties the list (with
 * `wait: true`, just before the next output); `update_display_data` replaces the data of
 * the earlier outputs with the same `display_id`. Other iopub messages (status,
 * execute_input, comms) are not outputs.
 */
export class OutputCollector {
  /** The outputs so far, in order. */
  readonly outputs: IOutput[] = [];
  /** The last error output, kept even if a `clear_output` removed it from the list. */
  lastError: IError | null = null;
  private clearPending = false;
  private readonly displayIds = new Map<IOutput, string>();

  /**
   * Take one iopub message of this execute.
   *
   * @param msg - An iopub message whose `parent_header.msg_id` is the execute request's.
   * @returns The new output (for `onOutput`: a stream piece as it arrived, before merging),
   *   or null when the message added none.
   */
  add(msg: KernelMessage.IIOPubMessage): IOutput | null {
    const output = toOutput(msg);
    if (msg.header.msg_type === 'clear_output') {
      const wait = (msg as KernelMessage.IClearOutputMsg).content.wait;
      if (wait) {
        this.clearPending = true;
      } else {
        this.clear();
      }
      return null;
    }
    if (msg.header.msg_type === 'update_display_data') {
      const update = msg as KernelMessage.IUpdateDisplayDataMsg;
      this.outputs.forEach((existing, index) => {
        if (this.displayIds.get(existing) === update.content.transient.display_id) {
          const replaced = { ...existing, data: update.content.data, metadata: update.content.metadata } as IOutput;
          this.outputs[index] = replaced;
          this.displayIds.set(replaced, update.content.transient.display_id);
        }
      });
      return null;
    }
    if (output === null) {
      return null;
    }
    if (this.clearPending) {
      this.clear();
    }
    const displayId = (msg.content as { transient?: { display_id?: unknown } }).transient?.display_id;
    if (typeof displayId === 'string') {
      this.displayIds.set(output, displayId);
    }
    if (output.output_type === 'error') {
      this.lastError = output as IError;
    }
    const last = this.outputs.at(-1);
    if (output.output_type === 'stream' && last?.output_type === 'stream' && last.name === output.name) {
      // a notebook shows consecutive pieces of one stream as one output
      this.outputs[this.outputs.length - 1] = { ...last, text: textOf(last.text) + textOf(output.text) };
    } else {
      this.outputs.push(output);
    }
    return output;
  }

  private clear(): void {
    this.outputs.length = 0;
    this.clearPending = false;
  }
}

/**
 * The exception class name as IPython reports it (`ZeroDivisionError`): pyodide-kernel 0.8
 * sends `str(type(e))`, i.e. `<class 'ZeroDivisionError'>` or `<class '__main__.MyError'>`.
 *
 * @param ename - The `ename` of an error message.
 */
export function exceptionName(ename: string): string {
  const match = /^<class '([^']+)'>$/.exec(ename);
  const qualified = match?.[1];
  return qualified === undefined ? ename : (qualified.split('.').at(-1) ?? ename);
}

/** The text of a multiline string (a string or a list of lines). */
function textOf(text: unknown): string {
  return Array.isArray(text) ? text.join('') : String(text);
}

/**
 * The nbformat output for an iopub message, or null if it is not an output.
 *
 * @param msg - Any iopub message.
 */
export function toOutput(msg: KernelMessage.IIOPubMessage): IOutput | null {
  switch (msg.header.msg_type) {
    case 'stream': {
      const { name, text } = (msg as KernelMessage.IStreamMsg).content;
      const output: IStream = { output_type: 'stream', name, text };
      return output;
    }
    case 'execute_result': {
      const { data, metadata, execution_count } = (msg as KernelMessage.IExecuteResultMsg).content;
      const output: IExecuteResult = { output_type: 'execute_result', execution_count, data, metadata };
      return output;
    }
    case 'display_data': {
      const { data, metadata } = (msg as KernelMessage.IDisplayDataMsg).content;
      const output: IDisplayData = { output_type: 'display_data', data, metadata };
      return output;
    }
    case 'error': {
      const { ename, evalue, traceback } = (msg as KernelMessage.IErrorMsg).content;
      const output: IError = { output_type: 'error', ename: exceptionName(ename), evalue, traceback };
      return output;
    }
    default:
      return null;
  }
}
