import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { IsolationScope } from '../src/missingSabFix';
import { HIDDEN_ISOLATION, installMissingSabFix } from '../src/missingSabFix';

describe('installMissingSabFix', () => {
  it('hides crossOriginIsolated when isolated without SharedArrayBuffer (WebKitGTK under COOP/COEP)', () => {
    const scope: IsolationScope = { crossOriginIsolated: true };
    assert.equal(installMissingSabFix(scope), true);
    assert.equal(scope.crossOriginIsolated, false);
    assert.equal(scope[HIDDEN_ISOLATION], true);
    // a second install changes nothing
    assert.equal(installMissingSabFix(scope), false);
    assert.equal(scope.crossOriginIsolated, false);
  });

  it('leaves an isolated page with SharedArrayBuffer alone (Chromium, Firefox)', () => {
    const scope: IsolationScope = { crossOriginIsolated: true, SharedArrayBuffer };
    assert.equal(installMissingSabFix(scope), false);
    assert.equal(scope.crossOriginIsolated, true);
    assert.equal(scope[HIDDEN_ISOLATION], undefined);
  });

  it('leaves a page that is not isolated alone', () => {
    const scope: IsolationScope = { crossOriginIsolated: false };
    assert.equal(installMissingSabFix(scope), false);
    assert.equal(scope.crossOriginIsolated, false);
    assert.equal(scope[HIDDEN_ISOLATION], undefined);
  });
});
