// Bundle the host module of embed() (src/embed/host.ts) into one dependency-free ES module,
// and copy it with the demo page into the labextension's static directory, which the wheel
// ships and `jupyter lite build` copies into every site (extensions/litebridge/static/). The
// Makefile also copies both to <site>/litebridge/ (the documented address). Run after
// `jupyter labextension build`, which rewrites that directory.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const outDir = here('../../py/litebridge/labextension/static/');

mkdirSync(outDir, { recursive: true });
await build({
  entryPoints: [here('../src/embed/host.ts')],
  outfile: `${outDir}embed.js`,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  legalComments: 'none',
  sourcemap: false,
  banner: { js: '// litebridge embed.js: import { embed } from "<site>/litebridge/embed.js" (see docs/embed.md)' },
  logLevel: 'warning'
});
copyFileSync(here('../src/embed/demo.html'), `${outDir}demo.html`);
