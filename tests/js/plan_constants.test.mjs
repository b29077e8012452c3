// Predict plans compute what depends only on the weights (folded batch norms,
// packed convolution filters and dense kernels) once per change of them. Every
// way a user changes weights must reach the next predict(): model.setWeights,
// layer.setWeights, fit / trainOnBatch, and loading a saved file. Each is
// checked against TensorFlow.js 4.22 given the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError, oneHotRows } from './helpers.mjs';

await ready();

const spec = (l) => [
  l.conv2d({ filters: 16, kernelSize: 3, padding: 'same', inputShape: [8, 8, 16] }),  // Winograd
  l.batchNormalization(),
  l.activation({ activation: 'relu' }),
  l.conv2d({ filters: 12, kernelSize: 3, strides: 2, activation: 'relu' }),  // im2col
  l.flatten(),
  l.dense({ units: 5, activation: 'softmax' }),  // a packed GEMM at 8 rows
];

// TF.js's prediction with the Kiln model's current weights.
function reference(model, x) {
  const ref = tf.sequential({ layers: spec(tf.layers) });
  ref.setWeights(model.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
  return ref.predict(tf.tensor(x.dataSync(), x.shape)).dataSync();
}

function randomize(model, seed, scale = 1) {
  model.setWeights(model.getWeights().map((w, i, all) => {
    const r = randomFloats(w.size, seed + i);
    const variance = i === all.length - 1;
    return kiln.tensor(r.map((v) => (variance ? 1 + 0.5 * v : 0.5 * scale * v)), w.shape);
  }));
}

test('every way of changing weights reaches the next predict', async () => {
  const model = kiln.sequential({ seed: 4, layers: spec(kiln.layers) });
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  const x = kiln.tensor(randomFloats(8 * 8 * 8 * 16, 1), [8, 8, 8, 16]);
  randomize(model, 10);
  const y1 = model.predict(x).dataSync();
  assert.ok(relError(y1, reference(model, x)) < 1e-4);
  assert.ok(model.placement().some((p) => p.steps.some((s) => s.constant)), 'folded batch norm runs once per weight change');

  randomize(model, 20, 0.7);  // model.setWeights
  const y2 = model.predict(x).dataSync();
  assert.ok(relError(y2, y1) > 1e-3);
  assert.ok(relError(y2, reference(model, x)) < 1e-4);

  const conv = model.layers[0];  // layer.setWeights
  conv.setWeights(conv.getWeights().map((w) => kiln.tensor(w.dataSync().map((v) => -v), w.shape)));
  const y3 = model.predict(x).dataSync();
  assert.ok(relError(y3, y2) > 1e-3);
  assert.ok(relError(y3, reference(model, x)) < 1e-4);

  await model.fit(x, kiln.tensor(oneHotRows(8, 5, 3), [8, 5]), { epochs: 2, batchSize: 4, verbose: 0 });
  const y4 = model.predict(x).dataSync();
  assert.ok(relError(y4, y3) > 1e-5);
  assert.ok(relError(y4, reference(model, x)) < 1e-4);

  const loaded = await kiln.loadModel(await model.save());
  assert.ok(relError(loaded.predict(x).dataSync(), y4) < 1e-6);
});

test('changing the thread count between calls re-plans and predicts the same', async (t) => {
  const { variant, threads } = kiln.backendInfo();
  if (variant !== 'wasm-simd128-threads') return t.skip('the single-threaded build has one thread');
  const model = kiln.sequential({ seed: 6, layers: spec(kiln.layers) });
  randomize(model, 30);
  const x = kiln.tensor(randomFloats(8 * 8 * 8 * 16, 2), [8, 8, 8, 16]);
  const many = model.predict(x).dataSync();
  let one;
  try {
    await kiln.ready({ threads: 1, quiet: true });
    one = model.predict(x).dataSync();
  } finally {
    await kiln.ready({ threads, quiet: true });
  }
  assert.ok(relError(one, many) < 1e-5);
  assert.ok(relError(model.predict(x).dataSync(), many) < 1e-5);
});
