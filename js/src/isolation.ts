/**
 * Page side of the cross-origin isolation service worker (src/worker/isolationServiceWorker.ts):
 * on a page that is not cross-origin isolated, wait until JupyterLite's service worker controls
 * it, ask that worker (a probe request) whether it would serve the page with COOP/COEP, and if
 * so reload the page, at most once per browser tab session.
 *
 * Off when `jupyter-config-data.litebridge.crossOriginIsolation` is `false`.
 *
 * @packageDocumentation
 */
import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { PROBE_PATH, isolationEnabled } from './worker/isolationHeaders';
import type { ProbeAnswer } from './worker/isolationHeaders';

/**
 * `sessionStorage` key set just before the automatic reload (value: `Date.now()` as text). It
 * stays for the tab's session, so a tab never reloads itself twice.
 */
export const RELOAD_KEY = 'litebridge:isolation-reload';

/** How long to wait for a service worker to take control of the page (ms). */
export const CONTROLLER_TIMEOUT_MS = 30_000;

/** What {@link decideIsolation} looks at. */
export interface IsolationState {
  /** `self.crossOriginIsolated`. */
  readonly isolated: boolean;
  /** The site's setting (`isolationEnabled` of the page's `jupyter-config-data`). */
  readonly enabled: boolean;
  /** Whether the automatic reload already happened in this tab session. */
  readonly reloaded: boolean;
  /** The controlling service worker's probe answer; null if there is none or it did not answer. */
  readonly probe: ProbeAnswer | null;
}

/** What to do: nothing, reload, or warn that the reload did not isolate the page. */
export type IsolationAction = 'none' | 'reload' | 'warn';

/**
 * Decide whether to reload the page.
 *
 * @param state - See {@link IsolationState}.
 * @returns `'reload'` when the page is not isolated, the setting is on, the service worker says
 *   it isolates and no automatic reload happened yet; `'warn'` when it already did and the page
 *   is still not isolated; `'none'` otherwise.
 */
export function decideIsolation(state: IsolationState): IsolationAction {
  if (state.isolated || !state.enabled || state.probe?.crossOriginIsolation !== true) {
    return 'none';
  }
  return state.reloaded ? 'warn' : 'reload';
}

/**
 * Parse a probe response body.
 *
 * @param body - The parsed JSON of the probe response (any value).
 * @returns The answer, or null when the body is not one (e.g. a server's 404 page).
 */
export function parseProbe(body: unknown): ProbeAnswer | null {
  if (body === null || typeof body !== 'object') {
    return null;
  }
  const answer = body as Partial<ProbeAnswer>;
  if (answer.by !== 'litebridge' || typeof answer.crossOriginIsolation !== 'boolean') {
    return null;
  }
  return { by: 'litebridge', crossOriginIsolation: answer.crossOriginIsolation };
}

/** The merged `jupyter-config-data` that JupyterLite's config-utils.js writes into the page. */
function pageConfigData(): unknown {
  const text = document.getElementById('jupyter-config-data')?.textContent;
  try {
    return text ? (JSON.parse(text) as unknown) : null;
  } catch {
    return null;
  }
}

/** The controlling service worker's registration, once there is one; null after `timeoutMs`. */
async function controlled(timeoutMs: number): Promise<ServiceWorkerRegistration | null> {
  const container = navigator.serviceWorker;
  if (container.controller === null) {
    const changed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        resolve(false);
      }, timeoutMs);
      container.addEventListener(
        'controllerchange',
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        { once: true }
      );
    });
    if (!(await changed)) {
      return null;
    }
  }
  return (await container.getRegistration()) ?? null;
}

async function probe(registration: ServiceWorkerRegistration): Promise<ProbeAnswer | null> {
  try {
    const response = await fetch(new URL(PROBE_PATH, registration.scope), { cache: 'no-store' });
    return response.ok ? parseProbe(await response.json()) : null;
  } catch {
    return null;
  }
}

/**
 * Reload the page once if the service worker would make it cross-origin isolated.
 *
 * @returns The action taken. Never rejects: failures are logged as warnings.
 */
export async function ensureIsolation(): Promise<IsolationAction> {
  if (self.crossOriginIsolated) {
    return 'none';
  }
  if (window.top !== window.self) {
    // In an iframe (an embed, docs/embed.md) isolation follows the embedding page's headers
    // and the iframe's `allow` attribute: reloading the frame cannot change it.
    return 'none';
  }
  const enabled = isolationEnabled(pageConfigData(), true);
  if (!enabled || !('serviceWorker' in navigator) || !self.isSecureContext) {
    return 'none';
  }
  const registration = await controlled(CONTROLLER_TIMEOUT_MS);
  const action = decideIsolation({
    isolated: false,
    enabled,
    reloaded: sessionStorage.getItem(RELOAD_KEY) !== null,
    probe: registration === null ? null : await probe(registration)
  });
  if (action === 'reload') {
    sessionStorage.setItem(RELOAD_KEY, String(Date.now()));
    console.info('litebridge: reloading once so that the service worker makes this page cross-origin isolated');
    location.reload();
  } else if (action === 'warn') {
    console.warn(
      'litebridge: still not cross-origin isolated after the reload by the service worker; ' +
        'page.call_sync uses JSPI or is unavailable. Serve the site with COOP/COEP headers instead.'
    );
  }
  return action;
}

/** The plugin: runs {@link ensureIsolation} when the app starts (it never blocks the start). */
export const isolationPlugin: JupyterFrontEndPlugin<void> = {
  id: 'litebridge:isolation',
  description:
    'litebridge: reload once so that the service worker makes the page cross-origin isolated (SharedArrayBuffer).',
  autoStart: true,
  activate: (): void => {
    void ensureIsolation().catch((error: unknown) => {
      console.warn('litebridge: cross-origin isolation check failed', error);
    });
  }
};
