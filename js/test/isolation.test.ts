import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';

import { decideIsolation, parseProbe } from '../src/isolation';
import type { IsolationState } from '../src/isolation';
import {
  ISOLATION_HEADERS,
  isolationEnabled,
  needsIsolationHeaders,
  PROBE_PATH,
  withIsolationHeaders
} from '../src/worker/isolationHeaders';

const SCOPE = 'https://user.github.io/site/';

describe('isolation headers', () => {
  it('only documents, frames and workers need them', () => {
    for (const destination of ['document', 'iframe', 'frame', 'worker', 'sharedworker']) {
      assert.equal(needsIsolationHeaders(destination), true, destination);
    }
    for (const destination of ['', 'script', 'style', 'image', 'font', 'manifest']) {
      assert.equal(needsIsolationHeaders(destination), false, destination);
    }
  });

  it('are added to a copy that keeps status, other headers and body', async () => {
    const original = new Response('<html></html>', {
      status: 201,
      statusText: 'Made',
      headers: { 'Content-Type': 'text/html', 'Cross-Origin-Embedder-Policy': 'unsafe-none' }
    });
    const isolated = withIsolationHeaders(original);
    assert.equal(isolated.status, 201);
    assert.equal(isolated.statusText, 'Made');
    assert.equal(isolated.headers.get('Content-Type'), 'text/html');
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) {
      assert.equal(isolated.headers.get(name), value, name);
    }
    assert.equal(await isolated.text(), '<html></html>');
  });

  it('leave null-body statuses with a null body, and opaque responses alone', () => {
    assert.equal(withIsolationHeaders(new Response(null, { status: 304 })).headers.get('Cross-Origin-Opener-Policy'), 'same-origin');
    const opaque = Response.error();
    assert.equal(withIsolationHeaders(opaque), opaque);
  });

  it('are switched off only by crossOriginIsolation: false', () => {
    assert.equal(isolationEnabled({ 'jupyter-config-data': { litebridge: { crossOriginIsolation: false } } }), false);
    assert.equal(isolationEnabled({ litebridge: { crossOriginIsolation: false } }, true), false);
    for (const config of [null, 'x', [], {}, { 'jupyter-config-data': { litebridge: { crossOriginIsolation: 0 } } },
      { 'jupyter-config-data': { litebridge: null } }, { 'jupyter-config-data': [] }]) {
      assert.equal(isolationEnabled(config), true, JSON.stringify(config));
    }
  });
});

describe('page reload decision', () => {
  const base: IsolationState = {
    isolated: false,
    enabled: true,
    reloaded: false,
    probe: { by: 'litebridge', crossOriginIsolation: true }
  };
  it('reloads once, then warns', () => {
    assert.equal(decideIsolation(base), 'reload');
    assert.equal(decideIsolation({ ...base, reloaded: true }), 'warn');
  });
  it('does nothing when isolated, switched off, or the worker would not isolate', () => {
    assert.equal(decideIsolation({ ...base, isolated: true }), 'none');
    assert.equal(decideIsolation({ ...base, enabled: false }), 'none');
    assert.equal(decideIsolation({ ...base, probe: null }), 'none');
    assert.equal(decideIsolation({ ...base, probe: { by: 'litebridge', crossOriginIsolation: false } }), 'none');
  });
  it('accepts only a litebridge probe answer', () => {
    assert.deepEqual(parseProbe({ by: 'litebridge', crossOriginIsolation: true, extra: 1 }), {
      by: 'litebridge',
      crossOriginIsolation: true
    });
    for (const body of [null, 'ok', { crossOriginIsolation: true }, { by: 'litebridge', crossOriginIsolation: 'yes' }]) {
      assert.equal(parseProbe(body), null, JSON.stringify(body));
    }
  });
});

// --- the built service-worker addition, in a stand-in ServiceWorkerGlobalScope ----------------

type Listener = (event: FakeFetchEvent) => void;

interface FakeFetchEvent {
  answer: Promise<Response> | null;
  readonly request: { url: string; method: string; destination: string };
  respondWith(response: Response | PromiseLike<Response>): void;
}

/** A fresh FetchEvent class per stand-in scope: the bundle wraps its prototype's respondWith. */
function fetchEventClass(): new (request: FakeFetchEvent['request']) => FakeFetchEvent {
  return class implements FakeFetchEvent {
    answer: Promise<Response> | null = null;
    constructor(readonly request: FakeFetchEvent['request']) {}
    respondWith(response: Response | PromiseLike<Response>): void {
      if (this.answer !== null) {
        throw new Error('respondWith called twice');
      }
      this.answer = Promise.resolve(response);
    }
  };
}

/**
 * Evaluate ../py/litebridge/_isolation_sw.js after a stand-in for JupyterLite's handler (which
 * answers GETs outside /api/ from "the network"), as service-worker.js does after the build step.
 */
function loadServiceWorker(config: unknown): (url: string, destination: string) => Promise<Response | null> {
  const listeners: Listener[] = [];
  const FetchEvent = fetchEventClass();
  const network = (url: string): Response =>
    url.endsWith('jupyter-lite.json')
      ? Response.json(config)
      : new Response(`body of ${url}`, { headers: { 'Content-Type': 'text/plain' } });
  const scope = {
    registration: { scope: SCOPE },
    FetchEvent,
    Response,
    Headers,
    URL,
    WeakSet,
    Promise,
    JSON,
    fetch: (input: string | URL | { url: string }) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      return Promise.resolve(network(url));
    },
    addEventListener: (type: string, listener: Listener) => {
      if (type === 'fetch') {
        listeners.push(listener);
      }
    }
  };
  // JupyterLite's handler, registered first
  listeners.push((event) => {
    if (event.request.method === 'GET' && !new URL(event.request.url).pathname.includes('/api/')) {
      event.respondWith(Promise.resolve(network(event.request.url)));
    }
  });
  const bundle = readFileSync(join(__dirname, '..', '..', '..', 'py', 'litebridge', '_isolation_sw.js'), 'utf8');
  runInNewContext(bundle, { ...scope, self: scope });
  return async (url, destination) => {
    const event = new FetchEvent({ url, method: 'GET', destination });
    for (const listener of listeners) {
      listener(event);
    }
    return event.answer === null ? null : await event.answer;
  };
}

describe('service-worker addition (built bundle)', () => {
  it('adds the headers to documents and workers JupyterLite answers, not to scripts', async () => {
    const request = loadServiceWorker({ 'jupyter-config-data': {} });
    const page = await request(`${SCOPE}lab/index.html`, 'document');
    assert.ok(page);
    assert.equal(page.headers.get('Cross-Origin-Embedder-Policy'), 'require-corp');
    assert.equal(await page.text(), `body of ${SCOPE}lab/index.html`);
    const worker = await request(`${SCOPE}extensions/w.js`, 'worker');
    assert.ok(worker);
    assert.equal(worker.headers.get('Cross-Origin-Opener-Policy'), 'same-origin');
    const script = await request(`${SCOPE}build/bundle.js`, 'script');
    assert.ok(script);
    assert.equal(script.headers.get('Cross-Origin-Embedder-Policy'), null);
  });

  it('answers the probe, and documents JupyterLite leaves alone', async () => {
    const request = loadServiceWorker({});
    const probe = await request(SCOPE + PROBE_PATH, '');
    assert.ok(probe);
    assert.deepEqual(await probe.json(), { by: 'litebridge', crossOriginIsolation: true });
    const apiPage = await request(`${SCOPE}api/page.html`, 'document');
    assert.ok(apiPage);
    assert.equal(apiPage.headers.get('Cross-Origin-Embedder-Policy'), 'require-corp');
    assert.equal(await request(`${SCOPE}api/contents/all.json`, ''), null);
  });

  it('honours crossOriginIsolation: false in jupyter-lite.json', async () => {
    const request = loadServiceWorker({ 'jupyter-config-data': { litebridge: { crossOriginIsolation: false } } });
    const page = await request(`${SCOPE}lab/index.html`, 'document');
    assert.ok(page);
    assert.equal(page.headers.get('Cross-Origin-Embedder-Policy'), null);
    const probe = await request(SCOPE + PROBE_PATH, '');
    assert.ok(probe);
    assert.deepEqual(await probe.json(), { by: 'litebridge', crossOriginIsolation: false });
  });
});
