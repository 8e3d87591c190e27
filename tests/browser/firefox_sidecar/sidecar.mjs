// Drives Debian's firefox-esr for the litebridge browser tests (tests/browser/firefox_page.py).
//
// puppeteer-core over WebDriver BiDi. One JSON request per line on stdin, one JSON answer per
// line on stdout, strictly in turn:
//   {"id": 1, "op": "launch", "proxy": "127.0.0.1:PORT"}           -> {"id": 1, "ok": true, "value": "<version>"}
//   {"id": 2, "op": "newPage"}                                     -> value: page number
//   {"id": 3, "op": "goto", "page": 1, "url": "...", "timeoutMs": 60000}
//   {"id": 4, "op": "call", "page": 1, "fn": "<source>", "args": [...]}  -> value: what fn returned
//   {"id": 5, "op": "url" | "close" | "console" | "front", "page": 1}
//   {"id": 6, "op": "quit"}
// Failures answer {"id": n, "ok": false, "error": "<message>"}. Everything the page asks of a
// host other than 127.0.0.1 goes to the test's refusing proxy ("proxy"), Firefox's own background
// traffic included (remote settings are pointed at 127.0.0.1 instead).
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

const FIREFOX = process.env.LITEBRIDGE_FIREFOX ?? '/usr/bin/firefox-esr';
let browser = null;
const pages = new Map();
const consoles = new Map();
let nextPage = 1;

function firefoxPrefs(proxy) {
  const [host, port] = proxy.split(':');
  return {
    'network.proxy.type': 1,
    'network.proxy.http': host,
    'network.proxy.http_port': Number(port),
    'network.proxy.ssl': host,
    'network.proxy.ssl_port': Number(port),
    'network.proxy.no_proxies_on': '127.0.0.1',
    'network.proxy.allow_hijacking_localhost': false,
    'network.dns.disablePrefetch': true,
    'network.prefetch-next': false,
    // honoured only with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 (set below)
    'services.settings.server': 'http://127.0.0.1:9/v1',
  };
}

function page(id) {
  const found = pages.get(id);
  if (!found) throw new Error(`no page ${id}`);
  return found;
}

const ops = {
  async launch({ proxy }) {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      protocolTimeout: 600_000,
      extraPrefsFirefox: firefoxPrefs(proxy),
      env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
    });
    return browser.version();
  },
  async newPage() {
    const created = await browser.newPage();
    const id = nextPage++;
    const lines = [];
    created.on('console', (message) => lines.push(`[${message.type()}] ${message.text()}`));
    created.on('pageerror', (error) => lines.push(`[pageerror] ${error?.message ?? error}`));
    pages.set(id, created);
    consoles.set(id, lines);
    return id;
  },
  async goto({ page: id, url, timeoutMs }) {
    await page(id).goto(url, { waitUntil: 'load', timeout: timeoutMs });
    return null;
  },
  async call({ page: id, fn, args }) {
    // fn is a function source; puppeteer sends it as the function to run in the page
    const target = page(id);
    return target.evaluate(new Function(`return (${fn});`)(), ...args);
  },
  async front({ page: id }) {
    await page(id).bringToFront();
    return null;
  },
  async url({ page: id }) {
    return page(id).url();
  },
  async console({ page: id }) {
    return consoles.get(id) ?? [];
  },
  async close({ page: id }) {
    const target = pages.get(id);
    pages.delete(id);
    if (target && !target.isClosed()) await target.close();
    return null;
  },
  async quit() {
    if (browser) await browser.close();
    browser = null;
    return null;
  },
};

const write = (answer) => process.stdout.write(JSON.stringify(answer) + '\n');
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let request;
  try {
    request = JSON.parse(line);
    const op = ops[request.op];
    if (!op) throw new Error(`unknown op ${JSON.stringify(request.op)}`);
    write({ id: request.id, ok: true, value: (await op(request)) ?? null });
  } catch (error) {
    write({ id: request?.id ?? null, ok: false, error: String(error?.message ?? error) });
  }
  if (request?.op === 'quit') break;
}
if (browser) await browser.close().catch(() => {});
process.exit(0);
