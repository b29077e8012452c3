// Bundles the TypeScript output (build/js, from `tsc`) into the package's
// three entry modules in lib/: index.js (the API), worker.js (kiln/worker's
// page side) and worker_main.js (the worker itself). One file per entry
// instead of ~25 modules: a page that imports Kiln without a bundler (an
// import map) otherwise waits on a chain of module requests, which took
// 160-290 ms of a cold start in Chromium before anything else began.
// Minified (names kept; see below). esbuild leaves `new URL('./wasm/...', import.meta.url)` as it is, and the
// bundles sit where tsc's files did, so those URLs still name lib/wasm/.
import { build } from 'esbuild';
import { rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIB = join(ROOT, 'lib');
// Modules of an earlier layout must not linger in the package.
for (const f of readdirSync(LIB)) if (f.endsWith('.js')) rmSync(join(LIB, f));
await build({
  entryPoints: ['index', 'worker', 'worker_main'].map((e) => join(ROOT, 'build/js', `${e}.js`)),
  outdir: LIB,
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  legalComments: 'inline',
  // Smaller to download and parse: identifiers and syntax minified, but not
  // whitespace, which would drop the /* webpackIgnore: true */ and
  // /* @vite-ignore */ comments that keep bundlers off the Node-only imports.
  // keepNames keeps class names (errors and kiln/worker's handles name a
  // Tensor or a Sequential by them).
  minifyIdentifiers: true,
  minifySyntax: true,
  keepNames: true,
  logLevel: 'warning',
});
