/**
 * Pure pieces of the cross-origin-isolation service worker (see isolationServiceWorker.ts):
 * which responses get the COOP/COEP/CORP headers, how they are added, and how the site's
 * `jupyter-lite.json` switches it off. No service-worker globals: unit-tested in node.
 *
 * @packageDocumentation
 */

/** The headers that make a document (and the workers it starts) cross-origin isolated. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  // require-corp rather than credentialless: Safari implements only require-corp
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin'
});

/**
 * Path, relative to the service worker's scope, that the patched service worker answers with
 * {@link ProbeAnswer} JSON: the page asks it whether a reload would isolate it. Under `api/`,
 * where JupyterLite's own service worker answers nothing but its own endpoints.
 */
export const PROBE_PATH = 'api/litebridge/isolation';

/** What the service worker answers at {@link PROBE_PATH}. */
export interface ProbeAnswer {
  /** Always `"litebridge"`: tells the answer apart from a server's 404 page or anything else. */
  readonly by: 'litebridge';
  /** Whether documents and workers it serves get {@link ISOLATION_HEADERS}. */
  readonly crossOriginIsolation: boolean;
}

/**
 * Request destinations whose responses decide isolation: documents (top level and frames)
 * and workers. Other same-origin subresources load under `require-corp` without headers.
 */
const POLICY_DESTINATIONS: ReadonlySet<string> = new Set([
  'document',
  'iframe',
  'frame',
  'worker',
  'sharedworker'
]);

/** Statuses whose responses must have a null body (the Response constructor throws otherwise). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/**
 * Whether a response to a request of this destination needs the isolation headers.
 *
 * @param destination - `Request.destination`, e.g. `"document"`, `"worker"`, `"script"`.
 * @returns true for documents, frames and (shared) workers.
 */
export function needsIsolationHeaders(destination: string): boolean {
  return POLICY_DESTINATIONS.has(destination);
}

/**
 * A copy of `response` with {@link ISOLATION_HEADERS} set (existing values are replaced).
 *
 * Opaque responses (status 0: cross-origin no-cors, opaque redirects of navigations) and error
 * responses cannot be rebuilt and are returned unchanged, as are responses that already carry
 * all three headers with these values.
 *
 * @param response - A response a fetch handler is about to answer with.
 * @returns The response to answer with instead.
 */
export function withIsolationHeaders(response: Response): Response {
  if (response.status === 0 || response.type === 'opaqueredirect' || response.type === 'error') {
    return response;
  }
  const entries = Object.entries(ISOLATION_HEADERS);
  if (entries.every(([name, value]) => response.headers.get(name) === value)) {
    return response;
  }
  const headers = new Headers(response.headers);
  for (const [name, value] of entries) {
    headers.set(name, value);
  }
  return new Response(NULL_BODY_STATUSES.has(response.status) ? null : response.body, {
    status: response.status,
    statusText: response.statusText,
    headers
  });
}

/**
 * Read the opt-out from a parsed `jupyter-lite.json` (or merged `jupyter-config-data`):
 * `{"jupyter-config-data": {"litebridge": {"crossOriginIsolation": false}}}` switches the
 * isolation off. Anything else, including a missing or malformed file, leaves it on.
 *
 * @param config - The parsed `jupyter-lite.json`, or the `jupyter-config-data` object itself
 *   when `isConfigData` is true; any JSON value is accepted.
 * @param isConfigData - `config` is already the `jupyter-config-data` object.
 * @returns false only when `crossOriginIsolation` is exactly `false`.
 */
export function isolationEnabled(config: unknown, isConfigData = false): boolean {
  const data = isConfigData ? config : field(config, 'jupyter-config-data');
  return field(field(data, 'litebridge'), 'crossOriginIsolation') !== false;
}

function field(value: unknown, name: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  return (value as Record<string, unknown>)[name];
}
