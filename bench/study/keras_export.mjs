// Saves the study's five Keras architectures (bench/study/keras_models.mjs),
// built through TF.js's Layers API with seeded random weights and calibrated
// BatchNorm statistics, as TF.js layers-model files, once, for the browser
// pages of bench/study/run_keras.mjs: OUT/<model>/model.json + weights.bin,
// input.f32 (one seeded image, NHWC) and expected.f32 (TF.js wasm's output on
// it, the reference every engine is checked against), and meta.json. A model
// whose meta.json names the same sources and TF.js version is not rebuilt.
//   node bench/study/keras_export.mjs OUT_DIR [Model ...]
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERAS_MODELS } from './keras_models.mjs';
import { rng } from '../mlp/common.mjs';

/**
 * Random weights with BatchNorm's default statistics (mean 0, variance 1) leave these deep
 * models' activations vanishing (MobileNetV2's features near 1e-13) and their outputs uniform.
 * As scripts/make_torchvision_models.py does for the ONNX models, set each BatchNorm's moving
 * statistics to its input's statistics on a calibration batch, in order: one eager pass over the
 * layers (topological order), each BatchNorm calibrated before it is applied, so later ones see
 * calibrated inputs. Values are disposed once their last consumer has run.
 */
function calibrateBatchNorm(tf, model, x) {
  const values = new Map([[model.inputs[0].id, x]]);
  const uses = new Map();
  const inputsOf = (layer) => layer.inboundNodes[0].inputTensors;
  for (const layer of model.layers) for (const t of inputsOf(layer)) uses.set(t.id, (uses.get(t.id) ?? 0) + 1);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw new Error(`calibrateBatchNorm: layer ${layer.name} is used ${layer.inboundNodes.length} times`);
    const ins = inputsOf(layer).map((t) => values.get(t.id));
    if (layer.getClassName() === 'BatchNormalization') {
      tf.tidy(() => {
        const { mean, variance } = tf.moments(ins[0], [0, 1, 2]);
        const w = layer.getWeights();  // [gamma?, beta, movingMean, movingVariance]
        layer.setWeights([...w.slice(0, w.length - 2), mean, variance]);
      });
    }
    values.set(layer.output.id, layer.apply(ins.length === 1 ? ins[0] : ins));
    for (const t of inputsOf(layer)) {
      uses.set(t.id, uses.get(t.id) - 1);
      if (uses.get(t.id) === 0 && values.get(t.id) !== x) values.get(t.id).dispose();
    }
  }
  for (const [id, v] of values) if (v !== x && !v.isDisposed) v.dispose();
}

const f32Bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

export async function exportKerasModels(outDir, names = Object.keys(KERAS_MODELS), log = () => {}) {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)));
  await tf.setBackend('wasm');
  const sources = createHash('sha256');
  for (const f of ['keras_models.mjs', 'keras_export.mjs']) sources.update(readFileSync(new URL(f, import.meta.url)));
  const stamp = { sources: sources.digest('hex').slice(0, 16), tfjs: tf.version.tfjs };
  const out = {};
  for (const name of names) {
    const spec = KERAS_MODELS[name];
    if (!spec) throw new Error(`unknown model '${name}' (expected ${Object.keys(KERAS_MODELS).join(', ')})`);
    const dir = join(outDir, name);
    const metaPath = join(dir, 'meta.json');
    const old = existsSync(metaPath) ? JSON.parse(readFileSync(metaPath, 'utf8')) : null;
    if (old && old.stamp?.sources === stamp.sources && old.stamp?.tfjs === stamp.tfjs) {
      out[name] = old;
      log(`${name}: ${dir} is current`);
      continue;
    }
    const t0 = performance.now();
    const r = rng(7);
    const x = Float32Array.from({ length: spec.size * spec.size * 3 }, () => r());
    // TF.js's initializers seed themselves from Math.random: seeded while building, the weights are the same on every run.
    const random = Math.random;
    Math.random = rng(11);
    let model;
    try { model = spec.build(tf, spec.size); } finally { Math.random = random; }
    const calibration = tf.tensor(Float32Array.from({ length: 2 * spec.size * spec.size * 3 }, () => r()), [2, spec.size, spec.size, 3]);
    calibrateBatchNorm(tf, model, calibration);
    calibration.dispose();
    const xt = tf.tensor(x, [1, spec.size, spec.size, 3]);
    const y = model.predict(xt);
    const expected = y.dataSync().slice();
    y.dispose();
    xt.dispose();
    let artifacts = null;
    await model.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'model.json'), JSON.stringify({ format: 'layers-model', generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }));
    writeFileSync(join(tmp, 'weights.bin'), Buffer.from(artifacts.weightData));
    writeFileSync(join(tmp, 'input.f32'), f32Bytes(x));
    writeFileSync(join(tmp, 'expected.f32'), f32Bytes(expected));
    const meta = { model: name, size: spec.size, params: model.countParams(), weightBytes: artifacts.weightData.byteLength,
      topProbability: Math.max(...expected), exportMs: Math.round(performance.now() - t0), stamp };
    writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    out[name] = meta;
    log(`${name}: wrote ${dir} (${meta.params} parameters, top probability ${meta.topProbability.toFixed(3)}, ${(meta.exportMs / 1000).toFixed(1)} s)`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log = (...a) => process.stderr.write(`${a.join(' ')}\n`);  // TF.js's tfjs-node hint
  const [outDir, ...names] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: node bench/study/keras_export.mjs OUT_DIR [Model ...]');
  await exportKerasModels(outDir, names.length ? names : undefined, (s) => process.stderr.write(`${s}\n`));
}
