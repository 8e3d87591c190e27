import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { VERSION } from '../src/version';
import { loadHelper } from './fixtures/helper';

describe('packaging', () => {
  it('VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    assert.equal(VERSION, pkg.version);
  });

  it('the worker bundle evaluates to a fresh helper with the section 9 interface', () => {
    const first = loadHelper();
    const second = loadHelper();
    assert.notEqual(first, second);
    for (const name of ['connect', 'post', 'waitPageReady', 'callSync'] as const) {
      assert.equal(typeof first[name], 'function', name);
    }
    // Without a SAB there is no synchronous transport, and the error says why.
    assert.equal(first.waitPageReady(0), false);
    assert.throws(() => first.callSync('{}', null, 10), { name: 'BridgeUnavailable', message: /cross-origin isolated/ });
  });
});
