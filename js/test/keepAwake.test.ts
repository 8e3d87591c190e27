/**
 * KeepAwake (keepAwake.ts) keeps the thread's event loop running for a bounded time, and a
 * KernelBridge keeps the page awake while a page -> Python call it sent is pending.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KernelBridge } from '../src/bridge';
import { KEEP_AWAKE_MS, KeepAwake } from '../src/keepAwake';
import { FRAME_MARK, Kind, PROTOCOL_VERSION } from '../src/protocol';
import { HandlerRegistry } from '../src/registry';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeepAwake', () => {
  it('runs one later task after another until the deadline, then stops', async () => {
    let turns = 0;
    const later = (callback: () => void): void => {
      turns += 1;
      setImmediate(callback);
    };
    const loop = new KeepAwake(later);
    assert.equal(loop.awake, false, 'not before extend');
    loop.extend(30);
    assert.equal(loop.awake, true, 'awake at once');
    await sleep(10);
    assert.ok(turns > 1, `several turns within the time (${turns})`);
    await sleep(100);
    assert.equal(loop.awake, false, 'asleep once the time is up');
    const after = turns;
    await sleep(20);
    assert.equal(turns, after, 'no turn after it stopped');
  });

  it('ends on its next turn after end(), and a later extend starts it again', async () => {
    const loop = new KeepAwake();
    loop.extend(10_000);
    await sleep(5);
    assert.equal(loop.awake, true);
    loop.end();
    await sleep(20);
    assert.equal(loop.awake, false, 'end() stops a long loop at once');
    loop.extend(10_000);
    assert.equal(loop.awake, true, 'extend starts it again');
    loop.end();
    await sleep(20);
    assert.equal(loop.awake, false);
  });

  it('keeps the later of two deadlines, and does nothing for 0', async () => {
    const loop = new KeepAwake();
    loop.extend(0);
    assert.equal(loop.awake, false);
    loop.extend(200);
    loop.extend(1); // a shorter extension does not cut the first one short
    await sleep(30);
    assert.equal(loop.awake, true);
    loop.end();
    await sleep(20);
    assert.equal(loop.awake, false);
  });
});

describe('KernelBridge keeps the page awake while a page -> Python call is pending', () => {
  /**
   * A connected bridge whose kernel Worker is a MessageChannel: port2 stands in for the page's
   * `Worker`, port1 for the worker's `self`, answered by hand.
   */
  const connect = (keepAwakeMs?: number): { bridge: KernelBridge; python: MessagePort; requests: { id: number }[] } => {
    const bridge = new KernelBridge('kernel-awake', new HandlerRegistry(), '0.1.0', keepAwakeMs);
    const channel = new MessageChannel();
    const refusals = new MessageChannel();
    const requests: { id: number }[] = [];
    channel.port1.onmessage = (event: MessageEvent<{ json: string }>) => {
      const envelope = JSON.parse(event.data.json) as { id: number; kind: string };
      if (envelope.kind === 'litebridge.call') {
        requests.push(envelope);
      }
    };
    channel.port2.start();
    bridge.attach(
      { v: PROTOCOL_VERSION, id: 0, kind: Kind.hello, port: refusals.port2, sab: null, pyodide: '314.0.6', python: '3.14.0' },
      channel.port2
    );
    refusals.port1.close();
    return { bridge, python: channel.port1, requests };
  };
  const answer = (python: MessagePort, id: number): void => {
    const json = JSON.stringify({ v: PROTOCOL_VERSION, id, kind: 'litebridge.result', value: id });
    python.postMessage({ lb: FRAME_MARK, json, buffers: [] });
  };

  it('is awake from the call until its answer, then stops', { timeout: 5000 }, async () => {
    const { bridge, python, requests } = connect(60_000); // only the answer can end it in time
    try {
      assert.equal(bridge.awake, false, 'not before any call');
      const result = bridge.call('echo');
      while (requests.length === 0) {
        await sleep(1);
      }
      assert.equal(bridge.awake, true, 'awake while the call is pending');
      answer(python, requests[0].id);
      assert.equal(await result, requests[0].id);
      assert.equal(bridge.awake, false, 'the answer ended it');
      await sleep(20);
      assert.equal(bridge.awake, false, 'asleep once nothing is pending');
    } finally {
      bridge.close();
      python.close();
    }
  });

  it('stops by itself when the answer takes longer than KEEP_AWAKE_MS', { timeout: 5000 }, async () => {
    const { bridge, python, requests } = connect();
    try {
      const result = bridge.call('slow');
      while (requests.length === 0) {
        await sleep(0);
      }
      await sleep(KEEP_AWAKE_MS + 50);
      assert.equal(bridge.awake, false, 'a slow call does not keep the page busy');
      answer(python, requests[0].id);
      await result;
    } finally {
      bridge.close();
      python.close();
    }
  });
});
