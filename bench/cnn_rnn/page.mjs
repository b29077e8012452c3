// Page side of the CNN / RNN benchmark: see page.html.
import { loadScript } from '../common/page_loading.mjs';
import { FULL_PROTOCOL, MODELS, MODEL_IDS, QUICK_PROTOCOL } from './models.mjs';

const params = new URLSearchParams(location.search);
const engine = params.get('engine');
const quick = params.get('quick') === '1';
const threads = Number(params.get('threads') ?? 2);
const specs = (params.get('models') ?? MODEL_IDS.join(',')).split(',').map((id) => MODELS[id]);
const logEl = document.getElementById('log');
const log = (s) => {
  console.log(s);
  logEl.textContent += `${s}\n`;
};

async function run() {
  const protocol = quick ? QUICK_PROTOCOL : FULL_PROTOCOL;
  const page = { crossOriginIsolated: self.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent };
  // Models finished so far, for the driver to keep if the page runs out of time.
  const onRecord = (_rec, results) => { window.__partial = { engine, page, results: [...results] }; };
  const common = { specs, protocol, log, onRecord };
  if (engine === 'kiln-wasm-single' || engine === 'kiln-wasm-threaded') {
    const kiln = await import('/lib/index.js');
    const { runKiln } = await import('./kiln_engine.mjs');
    const variant = engine === 'kiln-wasm-single' ? 'single' : 'threaded';
    return { ...(await runKiln(kiln, { variant, threads: variant === 'single' ? 1 : threads, ...common })), page };
  }
  if (engine === 'tfjs-cpu' || engine === 'tfjs-wasm' || engine === 'tfjs-webgl') {
    await loadScript('/node_modules/@tensorflow/tfjs/dist/tf.min.js');
    const backend = engine.slice('tfjs-'.length);
    if (backend === 'wasm') await loadScript('/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');
    const tf = globalThis.tf;
    const { runTfjs } = await import('./tfjs_engine.mjs');
    const wasmPaths = new URL('/node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href;
    return { ...(await runTfjs(tf, { backend, wasm: tf.wasm, wasmPaths, threads, ...common })), page };
  }
  if (engine === 'convnetjs') {
    await loadScript('/node_modules/convnetjs/build/convnet.js');
    const version = (await (await fetch('/node_modules/convnetjs/package.json')).json()).version;
    const { runConvnetjs } = await import('./convnetjs_engine.mjs');
    return { ...(await runConvnetjs(globalThis.convnetjs, { version, ...common })), page };
  }
  throw new Error(`unknown engine '${engine}'`);
}

run().then(
  (r) => { window.__result = r; },
  (e) => { window.__result = { engine, error: String(e && e.stack ? e.stack : e) }; log(`ERROR ${e}`); },
);
