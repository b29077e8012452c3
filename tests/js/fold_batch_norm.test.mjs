// Predict plans fold a batch norm into the convolution before it and move the
// activation after it into the conv (src/passes/fold_batch_norm.cc). Through
// the public API, against TensorFlow.js 4.22 running the same model with the
// same weights: outputs agree, with moving statistics far from 0 / 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();

test('a conv-BN-relu CNN predicts what TF.js predicts with the same weights', async () => {
  const spec = (l) => [
    l.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false, inputShape: [9, 9, 3] }),
    l.batchNormalization(),
    l.activation({ activation: 'relu' }),
    l.depthwiseConv2d({ kernelSize: 3, strides: 2 }),
    l.batchNormalization({ center: false }),
    l.activation({ activation: 'tanh' }),
    l.globalAveragePooling2d({}),
    l.dense({ units: 4 }),
  ];
  const model = kiln.sequential({ seed: 3, layers: spec(kiln.layers) });
  const reference = tf.sequential({ layers: spec(tf.layers) });
  model.build();
  model.layers.forEach((layer, i) => {
    const weights = layer.getWeights();
    if (layer.className === 'BatchNormalization') {
      // Statistics and scales far from their initial 0 / 1: the variance last, in [0.5, 2.5).
      weights.forEach((w, k) => {
        const v = randomFloats(w.size, 10 * i + k);
        weights[k] = kiln.tensor(v.map((r) => (k === weights.length - 1 ? 1.5 + r : 1 + 0.5 * r)), w.shape);
      });
      layer.setWeights(weights);
    }
    reference.layers[i].setWeights(weights.map((w) => tf.tensor(w.dataSync(), w.shape)));
  });
  const x = randomFloats(5 * 9 * 9 * 3, 7);
  const got = model.predict(kiln.tensor(x, [5, 9, 9, 3])).dataSync();
  const want = reference.predict(tf.tensor(x, [5, 9, 9, 3])).dataSync();
  assert.ok(relError(got, want) < 1e-5, `relative error ${relError(got, want)}`);
  model.dispose();
});
