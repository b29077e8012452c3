// Figure 5 through the Layers API: the study's five Keras architectures
// (bench/study/keras_models.mjs) at batch 1 in Node, TF.js (cpu, wasm) against
// Kiln running the same model loaded from TF.js's saved files. One fresh
// process per engine and model (bench/study/keras_worker.mjs); engines
// interleaved model by model.
//   node bench/study/run_keras.mjs [--quick] --json PATH
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJsonWorker } from '../common/child.mjs';
import { KERAS_MODELS } from './keras_models.mjs';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
if (!args.includes('--json') || !args[args.indexOf('--json') + 1]) throw new Error('run_keras: --json PATH is required');
const jsonPath = resolve(args[args.indexOf('--json') + 1]);
const ENGINES = ['kiln-wasm', 'tfjs-wasm', 'tfjs-cpu'];
const models = quick ? ['MobileNetV2'] : Object.keys(KERAS_MODELS);
const [warmup, iters] = quick ? [1, 2] : [3, 7];
const t0 = Date.now();
const results = [];
for (const model of models) {
  for (const engine of ENGINES) {
    // TF.js's cpu backend takes seconds per inference on these models: fewer runs.
    const [w, n] = engine === 'tfjs-cpu' ? [1, Math.min(iters, 2)] : [warmup, iters];
    const r = await runJsonWorker([join(ROOT, 'bench/study/keras_worker.mjs'), engine, model, String(w), String(n)], { cwd: ROOT, timeoutMs: 600_000 });
    const rec = r.parsed ?? { engine, model, error: r.error };
    results.push(rec);
    console.error(`${model} ${engine}: ${rec.error ? `ERROR ${rec.error}` : `${rec.median_ms.toFixed(1)} ms (first ${rec.first_ms.toFixed(0)} ms)` +
      `${rec.max_rel_err_vs_tfjs !== undefined ? `, top probability ${rec.top_probability.toFixed(3)}, Kiln vs TF.js max rel err ${rec.max_rel_err_vs_tfjs.toExponential(1)}` : ''}`}`);
  }
}
writeFileSync(jsonPath, JSON.stringify({ generated: new Date().toISOString(), mode: quick ? 'quick' : 'full', wallMs: Date.now() - t0,
  environment: `Node ${process.version}`, protocol: { warmup, iters, tfjsCpu: { warmup: 1, iters: Math.min(iters, 2) } }, models, engines: ENGINES, results }, null, 1) + '\n');
