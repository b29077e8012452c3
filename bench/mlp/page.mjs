// Page side of the MLP benchmark: see page.html.
import { loadScript, pageResources } from '../common/page_loading.mjs';
import { FULL_GRID, FULL_PROTOCOL, QUICK_GRID, QUICK_PROTOCOL, cellsOf } from './common.mjs';
import { kerasJsFileName } from './peer_engines.mjs';

const params = new URLSearchParams(location.search);
const PEER_SCRIPTS = {
  brainjs: ['/bench/peers/node_modules/brain.js/browser.min.js', 'brain', '/bench/peers/node_modules/brain.js/package.json'],
  synaptic: ['/bench/peers/node_modules/synaptic/dist/synaptic.min.js', 'synaptic', '/bench/peers/node_modules/synaptic/package.json'],
  convnetjs: ['/node_modules/convnetjs/build/convnet-min.js', 'convnetjs', '/node_modules/convnetjs/package.json'],
  kerasjs: ['/bench/peers/node_modules/keras-js/dist/keras.min.js', 'KerasJS', '/bench/peers/node_modules/keras-js/package.json'],
};
// Keras.js's model files, written by bench/run_mlp.mjs (bench/mlp/kerasjs_files.mjs) before the page runs.
const kerasJsFile = (cell) => ({ filepath: `/build/kerasjs-mlp/${kerasJsFileName(cell)}`, filesystem: false, bytes: null });
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
  if (engine === 'tfjs-cpu' || engine === 'tfjs-wasm' || engine === 'tfjs-webgl' || engine === 'tfjs-webgpu') {
    const t0 = performance.now();
    await loadScript('/node_modules/@tensorflow/tfjs/dist/tf.min.js');
    const backend = engine.slice('tfjs-'.length);
    if (backend === 'wasm') await loadScript('/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');
    // The WebGPU backend is a separate package, installed with the peers (make peers).
    if (backend === 'webgpu') await loadScript('/bench/peers/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js');
    const importMs = performance.now() - t0;
    const tf = globalThis.tf;
    const { runTfjs } = await import('./tfjs_engine.mjs');
    const wasmPaths = new URL('/node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href;
    const budgetMs = backend === 'webgpu' ? Number(params.get('budget') ?? Infinity) * 1000 : Infinity;
    const out = await runTfjs(tf, { backend, wasm: tf.wasm, wasmPaths, threads, cells, protocol, log, budgetMs });
    out.info.importMs = Math.round(importMs);
    return { ...out, page };
  }
  if (PEER_SCRIPTS[engine]) {
    // The peers' browser builds define globals, as a page that uses them would load them.
    const [script, global, packageJson] = PEER_SCRIPTS[engine];
    const t0 = performance.now();
    await loadScript(script);
    const importMs = performance.now() - t0;
    const version = (await (await fetch(packageJson)).json()).version;
    const { runPeer } = await import('./peer_engines.mjs');
    const budgetMs = Number(params.get('budget') ?? Infinity) * 1000;
    const out = await runPeer(engine, globalThis[global], { version, cells, protocol, log, budgetMs, modelFile: kerasJsFile });
    out.info.importMs = Math.round(importMs);
    return { ...out, page };
  }
  throw new Error(`unknown engine '${engine}'`);
}

run().then(
  // The library files the page fetched, for the download size (bench/common/page_download.mjs).
  (r) => { window.__result = { ...r, resources: pageResources() }; },
  (e) => { window.__result = { engine, error: String(e && e.stack ? e.stack : e) }; log(`ERROR ${e}`); },
);
