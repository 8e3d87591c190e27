import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { KernelMessage } from '@jupyterlab/services';

import { OutputCollector, exceptionName, toOutput } from '../src/embed/outputs';

let seq = 0;
function iopub(msgType: string, content: object): KernelMessage.IIOPubMessage {
  seq += 1;
  return {
    channel: 'iopub',
    header: { msg_id: `m${seq}`, msg_type: msgType, session: 's', username: '', date: '', version: '5.3' },
    parent_header: {},
    metadata: {},
    content
  } as unknown as KernelMessage.IIOPubMessage;
}

describe('embed outputs', () => {
  it('turns stream, execute_result, display_data and error messages into nbformat outputs', () => {
    assert.deepEqual(toOutput(iopub('stream', { name: 'stdout', text: 'hi\n' })), { output_type: 'stream', name: 'stdout', text: 'hi\n' });
    assert.deepEqual(toOutput(iopub('execute_result', { execution_count: 3, data: { 'text/plain': '42' }, metadata: {} })), {
      output_type: 'execute_result',
      execution_count: 3,
      data: { 'text/plain': '42' },
      metadata: {}
    });
    assert.deepEqual(toOutput(iopub('display_data', { data: { 'text/html': '<b>x</b>' }, metadata: {}, transient: { display_id: 'd' } })), {
      output_type: 'display_data',
      data: { 'text/html': '<b>x</b>' },
      metadata: {}
    });
    assert.deepEqual(toOutput(iopub('error', { ename: "<class 'ZeroDivisionError'>", evalue: 'division by zero', traceback: ['t'] })), {
      output_type: 'error',
      ename: 'ZeroDivisionError',
      evalue: 'division by zero',
      traceback: ['t']
    });
    assert.equal(toOutput(iopub('status', { execution_state: 'idle' })), null);
    assert.equal(toOutput(iopub('execute_input', { code: 'x', execution_count: 1 })), null);
  });

  it('merges consecutive pieces of one stream, as a notebook shows them', () => {
    const collector = new OutputCollector();
    const pieces = [
      iopub('stream', { name: 'stdout', text: 'a' }),
      iopub('stream', { name: 'stdout', text: '\n' }),
      iopub('stream', { name: 'stderr', text: 'e\n' }),
      iopub('stream', { name: 'stdout', text: 'b\n' })
    ];
    const streamed = pieces.map((piece) => collector.add(piece));
    assert.deepEqual(streamed.map((o) => (o as { text: string } | null)?.text), ['a', '\n', 'e\n', 'b\n']);
    assert.deepEqual(collector.outputs, [
      { output_type: 'stream', name: 'stdout', text: 'a\n' },
      { output_type: 'stream', name: 'stderr', text: 'e\n' },
      { output_type: 'stream', name: 'stdout', text: 'b\n' }
    ]);
  });

  it('clears on clear_output, at once or (wait) before the next output', () => {
    const collector = new OutputCollector();
    collector.add(iopub('stream', { name: 'stdout', text: 'one\n' }));
    assert.equal(collector.add(iopub('clear_output', { wait: false })), null);
    assert.deepEqual(collector.outputs, []);
    collector.add(iopub('stream', { name: 'stdout', text: 'two\n' }));
    collector.add(iopub('clear_output', { wait: true }));
    assert.equal(collector.outputs.length, 1);
    collector.add(iopub('stream', { name: 'stdout', text: 'three\n' }));
    assert.deepEqual(collector.outputs, [{ output_type: 'stream', name: 'stdout', text: 'three\n' }]);
  });

  it('updates displays by display_id and keeps the last error', () => {
    const collector = new OutputCollector();
    collector.add(iopub('display_data', { data: { 'text/plain': 'old' }, metadata: {}, transient: { display_id: 'p' } }));
    collector.add(iopub('display_data', { data: { 'text/plain': 'other' }, metadata: {} }));
    collector.add(iopub('update_display_data', { data: { 'text/plain': 'new' }, metadata: {}, transient: { display_id: 'p' } }));
    assert.deepEqual(
      collector.outputs.map((o) => (o as { data: Record<string, unknown> }).data['text/plain']),
      ['new', 'other']
    );
    collector.add(iopub('error', { ename: 'ValueError', evalue: 'v', traceback: [] }));
    collector.add(iopub('clear_output', { wait: false }));
    assert.equal(collector.lastError?.ename, 'ValueError');
  });

  it('reads the exception name out of pyodide-kernel\'s str(type(e))', () => {
    assert.equal(exceptionName("<class 'NameError'>"), 'NameError');
    assert.equal(exceptionName("<class '__main__.MyError'>"), 'MyError');
    assert.equal(exceptionName('KeyError'), 'KeyError');
  });
});
