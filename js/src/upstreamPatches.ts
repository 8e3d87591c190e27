/**
 * Keep the two patches of upstream code on only for the version they were written for.
 *
 * @packageDocumentation
 */
import { disableCoincidentResultFix } from './coincidentResultFix';
import type { FetchLike, VersionCheck } from './upstreamVersion';
import { PATCHED_EXTENSION, PATCHED_VERSIONS, checkKernelExtension, labextensionsUrl } from './upstreamVersion';
import { disableWaitAsyncFix } from './waitAsyncFix';

/**
 * Check the version of `@jupyterlite/pyodide-kernel-extension` on this site and switch both
 * patches (`waitAsyncFix`, `coincidentResultFix`) off, with one console warning each, when it
 * is not the one they were written for. When the version cannot be read, they stay on and one
 * warning says why.
 *
 * @param fetchFn - `fetch` (injectable for tests).
 * @param doc - The document whose `jupyter-config-data` gives the URL (default: this page's).
 * @param warn - Where warnings go (default `console.warn`).
 * @returns The check's outcome. Never rejects.
 */
export async function checkUpstreamPatches(
  fetchFn: FetchLike = (url) => fetch(url),
  doc: Pick<Document, 'getElementById'> | null = typeof document === 'undefined' ? null : document,
  warn: (message: string) => void = (m) => { console.warn(m); }
): Promise<VersionCheck> {
  const check = await checkKernelExtension(labextensionsUrl(doc), fetchFn);
  if (check.version === null) {
    warn(
      `litebridge: could not read the version of ${PATCHED_EXTENSION} (${check.reason ?? 'unknown'}); ` +
        `its patches for ${PATCHED_VERSIONS} stay on`
    );
  } else if (!check.ok) {
    const why = `they were written for ${PATCHED_EXTENSION} ${PATCHED_VERSIONS} (coincident 1.x), this page has ${check.version}`;
    disableWaitAsyncFix(why, warn);
    disableCoincidentResultFix(why, warn);
  }
  return check;
}
