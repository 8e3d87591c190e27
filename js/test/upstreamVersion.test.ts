import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkUpstreamPatches } from '../src/upstreamPatches';
import type { FetchLike } from '../src/upstreamVersion';
import { PATCHED_EXTENSION, checkKernelExtension, isPatchedVersion, labextensionsUrl } from '../src/upstreamVersion';

const BASE = 'http://127.0.0.1:8000/extensions';

function fakeDoc(config: unknown): Pick<Document, 'getElementById'> {
  return {
    getElementById: (id: string) =>
      id === 'jupyter-config-data' ? ({ textContent: JSON.stringify(config) } as HTMLElement) : null
  };
}

function fakeFetch(answers: Record<string, { status: number; body?: unknown }>, seen: string[] = []): FetchLike {
  return (url) => {
    seen.push(url);
    const answer = answers[url] as { status: number; body?: unknown } | undefined;
    if (answer === undefined) {
      return Promise.reject(new TypeError('Failed to fetch'));
    }
    return Promise.resolve({ ok: answer.status === 200, status: answer.status, json: () => Promise.resolve(answer.body) });
  };
}

const PACKAGE_URL = `${BASE}/${PATCHED_EXTENSION}/package.json`;

describe('upstream version check', () => {
  it('the patches were written for 0.8.x', () => {
    for (const ok of ['0.8.0', '0.8.6', '0.8.10', '0.8.7-alpha.1']) {
      assert.equal(isPatchedVersion(ok), true, ok);
    }
    for (const other of ['0.9.0', '0.9.0-alpha.1', '0.7.2', '1.8.0', '0.80.1', '']) {
      assert.equal(isPatchedVersion(other), false, other);
    }
  });

  it('reads fullLabextensionsUrl from the page config', () => {
    assert.equal(labextensionsUrl(fakeDoc({ fullLabextensionsUrl: BASE })), BASE);
    assert.equal(labextensionsUrl(fakeDoc({})), null);
    assert.equal(labextensionsUrl({ getElementById: () => ({ textContent: '{not json' }) as HTMLElement }), null);
    assert.equal(labextensionsUrl(null), null);
  });

  it('reads the version from the extension package.json, and says why it could not', async () => {
    const seen: string[] = [];
    const fetchOk = fakeFetch({ [PACKAGE_URL]: { status: 200, body: { version: '0.8.6' } } }, seen);
    assert.deepEqual(await checkKernelExtension(`${BASE}/`, fetchOk), { version: '0.8.6', ok: true });
    assert.deepEqual(seen, [PACKAGE_URL]);
    const newer = fakeFetch({ [PACKAGE_URL]: { status: 200, body: { version: '0.9.0' } } });
    assert.deepEqual(await checkKernelExtension(BASE, newer), { version: '0.9.0', ok: false });
    const missing = await checkKernelExtension(BASE, fakeFetch({ [PACKAGE_URL]: { status: 404 } }));
    assert.match(missing.reason ?? '', /HTTP 404/);
    const offline = await checkKernelExtension(BASE, fakeFetch({}));
    assert.match(offline.reason ?? '', /could not be read: TypeError: Failed to fetch/);
    const noVersion = await checkKernelExtension(BASE, fakeFetch({ [PACKAGE_URL]: { status: 200, body: {} } }));
    assert.match(noVersion.reason ?? '', /has no version/);
    assert.match((await checkKernelExtension(null, fetchOk)).reason ?? '', /no fullLabextensionsUrl/);
  });

  it('0.8.x: both patches stay on, nothing is logged', async () => {
    const warnings: string[] = [];
    const fetchOk = fakeFetch({ [PACKAGE_URL]: { status: 200, body: { version: '0.8.6' } } });
    const check = await checkUpstreamPatches(fetchOk, fakeDoc({ fullLabextensionsUrl: BASE }), (m) => warnings.push(m));
    assert.equal(check.ok, true);
    assert.deepEqual(warnings, []);
  });

  it('unreadable: both stay on, one warning says why', async () => {
    const warnings: string[] = [];
    await checkUpstreamPatches(fakeFetch({}), fakeDoc({ fullLabextensionsUrl: BASE }), (m) => warnings.push(m));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /could not read the version of @jupyterlite\/pyodide-kernel-extension .* stay on/);
  });

  it('another version: one warning per patch naming both versions, then never again', async () => {
    const warnings: string[] = [];
    const newer = fakeFetch({ [PACKAGE_URL]: { status: 200, body: { version: '0.9.0' } } });
    const doc = fakeDoc({ fullLabextensionsUrl: BASE });
    await checkUpstreamPatches(newer, doc, (m) => warnings.push(m));
    await checkUpstreamPatches(newer, doc, (m) => warnings.push(m));
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /waitAsyncFix\) is switched off: .*0\.8\.x .* this page has 0\.9\.0/);
    assert.match(warnings[1], /coincidentResultFix\) is switched off: .*0\.8\.x .* this page has 0\.9\.0/);
  });
});
