// TF.js core-API programs (tests/js/programs/) run unchanged on Kiln and on
// TensorFlow.js 4.22 (cpu backend): only the library handed in differs.
// Each must reach what the program sets out to do, and Kiln's run must agree
// with TF.js's on the same data and starting values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';
import { loadMnistNode } from '../../web/mnist.js';
import * as polynomial from './programs/polynomial_regression_core.mjs';
import * as mnistCore from './programs/mnist_core.mjs';
import * as bostonHousing from './programs/boston_housing.mjs';
import * as additionRnn from './programs/addition_rnn.mjs';
import * as textGeneration from './programs/lstm_text_generation.mjs';
import * as fashionVae from './programs/fashion_mnist_vae.mjs';
import * as iris from './programs/iris.mjs';
import { readFileSync } from 'node:fs';
import { loadFashionMnistNode } from '../../web/fashion_mnist.js';
import { mulberry32 } from '../../web/random.js';

await ready();
await tf.setBackend('cpu');

test('polynomial-regression-core: the fitted cubic matches TF.js and the curve it was sampled from', () => {
  const k = polynomial.run(kiln), t = polynomial.run(tf);
  for (let i = 0; i < k.losses.length; i++)
    assert.ok(Math.abs(k.losses[i] - t.losses[i]) <= 1e-4 * Math.max(1, t.losses[i]), `iteration ${i}: loss ${k.losses[i]}, TF.js ${t.losses[i]}`);
  for (const name of ['a', 'b', 'c', 'd'])
    assert.ok(Math.abs(k.coefficients[name] - t.coefficients[name]) < 1e-4, `${name}: ${k.coefficients[name]}, TF.js ${t.coefficients[name]}`);
  assert.ok(k.losses.at(-1) < 0.01 && k.losses.at(-1) < k.losses[0] / 20, `the loss falls from ${k.losses[0]} to ${k.losses.at(-1)}`);
  assert.ok(Math.abs(k.coefficients.d - k.truth.d) < 0.1 && Math.abs(k.coefficients.c - k.truth.c) < 0.25, JSON.stringify(k.coefficients));
});

test('mnist-core: a convolutional network trained with the ops API and minimize() learns MNIST; its first steps match TF.js', async () => {
  const data = await loadMnistNode({ trainLimit: 4000, testLimit: 500 });
  const started = performance.now();
  const k = mnistCore.run(kiln, data);
  const kilnMs = performance.now() - started;
  // TF.js's cpu backend takes minutes for the 60 steps: three small-batch steps are compared.
  const small = { steps: 3, batchSize: 8 };
  const tfStarted = performance.now();
  const t = mnistCore.run(tf, data, small);
  const tfMs = performance.now() - tfStarted;
  const k3 = mnistCore.run(kiln, data, small);
  console.log(`# mnist-core: Kiln ${k.accuracy} test accuracy after 60 steps (${kilnMs.toFixed(0)} ms); 3 steps of 8: Kiln ${k3.losses.map((v) => v.toFixed(4))}, TF.js cpu ${t.losses.map((v) => v.toFixed(4))} (${tfMs.toFixed(0)} ms)`);
  assert.ok(k.accuracy > 0.8, `test accuracy ${k.accuracy} after 60 Adam steps`);
  for (let i = 0; i < 3; i++)
    assert.ok(Math.abs(k3.losses[i] - t.losses[i]) < 1e-3 * Math.max(1, t.losses[i]), `step ${i}: loss ${k3.losses[i]}, TF.js ${t.losses[i]}`);
});

test('boston-housing: normalized features, a network fit with validationSplit, beats the baseline as TF.js does', async () => {
  const k = await bostonHousing.run(kiln), t = await bostonHousing.run(tf);
  console.log(`# boston-housing: test MSE Kiln ${k.testLoss.toFixed(3)}, TF.js ${t.testLoss.toFixed(3)}, predict-the-mean baseline ${k.baseline.toFixed(3)}`);
  assert.ok(Math.abs(k.baseline - t.baseline) < 1e-3, 'the same data');
  assert.equal(k.history.val_loss.length, 40);
  assert.ok(k.testLoss < k.baseline / 3, `Kiln's test MSE ${k.testLoss} against the baseline ${k.baseline}`);
  // Different starting weights (each library's own generator): the same quality, not the same numbers.
  assert.ok(k.testLoss < 2 * t.testLoss + 0.5, `Kiln ${k.testLoss}, TF.js ${t.testLoss}`);
});

test('addition-rnn: a sequence-to-sequence LSTM learns two-digit addition; from the same start its losses match TF.js', async () => {
  const k = await additionRnn.run(kiln);
  const valAcc = k.history.val_acc.at(-1);
  console.log(`# addition-rnn: Kiln answers ${(100 * k.exact).toFixed(0)}% of held-out questions exactly (${k.examples.join(', ')}); validation character accuracy ${valAcc.toFixed(3)}`);
  assert.ok(valAcc > 0.75, `validation character accuracy ${valAcc}`);
  assert.ok(k.exact > 0.3, `exact answers ${k.exact}`);
  // TF.js's cpu backend is slow at LSTMs: a short run from TF.js's starting weights.
  let start;
  const short = { trainSize: 256, testSize: 16, epochs: 2, batchSize: 64, hidden: 16 };
  const t = await additionRnn.run(tf, { ...short, startFrom: (m) => { start = m.getWeights().map((w) => ({ values: w.dataSync().slice(), shape: w.shape })); } });
  const k2 = await additionRnn.run(kiln, { ...short, startFrom: (m) => m.setWeights(start.map((w) => kiln.tensor(w.values, w.shape))) });
  t.history.loss.forEach((want, i) => {
    const got = k2.history.loss[i];
    assert.ok(Math.abs(got - want) < 1e-3 * Math.max(1, want), `epoch ${i}: loss ${got}, TF.js ${want}`);
  });
});

test('lstm-text-generation: an LSTM learns a text and writes words of it by sampling; from the same start its losses match TF.js', async () => {
  const k = await textGeneration.run(kiln);
  const losses = k.history.loss;
  const words = new Set(textGeneration.corpus().split(' '));
  const written = k.written.split(' ').filter((w) => w.length > 0);
  const known = written.filter((w) => words.has(w)).length / written.length;
  console.log(`# lstm-text-generation: loss ${losses[0].toFixed(3)} -> ${losses.at(-1).toFixed(3)}; wrote ${JSON.stringify(k.written)} (${(100 * known).toFixed(0)}% words of the text)`);
  assert.ok(losses.at(-1) < 0.75 * losses[0], `losses ${losses}`);
  assert.equal(k.written.length, 120);
  assert.ok([...k.written].every((c) => k.chars.includes(c)), 'only characters of the text');
  assert.ok(known > 0.3, `${known} of the written words are the text's`);
  let start;
  const short = { text: textGeneration.corpus(2500), units: 16, epochs: 2, generate: 5 };
  const t = await textGeneration.run(tf, { ...short, startFrom: (m) => { start = m.getWeights().map((w) => ({ values: w.dataSync().slice(), shape: w.shape })); } });
  const k2 = await textGeneration.run(kiln, { ...short, startFrom: (m) => m.setWeights(start.map((w) => kiln.tensor(w.values, w.shape))) });
  t.history.loss.forEach((want, i) => {
    const got = k2.history.loss[i];
    assert.ok(Math.abs(got - want) < 1e-3 * Math.max(1, want), `epoch ${i}: loss ${got}, TF.js ${want}`);
  });
});

// Sets a model's kernels to Glorot-uniform values from a fixed generator (biases 0), so a run repeats.
function seededWeights(seed) {
  const next = mulberry32(seed);
  return (m) => m.setWeights(m.getWeights().map((w) => {
    const limit = w.rank === 2 ? Math.sqrt(6 / (w.shape[0] + w.shape[1])) : 0;
    return kiln.tensor(Float32Array.from({ length: w.size }, () => (2 * next() - 1) * limit), w.shape);
  }));
}

test('fashion-mnist-vae: a VAE trained by minimize() around vae.apply() learns to reconstruct; from the same start its losses match TF.js', async () => {
  const data = await loadFashionMnistNode({ trainLimit: 2000, testLimit: 200 });
  // Seeded starting weights and noise: the run repeats.
  const k = fashionVae.run(kiln, data, { seed: 11, startFrom: seededWeights(5) });
  console.log(`# fashion-mnist-vae: loss per epoch ${k.losses.map((v) => v.toFixed(2)).join(', ')}; held-out reconstruction MSE ${k.testError.toFixed(4)} (the mean image: ${k.meanImage.toFixed(4)})`);
  assert.ok(k.losses.at(-1) < 0.65 * k.losses[0], `losses ${k.losses}`);
  assert.ok(k.testError < 0.85 * k.meanImage, `reconstruction error ${k.testError} against the mean image's ${k.meanImage}`);
  assert.equal(k.preview.length, 784);
  assert.ok(k.preview.every((v) => v >= 0 && v <= 1), 'the decoder gives pixel values in [0, 1]');
  // From TF.js's starting weights, without sampling noise (each library draws its own): the same losses.
  let start;
  const short = { images: 300, epochs: 2, noise: 0 };
  const t = fashionVae.run(tf, data, { ...short, startFrom: (m) => { start = m.getWeights().map((w) => ({ values: w.dataSync().slice(), shape: w.shape })); } });
  const k2 = fashionVae.run(kiln, data, { ...short, startFrom: (m) => {
    assert.deepEqual(m.getWeights().map((w) => w.shape), start.map((w) => w.shape));
    m.setWeights(start.map((w) => kiln.tensor(w.values, w.shape)));
  } });
  t.losses.forEach((want, i) => {
    const got = k2.losses[i];
    assert.ok(Math.abs(got - want) < 1e-3 * Math.max(1, want), `epoch ${i}: loss ${got}, TF.js ${want}`);
  });
  for (const r of [k, k2, t]) r.vae.dispose();
});

// scikit-learn's copy of the iris data (python3-sklearn, which scripts/setup.sh installs).
function irisRows() {
  const text = readFileSync('/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv', 'utf8');
  return text.trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
}

test('iris: a two-layer network fit with validationData classifies the held-out flowers; from the same start it trains as TF.js does', async () => {
  const rows = irisRows();
  assert.equal(rows.length, 150);
  const k = await iris.run(kiln, rows, { startFrom: seededWeights(7) });
  console.log(`# iris: validation accuracy ${k.history.val_acc.at(-1).toFixed(3)}, test confusion matrix ${JSON.stringify(k.matrix)}; by hand: ${k.manual.winner}`);
  assert.equal(k.testSize, 24);
  assert.equal(k.logs.length, 40);
  assert.deepEqual(Object.keys(k.logs[0]).sort(), ['acc', 'epoch', 'loss', 'val_acc', 'val_loss']);
  assert.ok(k.accuracy >= 0.9, `test accuracy ${k.accuracy}`);
  assert.equal(k.matrix.flat().reduce((a, b) => a + b, 0), 24);
  assert.equal(k.manual.winner, 'Iris-virginica');
  let start;
  const t = await iris.run(tf, rows, { epochs: 5, startFrom: (m) => { start = m.getWeights().map((w) => ({ values: w.dataSync().slice(), shape: w.shape })); } });
  const k2 = await iris.run(kiln, rows, { epochs: 5, startFrom: (m) => m.setWeights(start.map((w) => kiln.tensor(w.values, w.shape))) });
  for (const key of ['loss', 'val_loss', 'acc', 'val_acc'])
    t.history[key].forEach((want, i) => assert.ok(Math.abs(k2.history[key][i] - want) < 1e-4 * Math.max(1, want), `${key} at epoch ${i}: ${k2.history[key][i]}, TF.js ${want}`));
  assert.deepEqual(k2.matrix, t.matrix);
});

test('math.confusionMatrix matches TF.js, and refuses mismatched inputs', () => {
  const labels = [0, 1, 2, 2, 1, 0, 3], predictions = [0, 2, 2, 1, 1, 0, 3];
  const k = kiln.math.confusionMatrix(kiln.tensor1d(labels, 'int32'), kiln.tensor1d(predictions, 'int32'), 4);
  const t = tf.math.confusionMatrix(tf.tensor1d(labels, 'int32'), tf.tensor1d(predictions, 'int32'), 4);
  assert.equal(k.dtype, t.dtype);
  assert.deepEqual(k.arraySync(), t.arraySync());
  assert.throws(() => kiln.math.confusionMatrix(kiln.tensor1d([0, 1], 'int32'), kiln.tensor1d([0], 'int32'), 2), /same length/);
  assert.throws(() => kiln.math.confusionMatrix(kiln.tensor1d([0], 'int32'), kiln.tensor1d([0], 'int32'), 0), /positive integer/);
});
