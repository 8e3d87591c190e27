// Bundle the worker helper (src/worker/helper.ts) into ../py/litebridge/_worker.js, and the
// service-worker addition (src/worker/isolationServiceWorker.ts) into ../py/litebridge/_isolation_sw.js.
// The output is one expression statement, so that `pyodide.code.run_js(text)` (an eval)
// returns a fresh WorkerHelper as its completion value.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

await build({
  entryPoints: [here('../src/worker/helper.ts')],
  outfile: here('../../py/litebridge/_worker.js'),
  bundle: true,
  format: 'iife',
  globalName: 'litebridgeWorkerModule',
  target: 'es2022',
  platform: 'browser',
  legalComments: 'none',
  banner: { js: '// litebridge worker helper: evaluate with pyodide.code.run_js(text) -> WorkerHelper\n(() => {' },
  footer: { js: 'return litebridgeWorkerModule.createWorkerHelper();\n})();' },
  logLevel: 'warning'
});

await build({
  entryPoints: [here('../src/worker/isolationServiceWorker.ts')],
  outfile: here('../../py/litebridge/_isolation_sw.js'),
  bundle: true,
  format: 'iife',
  target: 'es2022',
  platform: 'browser',
  legalComments: 'none',
  banner: { js: '// litebridge: cross-origin isolation inside JupyterLite\'s service worker (importScripts)' },
  logLevel: 'warning'
});
