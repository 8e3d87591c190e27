/**
 * Work-around for browsers that are cross-origin isolated but have no `SharedArrayBuffer`.
 *
 * @packageDocumentation
 */

/**
 * Set (to the original value, `true`) on the global object when the fix hid
 * `crossOriginIsolated`, so that tests and the boot watchdog can tell.
 */
export const HIDDEN_ISOLATION = Symbol.for('litebridge.hiddenCrossOriginIsolation');

/** The globals the fix reads and changes. */
export interface IsolationScope {
  crossOriginIsolated?: boolean;
  SharedArrayBuffer?: unknown;
  [HIDDEN_ISOLATION]?: true;
}

/**
 * Make `crossOriginIsolated` read `false` on this page when the browser reports it `true` but
 * has no `SharedArrayBuffer`.
 *
 * Upstream cause: `@jupyterlite/pyodide-kernel` 0.8.6 picks its worker by the page's
 * `crossOriginIsolated` alone (`PyodideKernel.initWorker` / `initRemote`): when it is true it
 * loads the coincident worker, which talks over a SharedArrayBuffer, and its extension mounts
 * the drive over Atomics. WebKitGTK 2.50 under COOP/COEP reports `crossOriginIsolated === true`
 * without a `SharedArrayBuffer` global, so that worker never answers and the kernel never boots,
 * with no error anywhere. Seen as not isolated, the page gets the comlink worker, which boots.
 *
 * Only the page's global changes; the kernel's worker still sees its own `crossOriginIsolated`
 * (and, having no `SharedArrayBuffer` either, litebridge reports transport `async` there).
 * It must run before the first kernel is created: the labextension calls it when its module is
 * loaded.
 *
 * @param scope - The global object to fix (default `globalThis`; a plain object in unit tests).
 * @returns `true` if `crossOriginIsolated` is now hidden by this call; `false` when there is
 *   nothing to fix (not isolated, or `SharedArrayBuffer` exists) or it was hidden already.
 */
export function installMissingSabFix(scope: IsolationScope = globalThis): boolean {
  if (scope[HIDDEN_ISOLATION] === true) {
    return false;
  }
  if (scope.crossOriginIsolated !== true || typeof scope.SharedArrayBuffer === 'function') {
    return false;
  }
  Object.defineProperty(scope, 'crossOriginIsolated', {
    get: () => false,
    configurable: true,
    enumerable: true
  });
  Object.defineProperty(scope, HIDDEN_ISOLATION, { value: true, configurable: true });
  return true;
}
