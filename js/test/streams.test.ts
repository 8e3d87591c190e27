/**
 * The page's stream machinery (`src/streams.ts`) alone: credit, chunking, the memory bound,
 * cancellation and errors both ways. Python is played by recording the frames the table posts,
 * or by a second table (a loopback through the real codec).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeValue, encodeValue } from '../src/codec';
import { BridgeError, PythonError } from '../src/errors';
import type { Frame } from '../src/frame';
import { StreamTable } from '../src/streams';

type Envelope = Record<string, unknown> & { kind: string; id: number };

class Wire {
  readonly frames: { envelope: Envelope; buffers: Uint8Array[] }[] = [];
  readonly post = (frame: Frame): void => {
    this.frames.push({ envelope: JSON.parse(frame.json) as Envelope, buffers: frame.buffers.map((b) => b.slice()) });
  };
  last(): Envelope | undefined {
    return this.frames.at(-1)?.envelope;
  }
  kinds(): string[] {
    return this.frames.map((f) => f.envelope.kind.split('.').pop() ?? '');
  }
  chunks(): number[][] {
    return this.frames.filter((f) => f.envelope.kind.endsWith('chunk')).map((f) => Array.from(f.buffers[0]));
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
};

const path = (): string => 'args[0]';

function sourceOf(chunks: unknown[], log: string[] = []): ReadableStream<unknown> {
  let i = 0;
  return new ReadableStream<unknown>(
    {
      pull(controller) {
        if (i < chunks.length) {
          log.push(`pull ${i}`);
          controller.enqueue(chunks[i++]);
        } else {
          controller.close();
        }
      },
      cancel(reason) {
        log.push(`cancel ${String(reason)}`);
      }
    },
    { highWaterMark: 0 }
  );
}

describe('streams: producing (page -> Python)', () => {
  it('sends only what was pulled, split into chunks of at most chunkBytes, then end', async () => {
    const wire = new Wire();
    const table = new StreamTable(wire.post, 4, 10);
    const log: string[] = [];
    const id = table.exportStream(sourceOf([new Uint8Array(25).fill(1), new Uint8Array(0), new Uint8Array([7, 8]).buffer, new Int16Array([1, -1])], log), path);
    assert.equal(id, 1);
    await settle();
    assert.deepEqual(wire.frames, []);
    table.onMessage('litebridge.stream.pull', 1, { n: 2 });
    await settle();
    assert.deepEqual(wire.chunks(), [Array(10).fill(1), Array(10).fill(1)]);
    assert.deepEqual(table.counts().bufferedBytes, 5); // the rest of the first source chunk
    table.onMessage('litebridge.stream.pull', 1, { n: 10 });
    await settle();
    assert.deepEqual(wire.chunks().slice(2), [Array(5).fill(1), [7, 8], [1, 0, 255, 255]]);
    assert.equal(wire.kinds().at(-1), 'end');
    assert.deepEqual(table.counts(), { producing: 0, consuming: 0, bufferedBytes: 0, peakBufferedBytes: 25 });
  });

  it('a cancel from Python cancels the source with the reason', async () => {
    const wire = new Wire();
    const table = new StreamTable(wire.post, 4, 10);
    const log: string[] = [];
    table.exportStream(sourceOf([new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)], log), path);
    table.onMessage('litebridge.stream.pull', 1, { n: 1 });
    await settle();
    table.onMessage('litebridge.stream.cancel', 1, { reason: 'the Python reader closed the stream' });
    await settle();
    assert.match(log.at(-1) ?? '', /^cancel AbortError: litebridge: the Python reader closed the stream/);
    table.onMessage('litebridge.stream.pull', 1, { n: 5 }); // late: ignored
    await settle();
    assert.deepEqual(wire.kinds(), ['chunk']);
  });

  it('an async generator source is closed (its finally runs) on cancel', async () => {
    const wire = new Wire();
    const table = new StreamTable(wire.post, 4, 10);
    const log: string[] = [];
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          yield await Promise.resolve(new Uint8Array(3));
        }
      } finally {
        log.push('finally');
      }
    }
    table.exportStream(source(), path);
    table.onMessage('litebridge.stream.pull', 1, { n: 2 });
    await settle();
    table.onMessage('litebridge.stream.cancel', 1, {});
    await settle();
    assert.deepEqual(log, ['finally']);
  });

  for (const [bad, type, text] of [
    [new RangeError('broke'), 'RangeError', 'broke'],
    ['text', 'TypeError', 'a stream chunk must be a Uint8Array']
  ] as const) {
    it(`a failing source sends a named error (${type})`, async () => {
      const wire = new Wire();
      const table = new StreamTable(wire.post, 4, 10);
      let step = 0;
      const source = new ReadableStream<unknown>({
        pull(controller) {
          if (step++ === 0) {
            controller.enqueue(new Uint8Array([1]));
          } else if (bad instanceof Error) {
            controller.error(bad);
          } else {
            controller.enqueue(bad);
          }
        }
      });
      table.exportStream(source, path);
      table.onMessage('litebridge.stream.pull', 1, { n: 3 });
      await settle();
      assert.deepEqual(wire.kinds(), ['chunk', 'error']);
      const error = wire.frames[1].envelope.error as Record<string, unknown>;
      assert.equal(error.type, type);
      assert.match(String(error.message), new RegExp(text));
      assert.equal(table.counts().producing, 0);
    });
  }

  it('refuses locked streams and the same stream twice; a failed encode exports nothing', () => {
    const table = new StreamTable(() => undefined);
    const locked = sourceOf([]);
    locked.getReader();
    assert.throws(() => encodeValue([locked], 'args', table), /cannot send a locked ReadableStream at args\[0\]/);
    const twice = sourceOf([]);
    assert.throws(
      () => table.exporting(1, () => encodeValue([twice, { k: twice }], 'args', table)),
      /cannot send the same stream twice: ReadableStream at args\[1\]\.k/
    );
    assert.throws(() => table.exporting(2, () => encodeValue([sourceOf([]), new Map()], 'args', table)), /cannot send Map at args\[1\]/);
    assert.equal(table.counts().producing, 0);
    assert.throws(() => encodeValue([sourceOf([])], 'args'), /cannot send ReadableStream at args\[0\]/);
  });

  it('stopCall ends the unpulled streams of a failed call with code closed', async () => {
    const wire = new Wire();
    const table = new StreamTable(wire.post);
    const { streams } = table.exporting(4, () => encodeValue([sourceOf([new Uint8Array(1)]), sourceOf([])], 'args', table));
    table.onMessage('litebridge.stream.pull', streams[0], { n: 1 });
    table.stopCall(4, 'the call failed');
    await settle();
    const errors = wire.frames.filter((f) => f.envelope.kind.endsWith('error'));
    assert.deepEqual(
      errors.map((f) => [f.envelope.id, (f.envelope.error as Record<string, unknown>).code]),
      [[streams[1], 'closed']]
    );
  });
});

describe('streams: consuming (Python -> page)', () => {
  it('pulls a window on the first read, tops up at half, ends after the queued chunks', async () => {
    const wire = new Wire();
    const table = new StreamTable(wire.post, 4, 10);
    const stream = decodeValue({ $stream: 3 }, [], table) as ReadableStream<Uint8Array>;
    assert.ok(stream instanceof ReadableStream);
    await settle();
    assert.equal(wire.frames.length, 0); // nothing pulled before a read
    const reader = stream.getReader();
    const first = reader.read();
    await settle();
    assert.deepEqual(wire.frames.map((f) => f.envelope), [{ v: 2, id: 3, kind: 'litebridge.stream.pull', n: 4 }]);
    for (let i = 0; i < 4; i++) {
      table.onMessage('litebridge.stream.chunk', 3, { value: new Uint8Array([i, i]) });
    }
    assert.deepEqual(Array.from((await first).value ?? []), [0, 0]);
    assert.equal(table.counts().bufferedBytes, 6);
    assert.deepEqual(Array.from((await reader.read()).value ?? []), [1, 1]);
    await settle();
    assert.deepEqual(wire.last(), { v: 2, id: 3, kind: 'litebridge.stream.pull', n: 2 });
    table.onMessage('litebridge.stream.end', 3, {});
    assert.deepEqual(Array.from((await reader.read()).value ?? []), [2, 2]);
    assert.deepEqual(Array.from((await reader.read()).value ?? []), [3, 3]);
    assert.equal((await reader.read()).done, true);
    assert.deepEqual(table.counts(), { producing: 0, consuming: 0, bufferedBytes: 0, peakBufferedBytes: 6 });
  });

  it("Python's error reaches the reader after the chunks before it", async () => {
    const table = new StreamTable(() => undefined);
    const reader = table.importStream(1).getReader();
    const first = reader.read();
    await settle();
    table.onMessage('litebridge.stream.chunk', 1, { value: new Uint8Array([5]) });
    table.onMessage('litebridge.stream.error', 1, { error: { type: 'ValueError', message: 'broke', stack: 'Traceback' } });
    assert.deepEqual(Array.from((await first).value ?? []), [5]);
    await assert.rejects(reader.read(), (error: unknown) => error instanceof PythonError && error.type === 'ValueError');
  });

  it('reader.cancel tells Python, and late chunks are dropped', async () => {
    const wire = new Wire();
    const table = new StreamTable(wire.post);
    const reader = table.importStream(2).getReader();
    void reader.read();
    await settle();
    await reader.cancel('enough');
    assert.deepEqual(wire.last(), { v: 2, id: 2, kind: 'litebridge.stream.cancel', reason: 'enough' });
    table.onMessage('litebridge.stream.chunk', 2, { value: new Uint8Array(9) });
    assert.deepEqual(table.counts(), { producing: 0, consuming: 0, bufferedBytes: 0, peakBufferedBytes: 0 });
  });

  it('more chunks than pulled fail the stream with bad_request', async () => {
    const wire = new Wire();
    const table = new StreamTable(wire.post);
    const reader = table.importStream(1).getReader();
    table.onMessage('litebridge.stream.chunk', 1, { value: new Uint8Array(1) });
    await assert.rejects(reader.read(), (error: unknown) => error instanceof BridgeError && error.code === 'bad_request');
    assert.deepEqual(wire.kinds(), ['cancel']);
  });

  it('releaseUnread cancels the argument streams a handler never started to read', async () => {
    const wire = new Wire();
    const table = new StreamTable(wire.post);
    const { value, streams } = table.collectImports(() => decodeValue([{ $stream: 1 }, { $stream: 2 }], [], table) as ReadableStream[]);
    value[1].getReader();
    table.releaseUnread(streams);
    await settle();
    assert.deepEqual(
      wire.frames.map((f) => [f.envelope.kind, f.envelope.id]),
      [['litebridge.stream.cancel', 1]]
    );
  });

  it('close errors every reader with the error and cancels every source', async () => {
    const table = new StreamTable(() => undefined);
    const log: string[] = [];
    table.exportStream(sourceOf([new Uint8Array(1)], log), path);
    const reader = table.importStream(1).getReader();
    const reading = reader.read();
    await settle();
    table.close(new BridgeError('closed', 'kernel k: the kernel was restarted'));
    await assert.rejects(reading, (error: unknown) => error instanceof BridgeError && error.code === 'closed');
    await settle();
    assert.match(log.at(-1) ?? '', /^cancel BridgeError: kernel k/);
    assert.deepEqual(table.counts(), { producing: 0, consuming: 0, bufferedBytes: 0, peakBufferedBytes: 0 });
  });

  it('a stream id received twice is a decode error', () => {
    const table = new StreamTable(() => undefined);
    assert.throws(() => decodeValue([{ $stream: 1 }, { $stream: 1 }], [], table), /stream 1 received twice/);
    assert.throws(() => decodeValue({ $stream: 0 }, [], table), /a stream id is an integer >= 1/);
    assert.throws(() => decodeValue({ $stream: 1 }, []), /no stream can be received/);
  });
});

describe('streams: loopback', () => {
  it('2,000 chunks cross a slow reader with at most the window held', async () => {
    const tables: StreamTable[] = [];
    const deliver = (to: () => StreamTable) => (frame: Frame) => {
      const envelope = JSON.parse(frame.json) as Envelope;
      const value = envelope.kind.endsWith('chunk') ? decodeValue(envelope.value, frame.buffers.map((b) => b.slice())) : undefined;
      to().onMessage(envelope.kind, envelope.id, { ...envelope, value });
    };
    const producer = new StreamTable(deliver(() => tables[1]), 4, 1000);
    tables.push(producer, new StreamTable(deliver(() => tables[0]), 4, 1000));
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 1000; i++) {
        yield await Promise.resolve(new Uint8Array(1999).fill(i % 256)); // 2 chunks each
      }
    }
    const { value } = producer.exporting(null, () => encodeValue([source()], 'result', producer));
    const received = decodeValue(value.tree, [], tables[1]) as ReadableStream<Uint8Array>[];
    let total = 0;
    let chunks = 0;
    for await (const chunk of received[0] as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      chunks++;
      await new Promise((resolve) => setImmediate(resolve)); // a slow reader
    }
    assert.equal(total, 1999 * 1000);
    assert.equal(chunks, 2000);
    assert.ok(tables[1].counts().peakBufferedBytes <= 4 * 1000, JSON.stringify(tables[1].counts()));
    assert.ok(producer.counts().peakBufferedBytes <= 1999);
  });
});

describe('streams: backpressure', () => {
  it('a stalled reader lets the producer read only the window from its source', async () => {
    const tables: StreamTable[] = [];
    const deliver = (to: () => StreamTable) => (frame: Frame) => {
      const envelope = JSON.parse(frame.json) as Envelope;
      const value = envelope.kind.endsWith('chunk') ? decodeValue(envelope.value, frame.buffers.map((b) => b.slice())) : undefined;
      to().onMessage(envelope.kind, envelope.id, { ...envelope, value });
    };
    const producer = new StreamTable(deliver(() => tables[1]), 4, 1000);
    tables.push(producer, new StreamTable(deliver(() => tables[0]), 4, 1000));
    let produced = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        produced++;
        yield await Promise.resolve(new Uint8Array(1000));
      }
    }
    const { value } = producer.exporting(null, () => encodeValue(endless(), 'result', producer));
    const reader = (decodeValue(value.tree, [], tables[1]) as ReadableStream<Uint8Array>).getReader();
    assert.equal((await reader.read()).value?.byteLength, 1000);
    await settle(); // the producer could run on, but has no credit
    assert.equal(produced, 4);
    assert.equal(tables[1].counts().bufferedBytes, 3000);
    await reader.cancel('stop');
    await settle();
    assert.deepEqual([producer.counts().producing, tables[1].counts().consuming], [0, 0]);
  });
});
