// One engine on one TF.js graph model, in its own process (a fresh heap and
// thread pool per measurement): prints one JSON line with the time from
// starting the load to the first output, and every timed run's latency.
//   node bench/graph_models/worker.mjs ENGINE MODEL ITERS WARMUP THREADS
// ENGINE: kiln (Kiln wasm, Node, THREADS threads) | kiln-1t (one thread) | tfjs-wasm
// (@tensorflow/tfjs-backend-wasm, which runs one thread in Node) | tfjs-cpu
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initTfjsBackend } from '../common/tfjs_backend.mjs';
import { imageInput, modelPath, tfjsFileHandler } from '../../tests/js/tfjs_graph_models.mjs';

const [engine, name, iters, warmup, threads] = process.argv.slice(2);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const info = JSON.parse(readFileSync(modelPath(name), 'utf8')).modelTopology.node.find((n) => n.op === 'Placeholder');
const placeholder = {
  shape: info.attr.shape.shape.dim.map((d) => Number(d.size)),
  dtype: info.attr.dtype.type === 'DT_INT32' ? 'int32' : 'float32',
};
const x = imageInput(placeholder, 7, 1);

let run, setup;
const t0 = performance.now();
if (engine === 'kiln' || engine === 'kiln-1t') {
  const kiln = await import('kiln');
  await kiln.ready({ quiet: true, threads: engine === 'kiln' ? Number(threads) : 1 });
  const model = await kiln.loadGraphModel(`file://${modelPath(name)}`);
  run = () => {
    const out = model.predict(kiln.tensor(x.values, x.shape, x.dtype));
    for (const t of out instanceof kiln.Tensor ? [out] : out) t.dataSync();
  };
  setup = { backend: kiln.backendInfo() };
} else {
  const tf = await import('@tensorflow/tfjs');
  const backend = engine.replace('tfjs-', '');
  const wasm = backend === 'wasm' ? await import('@tensorflow/tfjs-backend-wasm') : null;
  setup = await initTfjsBackend(tf, { backend, wasm, wasmPaths: join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'), threads: Number(threads) });
  const model = await tf.loadGraphModel(tfjsFileHandler(modelPath(name)));
  run = () => tf.tidy(() => {
    const out = model.predict(tf.tensor(x.values, x.shape, x.dtype));
    for (const t of out instanceof tf.Tensor ? [out] : out) t.dataSync();
  });
}
run();
const firstMs = performance.now() - t0;
// Warm-up: at least WARMUP runs and one second, so V8 has tiered the wasm up
// from its baseline compiler (Liftoff) to optimized code before timing.
for (let i = 0, start = performance.now(); i < Number(warmup) || performance.now() - start < 1000; i++) run();
const times = [];
for (let i = 0; i < Number(iters); i++) {
  const s = performance.now();
  run();
  times.push(performance.now() - s);
}
console.log(JSON.stringify({ engine, model: name, firstMs, times, setup }));
process.exit(0);
