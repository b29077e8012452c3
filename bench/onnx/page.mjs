// Page side of the ONNX benchmark: see page.html. load_ms runs from the start
// of the engine (importing its JS, fetching and instantiating its wasm) through
// fetching the model from the local server and creating the session to the
// first output; its parts are reported too. The input image and the expected
// output are fetched before the clock starts. `blank` loads nothing: the
// renderer's memory baseline.
import { fetchBytes, pageResources, timeWithinBudget } from '../common/page_loading.mjs';
import { MODELS, inputShape, maxRelErr, median } from './models.mjs';

const params = new URLSearchParams(location.search);
const engine = params.get('engine');
const modelId = params.get('model');
const threads = Number(params.get('threads') ?? 1);
const warmup = Number(params.get('warmup') ?? 3);
const iters = Number(params.get('iters') ?? 20);
const budget = Number(params.get('budget') ?? Infinity);
const logEl = document.getElementById('log');
const log = (s) => { console.log(s); logEl.textContent += `${s}\n`; };
const now = () => performance.now();
const TV = '/build/torchvision/';
const ORT_DIST = '/node_modules/onnxruntime-web/dist/';

async function f32(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Float32Array(await r.arrayBuffer());
}

// Each engine: init() -> info; load(bytes) -> session; run(session, input) -> output values.
const ENGINES = {
  'kiln-wasm': {
    kiln: null,
    async init() {
      this.kiln = await import('/lib/index.js');
      const b = await this.kiln.ready({ variant: threads > 1 ? 'threaded' : 'single', threads, quiet: true });
      return { variant: b.variant, threads: b.threads, gemmKernel: b.gemmKernel };
    },
    async load(bytes) {
      const s = await this.kiln.onnx.load(bytes);
      return { s, inName: s.inputNames[0], outName: s.outputNames[0], x: null };
    },
    async run(h, input) {
      h.x ??= this.kiln.tensor(input, inputShape(modelId));
      const out = await h.s.run({ [h.inName]: h.x });
      const values = out[h.outName].dataSync();
      for (const t of Object.values(out)) t.dispose();
      return values;
    },
  },
  'ort-web': {
    ort: null,
    bundle: 'ort.wasm.min.mjs',
    providers: ['wasm'],
    async init() {
      this.ort = await import(`${ORT_DIST}${this.bundle}`);
      this.ort.env.wasm.numThreads = threads;
      this.ort.env.wasm.wasmPaths = new URL(ORT_DIST, location.href).href;
      this.ort.env.wasm.proxy = false;
      return { version: this.ort.env.versions?.common ?? null, threads };
    },
    async load(bytes) {
      const s = await this.ort.InferenceSession.create(bytes, { executionProviders: this.providers, graphOptimizationLevel: 'all' });
      return { s, inName: s.inputNames[0], outName: s.outputNames[0], x: null };
    },
    async run(h, input) {
      h.x ??= new this.ort.Tensor('float32', input, inputShape(modelId));
      const out = await h.s.run({ [h.inName]: h.x });
      return out[h.outName].data;
    },
  },
};

// ONNX Runtime Web's WebGPU execution provider (its own bundle); the page says which adapter it ran on.
ENGINES['ort-webgpu'] = {
  ...ENGINES['ort-web'],
  bundle: 'ort.webgpu.min.mjs',
  providers: ['webgpu'],
  async init() {
    if (!navigator.gpu) throw new Error('navigator.gpu is missing: this browser has no WebGPU (launch Chromium with --enable-unsafe-webgpu)');
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error('navigator.gpu.requestAdapter() found no adapter');
    const a = adapter.info ?? {};
    const info = await ENGINES['ort-web'].init.call(this);
    return { ...info, gpu: `WebGPU adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unnamed'}${a.isFallbackAdapter ? ' (fallback adapter)' : ''}` };
  },
};

async function run() {
  const page = { crossOriginIsolated: self.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent };
  if (engine === 'blank') return { engine, page, resources: [] };
  const e = ENGINES[engine];
  if (!e) throw new Error(`unknown engine '${engine}'`);
  if (!MODELS[modelId]) throw new Error(`unknown model '${modelId}'`);
  const input = await f32(`${TV}${modelId}.in.f32`);
  const expected = await f32(`${TV}${modelId}.out.f32`);
  const t0 = now();
  const info = await e.init();
  const tInit = now();
  const bytes = await fetchBytes(`${TV}${modelId}.onnx`);
  const tFetched = now();
  const h = await e.load(bytes);
  const tLoaded = now();
  const out = await e.run(h, input);
  const tFirst = now();
  log(`${engine} ${modelId} ${threads} thread(s): first output after ${(tFirst - t0).toFixed(0)} ms`);
  // Within the budget (GPU engines): at least one warm-up and three timed runs.
  const { samples, warmupRuns } = await timeWithinBudget(() => e.run(h, input), { warmup, iters, budget, minWarmup: 1, minTimed: 3 });
  const resources = pageResources();
  return {
    engine, model: modelId, threads, info, page, resources,
    init_ms: tInit - t0, fetch_ms: tFetched - tInit, session_ms: tLoaded - tFetched, first_run_ms: tFirst - tLoaded,
    load_ms: tFirst - t0, median_ms: median(samples), samples, warmup_runs: warmupRuns, max_rel_err: maxRelErr(out, expected),
  };
}

run().then(
  // A short pause before reporting, so the driver's memory sampler sees the renderer after the work.
  (r) => setTimeout(() => { window.__result = r; }, 600),
  (e) => { window.__result = { engine, error: String(e && e.stack ? e.stack : e) }; log(`ERROR ${e}`); },
);
