// Page side of the per-op bench in Chromium: one engine on one thread.
import { timeOps } from './ops.mjs';
import { loadScript } from '../common/page_loading.mjs';
import { initTfjsBackend } from '../common/tfjs_backend.mjs';

const engine = new URLSearchParams(location.search).get('engine');

async function library() {
  if (engine === 'kiln-wasm') {
    const kiln = await import('/lib/index.js');
    await kiln.ready({ variant: 'single', threads: 1, quiet: true });
    return kiln;
  }
  if (engine === 'tfjs-wasm' || engine === 'tfjs-cpu') {
    await loadScript('/node_modules/@tensorflow/tfjs/dist/tf.min.js');
    const backend = engine.slice('tfjs-'.length);
    if (backend === 'wasm') await loadScript('/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');
    const wasmPaths = new URL('/node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href;
    await initTfjsBackend(window.tf, { backend, wasm: window.tf.wasm, wasmPaths, threads: 1 });
    return window.tf;
  }
  throw new Error(`unknown engine '${engine}'`);
}

library().then((lib) => { window.__result = { engine, ops: timeOps(lib) }; },
  (e) => { window.__result = { engine, error: String(e && e.stack ? e.stack : e) }; });
