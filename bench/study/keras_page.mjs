// Page side of the study's Keras step: see keras_page.html. One engine loads
// its library, then the model from the local server (model.json + weights.bin,
// the same file for every engine), runs it on the seeded image and times it.
// import_ms: loading the library's scripts; backend_ms: its backend set-up
// (kiln.ready, tf.setBackend); load_ms: fetching and building the model;
// first_ms: the first inference (warm-up: shader compilation, planning).
import { loadScript, pageResources, timeWithinBudget } from '../common/page_loading.mjs';
import { initTfjsBackend } from '../common/tfjs_backend.mjs';
import { median } from '../common/stats.mjs';

const params = new URLSearchParams(location.search);
const engine = params.get('engine');
const modelName = params.get('model');
const threads = Number(params.get('threads') ?? 1);
const warmup = Number(params.get('warmup') ?? 3);
const iters = Number(params.get('iters') ?? 7);
const budget = Number(params.get('budget') ?? Infinity);
const DIR = `/build/study/keras/${modelName}/`;
const logEl = document.getElementById('log');
const log = (s) => { console.log(s); logEl.textContent += `${s}\n`; };
const now = () => performance.now();

async function f32(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Float32Array(await r.arrayBuffer());
}

// Each engine: library() -> namespace; backend(ns) -> info; load(ns) -> model; predict(ns, model, x) -> Float32Array.
const TFJS = {
  async library() {
    // TF.js's threaded wasm sizes its pthread pool from navigator.hardwareConcurrency / 2 (at most 4) when it
    // loads, and setThreadsCount cannot go past the pool (tfjs#5446, tfjs#8513): on a 2-CPU machine it runs
    // 1 thread. To measure it on `threads` threads, the page reports twice as many cores before it loads.
    if (engine === 'tfjs-wasm' && threads > 1 && navigator.hardwareConcurrency < 2 * threads)
      Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 2 * threads, configurable: true });
    await loadScript('/node_modules/@tensorflow/tfjs/dist/tf.min.js');
    const backend = engine.slice('tfjs-'.length);
    if (backend === 'wasm') await loadScript('/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');
    // The WebGPU backend is a separate package, installed with the peers (make peers).
    if (backend === 'webgpu') await loadScript('/bench/peers/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js');
    return globalThis.tf;
  },
  backend: (tf) => initTfjsBackend(tf, { backend: engine.slice('tfjs-'.length), wasm: tf.wasm, threads,
    wasmPaths: new URL('/node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href }),
  load: (tf) => tf.loadLayersModel(`${DIR}model.json`),
  // data(), not dataSync(): WebGPU cannot read back synchronously.
  async predict(tf, model, x) {
    const y = model.predict(x);
    const v = await y.data();
    y.dispose();
    return v;
  },
};
const ENGINES = {
  'kiln-wasm': {
    library: () => import('/lib/index.js'),
    async backend(kiln) {
      const b = await kiln.ready({ variant: threads > 1 ? 'threaded' : 'single', threads, quiet: true });
      return { variant: b.variant, threads: b.threads, gemmKernel: b.gemmKernel };
    },
    load: (kiln) => kiln.loadLayersModel(`${DIR}model.json`),
    async predict(kiln, model, x) {
      const y = model.predict(x);
      const v = y.dataSync();
      y.dispose();
      return v;
    },
  },
  'tfjs-wasm': TFJS, 'tfjs-cpu': TFJS, 'tfjs-webgl': TFJS, 'tfjs-webgpu': TFJS,
};

async function run() {
  const page = { crossOriginIsolated: self.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent };
  const e = ENGINES[engine];
  if (!e) throw new Error(`unknown engine '${engine}' (expected ${Object.keys(ENGINES).join(', ')})`);
  const meta = await (await fetch(`${DIR}meta.json`)).json();
  const input = await f32(`${DIR}input.f32`);
  const expected = await f32(`${DIR}expected.f32`);
  const t0 = now();
  const ns = await e.library();
  const tLib = now();
  const info = await e.backend(ns);
  if (navigator.hardwareConcurrency !== page.hardwareConcurrency) info.reportedHardwareConcurrency = navigator.hardwareConcurrency;
  const tBackend = now();
  const model = await e.load(ns);
  const tLoaded = now();
  const x = ns.tensor(input, [1, meta.size, meta.size, 3]);
  const out = await e.predict(ns, model, x);
  const tFirst = now();
  log(`${engine} ${modelName} ${threads} thread(s): first output after ${(tFirst - t0).toFixed(0)} ms`);
  // Within the budget (slow engines): the first run is the only warm-up when one run takes more than
  // a quarter of it, and at least two are timed.
  const { samples, warmupRuns } = await timeWithinBudget(() => e.predict(ns, model, x), { warmup, iters, budget, minWarmup: 0, minTimed: 2 });
  let err = 0;
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(expected[i] - out[i]) / Math.max(Math.abs(expected[i]), 1e-30));
  const resources = pageResources();
  return {
    engine, model: modelName, threads, params: meta.params, info, page, resources,
    import_ms: tLib - t0, backend_ms: tBackend - tLib, load_ms: tLoaded - tBackend, first_ms: tFirst - tLoaded,
    median_ms: median(samples), samples, warmup_runs: warmupRuns,
    // Against TF.js wasm's output in Node (keras_export.mjs): the largest relative error over the 1000 probabilities.
    max_rel_err: err, top_probability: Math.max(...out),
  };
}

run().then(
  // A short pause before reporting, so the driver's memory sampler sees the renderer after the work.
  (r) => setTimeout(() => { window.__result = r; }, 600),
  (e) => { window.__result = { engine, error: String(e && e.stack ? e.stack : e) }; log(`ERROR ${e}`); },
);
