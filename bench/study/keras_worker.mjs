// One Keras architecture (bench/study/keras_models.mjs) on one engine, in a
// fresh Node process; prints one JSON line. Built with TF.js's Layers API;
// Kiln runs the same model, weights included, loaded from TF.js's saved
// artifacts with kiln.loadLayersModel, and its output is checked against
// TF.js's (wasm backend) on the same input.
//   node bench/study/keras_worker.mjs <tfjs-cpu | tfjs-wasm | kiln-wasm> <model> <warmup> <iters>
import { fileURLToPath } from 'node:url';
import { KERAS_MODELS } from './keras_models.mjs';
import { rng } from '../mlp/common.mjs';
import { median } from '../common/stats.mjs';

const [engine, name, warmup, iters] = process.argv.slice(2);

/**
 * Random weights with BatchNorm's default statistics (mean 0, variance 1) leave these deep
 * models' activations vanishing (MobileNetV2's features near 1e-13) and their outputs uniform.
 * As scripts/make_torchvision_models.py does for the ONNX models, set each BatchNorm's moving
 * statistics, in order, to its input's statistics on the calibration image; every worker does it
 * the same way, so all engines run one set of weights.
 */
function calibrateBatchNorm(tf, model, x) {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const probe = tf.model({ inputs: model.inputs, outputs: layer.input });
    tf.tidy(() => {
      const h = probe.predict(x);
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      const w = layer.getWeights();  // [gamma?, beta, movingMean, movingVariance]
      layer.setWeights([...w.slice(0, w.length - 2), mean, variance]);
    });
  }
}
console.log = (...a) => process.stderr.write(`${a.join(' ')}\n`);  // TF.js's tfjs-node hint; stdout is the result
const spec = KERAS_MODELS[name];
if (!spec) throw new Error(`unknown model '${name}' (expected ${Object.keys(KERAS_MODELS).join(', ')})`);
const tf = await import('@tensorflow/tfjs');
const wasm = await import('@tensorflow/tfjs-backend-wasm');
wasm.setWasmPaths(fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)));
await tf.setBackend('wasm');
const r = rng(7);
const x = Float32Array.from({ length: spec.size * spec.size * 3 }, () => r());
const shape = [1, spec.size, spec.size, 3];
const model = spec.build(tf, spec.size);
const calibration = tf.tensor(Float32Array.from({ length: 2 * spec.size * spec.size * 3 }, () => r()), [2, spec.size, spec.size, 3]);
calibrateBatchNorm(tf, model, calibration);
calibration.dispose();
if (engine === 'tfjs-cpu') await tf.setBackend('cpu');  // the weights move with the backend
const now = () => performance.now();

async function time(predict) {
  const t0 = now();
  const first = await predict();
  const firstMs = now() - t0;
  for (let i = 0; i < Number(warmup); i++) await predict();
  const runs = [];
  for (let i = 0; i < Number(iters); i++) {
    const t = now();
    await predict();
    runs.push(now() - t);
  }
  return { first, firstMs, runs, median: median(runs) };
}

const out = { engine, model: name, params: model.countParams() };
const xt = tf.tensor(x, shape);
if (engine.startsWith('tfjs')) {
  const t = await time(async () => { const y = model.predict(xt); const v = await y.data(); y.dispose(); return v; });
  Object.assign(out, { backend: tf.getBackend(), first_ms: t.firstMs, median_ms: t.median, runs: t.runs });
} else {
  const want = (() => { const y = model.predict(xt); const v = y.dataSync(); y.dispose(); return v; })();
  let artifacts = null;
  await model.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const kiln = await import(new URL('../../lib/index.js', import.meta.url).href);
  const backend = await kiln.ready({ variant: 'single', quiet: true });
  const t0 = now();
  const km = await kiln.loadLayersModel(kiln.io.fromMemory(artifacts));
  const loadMs = now() - t0;
  const kx = kiln.tensor(x, shape);
  const t = await time(async () => { const y = km.predict(kx); const v = y.dataSync(); y.dispose(); return v; });
  let err = 0, top = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(want[i] - t.first[i]) / Math.max(Math.abs(want[i]), 1e-30));
    top = Math.max(top, want[i]);
  }
  out.top_probability = top;  // far from 0.001 (uniform) and from 1 (one-hot): the comparison means something
  Object.assign(out, { backend: backend.variant, load_ms: loadMs, first_ms: t.firstMs, median_ms: t.median, runs: t.runs,
    max_rel_err_vs_tfjs: err });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
