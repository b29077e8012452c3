// The 3-D layers (conv3d, conv3dTranspose, maxPooling3d, averagePooling3d)
// against TensorFlow.js 4.22 running the same model with the same weights:
// predictions, and the weights after training with Adam (without
// conv3dTranspose: TF.js 4.22 has no gradient for it); save and load keep
// the predictions (the rank-5 kernels included). Their numbers and gradients
// are also checked against PyTorch in tests/cpp/conv_layers_torch_test.cc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ready, randomFloats, relError } from './helpers.mjs';
import { perturb, saveTfjs } from './tfjs_layers_models.mjs';

await ready();
await tf.setBackend('cpu');

const copyWeights = (from, to) => to.setWeights(from.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));

const makeVideoModel = (lib, transpose = true) => lib.sequential({ layers: [
  lib.layers.conv3d({ inputShape: [6, 7, 5, 2], filters: 4, kernelSize: [3, 2, 3], strides: [1, 2, 1], padding: 'same', activation: 'relu' }),
  lib.layers.maxPooling3d({ poolSize: [2, 2, 2], padding: 'same' }),
  ...(transpose ? [lib.layers.conv3dTranspose({ filters: 3, kernelSize: 2, strides: 2, activation: 'tanh' })] : []),
  lib.layers.avgPool3d({ poolSize: [3, 2, 2], strides: [2, 1, 2] }),
  lib.layers.flatten(),
  lib.layers.dense({ units: 2 }),
] });

test('a conv3d / pooling3d / conv3dTranspose model predicts as TF.js\'s and saves and loads', async () => {
  const k = makeVideoModel(kiln), t = makeVideoModel(tf);
  copyWeights(k, t);
  const n = 5, shape = [n, 6, 7, 5, 2];
  const xs = randomFloats(n * 6 * 7 * 5 * 2, 81), ys = randomFloats(n * 2, 82);
  assert.deepEqual(k.outputs[0].shape, t.outputs[0].shape);
  assert.ok(relError(k.predict(kiln.tensor(xs, shape)).dataSync(), t.predict(tf.tensor(xs, shape)).dataSync()) < 1e-5);
  const saved = await k.save();
  const back = await kiln.loadModel(saved);
  assert.deepEqual(Array.from(back.predict(kiln.tensor(xs, shape)).dataSync()), Array.from(k.predict(kiln.tensor(xs, shape)).dataSync()));
});

test('a conv3d / pooling3d model trains as TF.js\'s', async () => {
  const k = makeVideoModel(kiln, false), t = makeVideoModel(tf, false);
  copyWeights(k, t);
  const n = 5, shape = [n, 6, 7, 5, 2];
  const xs = randomFloats(n * 6 * 7 * 5 * 2, 83), ys = randomFloats(n * 2, 84);
  k.compile({ optimizer: kiln.train.adam(0.01), loss: 'meanSquaredError' });
  t.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  await k.fit(kiln.tensor(xs, shape), kiln.tensor(ys, [n, 2]), { epochs: 4, batchSize: 5 });
  await t.fit(tf.tensor(xs, shape), tf.tensor(ys, [n, 2]), { epochs: 4, batchSize: 5 });
  const tw = t.getWeights();
  k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < 1e-4, `weight ${i} ${w.shape}`));
});

test('a TF.js model with the 3-D layers, saved by TF.js, loads and predicts as in TF.js', async () => {
  const t = makeVideoModel(tf);
  perturb(t);
  const path = await saveTfjs(t, mkdtempSync(join(tmpdir(), 'kiln-3d-')), 'video');
  const k = await kiln.loadLayersModel(`file://${path}`);
  const xs = randomFloats(3 * 6 * 7 * 5 * 2, 85), shape = [3, 6, 7, 5, 2];
  assert.ok(relError(k.predict(kiln.tensor(xs, shape)).dataSync(), t.predict(tf.tensor(xs, shape)).dataSync()) < 1e-5);
});

test('3-D layer arguments TF.js has but Kiln cannot honour are refused, naming them', () => {
  const build = (layer) => kiln.sequential({ layers: [layer] }).build();
  assert.throws(() => build(kiln.layers.conv3dTranspose({ inputShape: [3, 3, 3, 1], filters: 1, kernelSize: 2, dilationRate: 2 })),
    /Conv3DTranspose: dilationRate > 1 is not supported/);
  assert.throws(() => build(kiln.layers.conv3d({ inputShape: [3, 3, 3, 1], filters: 1, kernelSize: 2, dataFormat: 'channelsFirst' })),
    /dataFormat/);
  assert.throws(() => build(kiln.layers.maxPooling3d({ inputShape: [3, 4, 4] })), /rank 4 .*depth, height, width, channels/);
  assert.throws(() => build(kiln.layers.conv3d({ inputShape: [2, 5, 5, 1], filters: 1, kernelSize: 3 })), /depth axis \(2\) is smaller than the window \(3\)/);
});
