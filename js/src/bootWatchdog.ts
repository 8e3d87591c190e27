/**
 * A visible notice on the page when a kernel does not start.
 *
 * @packageDocumentation
 */

import { HIDDEN_ISOLATION } from './missingSabFix';

/** Default seconds before the notice shows (boots take 6-20 s on a slow two-core machine). */
export const BOOT_WATCHDOG_DEFAULT_MS = 60_000;

/**
 * A page may set `globalThis[BOOT_WATCHDOG_MS]` to another delay in milliseconds before it
 * starts a kernel (tests use a tiny one to see the notice come and go).
 */
export const BOOT_WATCHDOG_MS = Symbol.for('litebridge.bootWatchdogMs');

/** The CSS class of the notice element (one per kernel, `data-kernel-id` says which). */
export const BOOT_NOTICE_CLASS = 'litebridge-boot-notice';

/** What the watchdog needs of a kernel. */
export interface BootingKernel {
  readonly id: string;
  readonly ready: Promise<void>;
}

/** What the watchdog listens to on the kernel's worker (an `error` event). */
export interface ErrorSource {
  addEventListener(type: 'error', listener: (event: { message?: string }) => void): void;
}

function delayMs(): number {
  const configured = (globalThis as Record<symbol, unknown>)[BOOT_WATCHDOG_MS];
  return typeof configured === 'number' && configured >= 0 ? configured : BOOT_WATCHDOG_DEFAULT_MS;
}

/**
 * The reasons we can name for a kernel that has not started.
 *
 * @param workerError - The message of an `error` event of the kernel's worker, if one came.
 * @returns Sentences for the notice (at least one).
 */
export function bootDiagnosis(workerError: string | null): string[] {
  const scope = globalThis as unknown as Record<string | symbol, unknown>;
  const reasons: string[] = [];
  if (workerError !== null) {
    reasons.push(`The kernel's worker failed: ${workerError}.`);
  }
  if (scope[HIDDEN_ISOLATION] === true) {
    reasons.push(
      'This browser reports the page as cross-origin isolated but has no SharedArrayBuffer; ' +
        'litebridge steered the kernel to its worker that needs none.'
    );
  }
  if (typeof (globalThis as { WebAssembly?: unknown }).WebAssembly !== 'object') {
    reasons.push('This browser has no WebAssembly, which Pyodide needs.');
  }
  reasons.push('The browser console (developer tools) may say more.');
  return reasons;
}

/**
 * Show a notice on the page if `kernel` is not ready after the watchdog delay (or as soon as
 * its worker reports an error), and remove it once the kernel becomes ready.
 *
 * @param kernel - The kernel just created.
 * @param worker - Its worker, to hear load errors from (anything without `addEventListener`
 *   is ignored).
 * @param doc - The document to show the notice in (default: the page's).
 * @returns A function that stops watching (removes the notice, cancels the timer).
 */
export function watchKernelBoot(
  kernel: BootingKernel,
  worker: unknown,
  doc: Document = globalThis.document
): () => void {
  let notice: HTMLElement | null = null;
  let ready = false;
  let workerError: string | null = null;
  const show = (): void => {
    if (ready) {
      return;
    }
    const seconds = Math.round(delayMs() / 100) / 10;
    const text =
      `litebridge: the Python kernel ${kernel.id} has not started` +
      (workerError === null ? ` after ${seconds} s. ` : '. ') +
      bootDiagnosis(workerError).join(' ');
    console.error(text);
    if (notice === null) {
      notice = doc.createElement('div');
      notice.className = BOOT_NOTICE_CLASS;
      notice.dataset.kernelId = kernel.id;
      notice.setAttribute('role', 'alert');
      notice.style.cssText =
        'position:fixed;left:1em;bottom:1em;z-index:10000;max-width:40em;padding:0.75em 1em;' +
        'background:#fff3f3;color:#5c0000;border:2px solid #c00;border-radius:4px;font:14px sans-serif';
      doc.body.appendChild(notice);
    }
    notice.textContent = text;
  };
  const stop = (): void => {
    ready = true;
    clearTimeout(timer);
    notice?.remove();
    notice = null;
  };
  const timer = setTimeout(show, delayMs());
  const source = worker as Partial<ErrorSource> | null;
  if (typeof source?.addEventListener === 'function') {
    source.addEventListener('error', (event) => {
      workerError = event.message ?? 'unknown error';
      show();
    });
  }
  kernel.ready.then(stop, (error: unknown) => {
    workerError = String(error);
    show();
  });
  return stop;
}
