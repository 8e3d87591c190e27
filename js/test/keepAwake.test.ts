/**
 * KeepAwake (keepAwake.ts) keeps the thread's event loop running for a bounded time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KeepAwake } from '../src/keepAwake';

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
