/**
 * Cross-origin isolation for hosts that cannot send headers (GitHub Pages), inside
 * JupyterLite's own service worker.
 *
 * Only one service worker controls a scope, and JupyterLite's (`service-worker.js`: DriveFS
 * contents, `input()`) must stay the one: its manager unregisters or adopts any other. So this
 * script is loaded by that worker (`importScripts`, appended by the litebridge site-build step,
 * see `litebridge.site_build`) and adds the `ISOLATION_HEADERS` to the documents and workers
 * it serves:
 *
 * - `FetchEvent.prototype.respondWith` is wrapped, so whatever JupyterLite's handler answers
 *   gets the headers (its handler answers every same-origin GET outside `/api/`);
 * - a fetch listener registered after JupyterLite's answers the requests it left alone
 *   (documents and workers only, fetched from the network) and the probe at {@link PROBE_PATH}.
 *
 * The switch is read once per service-worker start from the `jupyter-lite.json` at the scope
 * root (`jupyter-config-data.litebridge.crossOriginIsolation: false` turns it off). The page
 * side (the labextension) reloads once when a reload would make it isolated.
 *
 * The approach is the one of gzuidhof/coi-serviceworker and WebReflection/mini-coi (rebuild the
 * response with COOP/COEP added, `require-corp` as mini-coi does so that Safari isolates too),
 * moved into the worker that already owns the scope instead of a second registration.
 *
 * @packageDocumentation
 */
import {
  PROBE_PATH,
  isolationEnabled,
  needsIsolationHeaders,
  withIsolationHeaders
} from './isolationHeaders';
import type { ProbeAnswer } from './isolationHeaders';

declare const self: ServiceWorkerGlobalScope;

const scope = self.registration.scope;
const probeUrl = new URL(PROBE_PATH, scope).href;
let enabled: Promise<boolean> | null = null;

/** Whether to isolate, from `<scope>/jupyter-lite.json` (fetched once per worker start). */
function isolationOn(): Promise<boolean> {
  enabled ??= fetch(new URL('jupyter-lite.json', scope), { cache: 'no-store' })
    .then(async (response) => (response.ok ? isolationEnabled(await response.json()) : true))
    .catch(() => true);
  return enabled;
}

async function probeResponse(): Promise<Response> {
  const answer: ProbeAnswer = { by: 'litebridge', crossOriginIsolation: await isolationOn() };
  return new Response(JSON.stringify(answer), {
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }
  });
}

async function isolate(destination: string, response: Response): Promise<Response> {
  if (!needsIsolationHeaders(destination) || !(await isolationOn())) {
    return response;
  }
  return withIsolationHeaders(response);
}

const answered = new WeakSet<FetchEvent>();
// eslint-disable-next-line @typescript-eslint/unbound-method -- always called with .call(event)
const respondWith = FetchEvent.prototype.respondWith;

FetchEvent.prototype.respondWith = function (
  this: FetchEvent,
  r: Response | PromiseLike<Response>
): void {
  answered.add(this);
  if (this.request.url === probeUrl) {
    respondWith.call(this, probeResponse());
    return;
  }
  const destination = this.request.destination;
  respondWith.call(
    this,
    Promise.resolve(r).then((response) => isolate(destination, response))
  );
};

self.addEventListener('fetch', (event: FetchEvent) => {
  if (answered.has(event)) {
    return;
  }
  const { request } = event;
  if (request.url === probeUrl) {
    event.respondWith(probeResponse());
  } else if (request.method === 'GET' && needsIsolationHeaders(request.destination)) {
    event.respondWith(fetch(request));
  }
});
