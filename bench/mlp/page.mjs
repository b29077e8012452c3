// Page side of the MLP benchmark: see page.html.
import { loadScript } from '../common/page_loading.mjs';
import { FULL_GRID, FULL_PROTOCOL, QUICK_GRID, QUICK_PROTOCOL, cellsOf } from './common.mjs';

const params = new URLSearchParams(location.search);
const engine = params.get('engine');
const quick = params.get('quick') === '1';
const threads = Number(params.get('threads') ?? 2);
const logEl = document.getElementById('log');
const log = (s) => {
  console.log(s);
  logEl.textContent += `${s}\n`;
};

async function run() {
  const gridArg = params.get('grid')?.split('x').map((l) => l.split(',').map(Number));
  const cells = cellsOf(gridArg ? { depths: gridArg[0], widths: gridArg[1] } : quick ? QUICK_GRID : FULL_GRID);
  const protocol = quick ? QUICK_PROTOCOL : FULL_PROTOCOL;
  const page = { crossOriginIsolated: self.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent };
  if (engine === 'kiln-wasm-single' || engine === 'kiln-wasm-threaded') {
    const t0 = performance.now();
    const kiln = await import('/lib/index.js');
    const importMs = performance.now() - t0;
    const { runKiln } = await import('./kiln_engine.mjs');
    const variant = engine === 'kiln-wasm-single' ? 'single' : 'threaded';
    const out = await runKiln(kiln, { variant, threads: variant === 'single' ? 1 : threads, cells, protocol, log });
    out.info.importMs = Math.round(importMs);
    return { ...out, page };
  }
  if (engine === 'tfjs-cpu' || engine === 'tfjs-wasm' || engine === 'tfjs-webgl') {
    const t0 = performance.now();
    await loadScript('/node_modules/@tensorflow/tfjs/dist/tf.min.js');
    const backend = engine.slice('tfjs-'.length);
    if (backend === 'wasm') await loadScript('/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');
    const importMs = performance.now() - t0;
    const tf = globalThis.tf;
    const { runTfjs } = await import('./tfjs_engine.mjs');
    const wasmPaths = new URL('/node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href;
    const out = await runTfjs(tf, { backend, wasm: tf.wasm, wasmPaths, threads, cells, protocol, log });
    out.info.importMs = Math.round(importMs);
    return { ...out, page };
  }
  throw new Error(`unknown engine '${engine}'`);
}

run().then(
  (r) => { window.__result = r; },
  (e) => { window.__result = { engine, error: String(e && e.stack ? e.stack : e) }; log(`ERROR ${e}`); },
);
