import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { BOOT_NOTICE_CLASS, BOOT_WATCHDOG_MS, watchKernelBoot } from '../src/bootWatchdog';

/** Just enough of a Document for the notice: elements appended to `body` are listed. */
class FakeDocument {
  readonly shown: FakeElement[] = [];
  readonly body = { appendChild: (element: FakeElement) => this.shown.push(element) };
  createElement(): FakeElement {
    return new FakeElement(this);
  }
}

class FakeElement {
  className = '';
  textContent = '';
  readonly dataset: Record<string, string> = {};
  readonly style = { cssText: '' };
  readonly attributes: Record<string, string> = {};
  constructor(private readonly doc: FakeDocument) {}
  setAttribute(name: string, value: string): void {
    this.attributes[name] = value;
  }
  remove(): void {
    this.doc.shown.splice(this.doc.shown.indexOf(this), 1);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const scope = globalThis as unknown as Record<symbol, unknown>;

describe('watchKernelBoot', () => {
  const errors: unknown[] = [];
  const originalError = console.error;
  before(() => {
    console.error = (...args: unknown[]) => errors.push(args.join(' '));
  });
  after(() => {
    console.error = originalError;
  });
  afterEach(() => {
    scope[BOOT_WATCHDOG_MS] = undefined;
    errors.length = 0;
  });

  it('shows a notice when the kernel is not ready in time, and removes it when it is', async () => {
    scope[BOOT_WATCHDOG_MS] = 5;
    const doc = new FakeDocument();
    let ready!: () => void;
    const kernel = { id: 'k1', ready: new Promise<void>((resolve) => (ready = resolve)) };
    watchKernelBoot(kernel, null, doc as unknown as Document);
    assert.equal(doc.shown.length, 0);
    await sleep(30);
    assert.equal(doc.shown.length, 1);
    const notice = doc.shown[0];
    assert.equal(notice.className, BOOT_NOTICE_CLASS);
    assert.equal(notice.dataset.kernelId, 'k1');
    assert.equal(notice.attributes.role, 'alert');
    assert.match(notice.textContent, /kernel k1 has not started after 0 s/);
    assert.match(String(errors[0]), /has not started/);
    ready();
    await sleep(0);
    assert.equal(doc.shown.length, 0);
  });

  it('shows nothing for a kernel that is ready in time', async () => {
    scope[BOOT_WATCHDOG_MS] = 20;
    const doc = new FakeDocument();
    watchKernelBoot({ id: 'k2', ready: Promise.resolve() }, null, doc as unknown as Document);
    await sleep(40);
    assert.equal(doc.shown.length, 0);
  });

  it("names the worker's error at once", () => {
    const doc = new FakeDocument();
    let fire!: (event: { message?: string }) => void;
    const worker = { addEventListener: (_type: string, listener: typeof fire) => (fire = listener) };
    const stop = watchKernelBoot({ id: 'k3', ready: new Promise<void>(() => {}) }, worker, doc as unknown as Document);
    fire({ message: 'SyntaxError: bad worker' });
    assert.equal(doc.shown.length, 1);
    assert.match(doc.shown[0].textContent, /worker failed: SyntaxError: bad worker/);
    stop();
    assert.equal(doc.shown.length, 0);
  });
});
