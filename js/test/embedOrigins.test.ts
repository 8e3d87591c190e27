import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isAllowedOrigin, readOriginPolicy } from '../src/embed/origins';

const OWN = 'https://site.example';

describe('embed origins', () => {
  it('serves only its own origin without settings', () => {
    const { policy, problems } = readOriginPolicy(undefined, OWN);
    assert.deepEqual(problems, []);
    assert.equal(isAllowedOrigin(policy, OWN), true);
    assert.equal(isAllowedOrigin(policy, 'https://docs.example'), false);
    assert.equal(isAllowedOrigin(policy, 'null'), false);
    assert.equal(isAllowedOrigin(policy, ''), false);
  });

  it('serves listed origins exactly (scheme, host and port)', () => {
    const { policy, problems } = readOriginPolicy({ embedOrigins: ['https://docs.example', 'http://127.0.0.1:8001'] }, OWN);
    assert.deepEqual(problems, []);
    assert.equal(isAllowedOrigin(policy, 'https://docs.example'), true);
    assert.equal(isAllowedOrigin(policy, 'http://127.0.0.1:8001'), true);
    assert.equal(isAllowedOrigin(policy, 'http://docs.example'), false);
    assert.equal(isAllowedOrigin(policy, 'https://docs.example:444'), false);
    assert.equal(isAllowedOrigin(policy, 'https://evil.docs.example'), false);
    assert.equal(isAllowedOrigin(policy, 'http://127.0.0.1:8002'), false);
  });

  it('serves any origin only when "*" is written', () => {
    const { policy } = readOriginPolicy({ embedOrigins: ['*'] }, OWN);
    assert.equal(isAllowedOrigin(policy, 'https://anything.example'), true);
    assert.equal(isAllowedOrigin(policy, 'null'), true);
  });

  it('ignores and reports entries that are not origins', () => {
    const { policy, problems } = readOriginPolicy(
      { embedOrigins: ['https://docs.example/', 'https://docs.example/path', 'docs.example', 7, 'https://ok.example'] },
      OWN
    );
    assert.equal(problems.length, 4);
    assert.match(problems[0] ?? '', /"https:\/\/docs.example\/" is not an origin/);
    assert.equal(isAllowedOrigin(policy, 'https://docs.example'), false);
    assert.equal(isAllowedOrigin(policy, 'https://ok.example'), true);
  });

  it('reports a setting that is not a list', () => {
    const { policy, problems } = readOriginPolicy({ embedOrigins: 'https://docs.example' }, OWN);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /must be a list of origins, got string/);
    assert.equal(isAllowedOrigin(policy, 'https://docs.example'), false);
  });
});
