// Page side of the zoo benchmark in Chromium (bench/run_zoo.mjs --browser):
// Kiln's wasm or onnxruntime-web's wasm execution provider on one model of
// bench/zoo/models.mjs, with the same feeds as the Node run. Latency: median
// of `iters` runs after `warmup` runs and at least one second (so V8 has
// tiered the wasm up); first_ms: from the model's bytes to the first output.
import { ZOO_MODELS } from './models.mjs';

const params = new URLSearchParams(location.search);
const engine = params.get('engine'), name = params.get('model');
const threads = Number(params.get('threads') ?? 1), warmup = Number(params.get('warmup') ?? 5), iters = Number(params.get('iters') ?? 30);
const ORT_DIST = '/node_modules/onnxruntime-web/dist/';
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function setup(bytes, feeds) {
  if (engine === 'kiln-wasm') {
    const kiln = await import('/lib/index.js');
    await kiln.ready({ variant: threads > 1 ? 'threaded' : 'single', threads, quiet: true });
    const session = await kiln.onnx.load(bytes);
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, kiln.tensor(f.values, f.shape, f.dtype)]));
    return async () => { for (const t of Object.values(await session.run(inputs))) t.dataSync(); };
  }
  if (engine === 'ort-web') {
    const ort = await import(`${ORT_DIST}ort.wasm.min.mjs`);
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.wasmPaths = new URL(ORT_DIST, location.href).href;
    ort.env.wasm.proxy = false;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.dtype, f.values, f.shape)]));
    return async () => { await session.run(inputs); };
  }
  throw new Error(`unknown engine '${engine}'`);
}

async function main() {
  const spec = ZOO_MODELS[name];
  if (!spec) throw new Error(`unknown model '${name}'`);
  const r = await fetch(`/build/zoo/${spec.file ?? name}.onnx`);
  if (!r.ok) throw new Error(`model: HTTP ${r.status}`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  const t0 = performance.now();
  const run = await setup(bytes, spec.feeds());
  await run();
  const firstMs = performance.now() - t0;
  for (let i = 0, start = performance.now(); i < warmup || performance.now() - start < 1000; i++) await run();
  const times = [];
  for (let i = 0; i < iters; i++) {
    const s = performance.now();
    await run();
    times.push(performance.now() - s);
  }
  return { engine, model: name, threads, crossOriginIsolated: self.crossOriginIsolated === true, firstMs, ms: median(times), times };
}

main().then((r) => { window.__result = r; }, (e) => { window.__result = { engine, error: String(e && e.stack ? e.stack : e) }; });
