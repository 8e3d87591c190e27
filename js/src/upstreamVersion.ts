/**
 * Which `@jupyterlite/pyodide-kernel-extension` this page runs, for the two patches of its
 * upstream code (`waitAsyncFix.ts`, `coincidentResultFix.ts`).
 *
 * Both patches work around races in coincident 1.x, which `@jupyterlite/pyodide-kernel` 0.8.x
 * bundles for its COOP/COEP worker; its main branch has moved to coincident 4.x. They must be
 * installed before the first kernel exists, that is before this version can be known (it takes
 * a fetch), so the labextension installs them at once and switches them off, with one console
 * warning each, when the check finds another version.
 *
 * The version is read from the extension's `package.json`, which `jupyter lite build` copies to
 * `<fullLabextensionsUrl>/@jupyterlite/pyodide-kernel-extension/package.json`; the URL comes
 * from the page's `jupyter-config-data` (the element JupyterLite's `PageConfig` reads).
 *
 * @packageDocumentation
 */

/** The federated extension whose bundled code the patches work around. */
export const PATCHED_EXTENSION = '@jupyterlite/pyodide-kernel-extension';

/** The versions the patches were written for (0.8.x, bundling coincident 1.x). */
export const PATCHED_VERSIONS = '0.8.x';

/** Whether `version` is one the patches were written for ({@link PATCHED_VERSIONS}). */
export function isPatchedVersion(version: string): boolean {
  return /^0\.8\.\d+([-.+].*)?$/.test(version);
}

/** The outcome of {@link checkKernelExtension}. */
export interface VersionCheck {
  /** The version found, or null if it could not be read. */
  version: string | null;
  /** True when `version` is one the patches were written for. */
  ok: boolean;
  /** Why the version could not be read (when `version` is null). */
  reason?: string;
}

/** `fetch` as far as this module uses it. */
export type FetchLike = (url: string) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/**
 * The `fullLabextensionsUrl` of the page config (`<script id="jupyter-config-data">`).
 *
 * @param doc - The document to read (default: this page's).
 * @returns The URL, or null when the page has no such config.
 */
export function labextensionsUrl(doc: Pick<Document, 'getElementById'> | null = typeof document === 'undefined' ? null : document): string | null {
  const text = doc?.getElementById('jupyter-config-data')?.textContent;
  if (typeof text !== 'string' || text === '') {
    return null;
  }
  try {
    const value = (JSON.parse(text) as Record<string, unknown>).fullLabextensionsUrl;
    return typeof value === 'string' && value !== '' ? value : null;
  } catch {
    return null;
  }
}

/**
 * Read the version of {@link PATCHED_EXTENSION} on this site.
 *
 * @param baseUrl - `fullLabextensionsUrl` (see {@link labextensionsUrl}); null when unknown.
 * @param fetchFn - `fetch` (injectable for tests).
 * @returns The version and whether the patches were written for it. Never rejects.
 */
export async function checkKernelExtension(baseUrl: string | null, fetchFn: FetchLike): Promise<VersionCheck> {
  if (baseUrl === null) {
    return { version: null, ok: false, reason: 'the page has no fullLabextensionsUrl in its jupyter-config-data' };
  }
  const url = `${baseUrl.replace(/\/+$/, '')}/${PATCHED_EXTENSION}/package.json`;
  try {
    const response = await fetchFn(url);
    if (!response.ok) {
      return { version: null, ok: false, reason: `${url} answered HTTP ${response.status}` };
    }
    const version = (await response.json() as { version?: unknown } | null)?.version;
    if (typeof version !== 'string') {
      return { version: null, ok: false, reason: `${url} has no version` };
    }
    return { version, ok: isPatchedVersion(version) };
  } catch (error) {
    return { version: null, ok: false, reason: `${url} could not be read: ${String(error)}` };
  }
}
