// kiln.losses (TF.js's tf.losses) and kiln.metrics (tf.metrics) against
// TensorFlow.js 4.22 (cpu backend) on the same inputs: every loss with and
// without weights, under every reduction; every metric; and the gradients
// of the losses through autograd against TF.js's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

function close(name, got, want, tol = 1e-5) {
  assert.deepEqual(got.shape, want.shape, `${name}: shape`);
  assert.equal(got.dtype, want.dtype, `${name}: dtype`);
  const g = Array.from(got.dataSync()), w = Array.from(want.dataSync());
  for (let i = 0; i < w.length; i++)
    assert.ok(Number.isNaN(w[i]) ? Number.isNaN(g[i]) : Math.abs(g[i] - w[i]) <= tol * Math.max(1, Math.abs(w[i])),
      `${name}: element ${i} is ${g[i]}, TF.js gives ${w[i]}`);
}

const labels01 = [[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]];
const probs = [[0.9, 0.2, 0.6], [0.1, 0.4, 0.7], [0.8, 0.55, 0.3], [0.35, 0.65, 0.05]];
const logits = [[2, -1, 0.5], [-0.3, 1.2, 0.1], [0.7, 0.2, -2], [1.5, 1.4, -0.6]];
const onehot = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]];
const real = [[0.5, -1.2, 2], [1.1, 0.3, -0.4], [-2, 0.9, 1.7], [0.2, -0.6, 0.8]];
const weightsFull = [[1, 0, 2], [0.5, 1, 0], [1, 1, 1], [0, 0, 3]];
const weightsRow = [[1], [0], [2], [0.5]];

const cases = [
  ['absoluteDifference', (lib, w, r) => lib.losses.absoluteDifference(real, probs, w, r)],
  ['meanSquaredError', (lib, w, r) => lib.losses.meanSquaredError(real, probs, w, r)],
  ['huberLoss', (lib, w, r) => lib.losses.huberLoss(real, logits, w, 0.7, r)],
  ['hingeLoss', (lib, w, r) => lib.losses.hingeLoss(labels01, logits, w, r)],
  ['logLoss', (lib, w, r) => lib.losses.logLoss(labels01, probs, w, 1e-7, r)],
  ['cosineDistance', (lib, w, r) => lib.losses.cosineDistance(real, probs, 1, w === undefined ? w : weightsRow, r)],
  ['sigmoidCrossEntropy', (lib, w, r) => lib.losses.sigmoidCrossEntropy(labels01, logits, w, 0, r)],
  ['sigmoidCrossEntropy smoothed', (lib, w, r) => lib.losses.sigmoidCrossEntropy(labels01, logits, w, 0.2, r)],
  ['softmaxCrossEntropy', (lib, w, r) => lib.losses.softmaxCrossEntropy(onehot, logits, w === undefined ? w : [1, 0, 2, 0.5], 0, r)],
  ['softmaxCrossEntropy smoothed', (lib, w, r) => lib.losses.softmaxCrossEntropy(onehot, logits, w === undefined ? w : [1, 0, 2, 0.5], 0.1, r)],
];

for (const [name, f] of cases)
  test(`kiln.losses.${name} matches TF.js under every reduction, with and without weights`, () => {
    for (const reduction of [0, 1, 2, 3])
      for (const weights of [undefined, weightsFull, weightsRow]) {
        if (weights === weightsRow && name.startsWith('cosine')) continue;
        const label = `${name} reduction ${reduction} weights ${weights ? weights.length * weights[0].length : 'none'}`;
        const w = (lib) => (weights === undefined ? undefined : lib.tensor(weights));
        close(label, f(kiln, w(kiln), reduction), f(tf, w(tf), reduction));
      }
    assert.equal(kiln.Reduction.SUM_BY_NONZERO_WEIGHTS, tf.Reduction.SUM_BY_NONZERO_WEIGHTS);
  });

test('loss gradients through autograd match TF.js', () => {
  for (const [name, f] of [
    ['softmaxCrossEntropy', (lib, x) => lib.losses.softmaxCrossEntropy(lib.tensor(onehot), x)],
    ['sigmoidCrossEntropy', (lib, x) => lib.losses.sigmoidCrossEntropy(lib.tensor(labels01), x, lib.tensor(weightsRow))],
    ['huberLoss', (lib, x) => lib.losses.huberLoss(lib.tensor(real), x, undefined, 0.5, lib.Reduction.MEAN)],
    ['meanSquaredError', (lib, x) => lib.losses.meanSquaredError(lib.tensor(real), x, undefined, lib.Reduction.SUM)],
  ])
    close(`d ${name}`, kiln.grad((x) => f(kiln, x))(kiln.tensor(logits)), tf.grad((x) => f(tf, x))(tf.tensor(logits)));
});

test('kiln.metrics match TF.js', () => {
  const thresholded = probs.map((r) => r.map((v) => (v > 0.5 ? 1 : 0)));
  const metricCases = [
    ['binaryAccuracy', labels01, probs], ['categoricalAccuracy', onehot, logits], ['sparseCategoricalAccuracy', [[0], [1], [2], [2]], logits],
    ['binaryCrossentropy', labels01, probs], ['categoricalCrossentropy', onehot, probs],
['meanSquaredError', real, probs], ['meanAbsoluteError', real, probs],
    ['meanAbsolutePercentageError', real, probs], ['cosineProximity', real, probs], ['precision', labels01, thresholded],
    ['recall', labels01, thresholded], ['r2Score', real, probs], ['MSE', real, probs], ['mape', real, probs],
  ];
  for (const [name, t, p] of metricCases) {
    close(`metrics.${name}`, kiln.metrics[name](kiln.tensor(t), kiln.tensor(p)), tf.metrics[name](tf.tensor(t), tf.tensor(p)));
  }
  // Kiln's extension: the sparse form equals the categorical one on one-hot labels.
  close('metrics.sparseCategoricalCrossentropy', kiln.metrics.sparseCategoricalCrossentropy(kiln.tensor([0, 1, 2, 1], [4], 'int32'), kiln.tensor(probs)),
    tf.metrics.categoricalCrossentropy(tf.tensor(onehot), tf.tensor(probs)));
});

test('losses leave no tensor behind and name bad input', () => {
  const before = kiln.memory().numTensors;
  kiln.losses.softmaxCrossEntropy(onehot, logits, [1, 2, 3, 4], 0.1).dispose();
  kiln.metrics.cosineProximity(real, probs).dispose();
  assert.equal(kiln.memory().numTensors, before);
  assert.throws(() => kiln.losses.meanSquaredError([[1, 2]], [[1, 2, 3]]), /kiln.losses.meanSquaredError: labels \[1,2\] and predictions \[1,3\] must have the same shape/);
  assert.throws(() => kiln.losses.computeWeightedLoss([1, 2], undefined, 7), /unknown reduction 7/);
});
