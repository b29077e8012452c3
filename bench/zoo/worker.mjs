// One engine on one zoo model in its own process; prints one JSON line: the
// time from the model's bytes to the first output and each timed run.
//   node bench/zoo/worker.mjs ENGINE MODEL THREADS ITERS WARMUP
// ENGINE: kiln (Kiln wasm in Node) | ort (onnxruntime-node, CPU, all graph optimizations)
import { readFileSync } from 'node:fs';
import { ZOO_MODELS } from './models.mjs';

const [engine, name, threads, iters, warmup] = process.argv.slice(2);
const spec = ZOO_MODELS[name];
const bytes = readFileSync(new URL(`../../build/zoo/${spec.file ?? name}.onnx`, import.meta.url));
const feeds = spec.feeds();
let run;
const t0 = performance.now();
if (engine === 'kiln') {
  const kiln = await import('kiln');
  await kiln.ready({ quiet: true, threads: Number(threads) });
  const session = await kiln.onnx.load(bytes);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, kiln.tensor(f.values, f.shape, f.dtype)]));
  run = async () => { for (const t of Object.values(await session.run(inputs))) t.dataSync(); };
} else {
  const ort = (await import('onnxruntime-node')).default;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, executionMode: 'sequential' });
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.dtype, f.values, f.shape)]));
  run = async () => { await session.run(inputs); };
}
await run();
const firstMs = performance.now() - t0;
// Warm-up: at least WARMUP runs and one second, so V8 has tiered the wasm up
// from its baseline compiler (Liftoff) to optimized code before timing.
for (let i = 0, start = performance.now(); i < Number(warmup) || performance.now() - start < 1000; i++) await run();
const times = [];
for (let i = 0; i < Number(iters); i++) {
  const s = performance.now();
  await run();
  times.push(performance.now() - s);
}
console.log(JSON.stringify({ engine, model: name, threads: Number(threads), firstMs, times }));
process.exit(0);
