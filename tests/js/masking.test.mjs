// Masks (kiln.layers.masking, embedding({maskZero})) against TensorFlow.js
// 4.22 running the same models with the same weights: recurrent layers skip
// the masked steps (pre- and post-padding, a sample fully masked), in
// predictions and in training (the weights after Adam steps); masks pass
// through dense, dropout and timeDistributed, go into both directions of a
// bidirectional layer, and end at layers that do not carry them, as in TF.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

const copyWeights = (from, to) => to.setWeights(from.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));

// Sequences [n, steps, features] with zero steps: pre-padding, post-padding, a gap, all padding.
function paddedSequences(n, steps, features, seed) {
  const values = randomFloats(n * steps * features, seed);
  const padded = (b, t) => (b % 4 === 0 && t < 2) || (b % 4 === 1 && t >= steps - 3) || (b % 4 === 2 && t === 2) || b % 4 === 3;
  for (let b = 0; b < n; ++b)
    for (let t = 0; t < steps; ++t)
      if (padded(b, t)) values.fill(0, (b * steps + t) * features, (b * steps + t + 1) * features);
  return values;
}

// Seeded weights (in [-0.5, 0.5)), the same for both: with the initializers' own random draws the
// float32 differences after three Adam steps now and then passed the tolerance (1.5e-4 once).
const seedWeights = (model) => model.setWeights(model.getWeights().map((w, i) =>
  kiln.tensor(randomFloats(w.size, 500 + i).map((v) => v / 2), w.shape)));

async function compare(make, xs, xShape, ys, yShape, { epochs = 3, tol = 1e-4 } = {}) {
  const k = make(kiln), t = make(tf);
  seedWeights(k);
  copyWeights(k, t);
  const kp = k.predict(kiln.tensor(xs, xShape)), tp = t.predict(tf.tensor(xs, xShape));
  assert.deepEqual(kp.shape, tp.shape);
  assert.ok(relError(kp.dataSync(), tp.dataSync()) < 1e-5, `predictions: ${relError(kp.dataSync(), tp.dataSync())}`);
  k.compile({ optimizer: kiln.train.adam(0.02), loss: 'meanSquaredError' });
  t.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
  const opts = { epochs, batchSize: xShape[0], shuffle: false };
  const kh = await k.fit(kiln.tensor(xs, xShape), kiln.tensor(ys, yShape), opts);
  const th = await t.fit(tf.tensor(xs, xShape), tf.tensor(ys, yShape), opts);
  assert.ok(relError(kh.history.loss, th.history.loss) < tol, `losses ${kh.history.loss} vs ${th.history.loss}`);
  const tw = t.getWeights();
  k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < tol, `weight ${i} ${w.shape}: ${relError(w.dataSync(), tw[i].dataSync())}`));
  return k;
}

for (const cell of ['lstm', 'gru', 'simpleRNN'])
  test(`masking -> ${cell}: masked steps are skipped, as in TF.js (predict and fit)`, async () => {
    const n = 8, steps = 6, features = 3;
    const make = (lib) => lib.sequential({ layers: [
      lib.layers.masking({ maskValue: 0, inputShape: [steps, features] }),
      lib.layers[cell]({ units: 4, recurrentInitializer: 'glorotUniform', biasInitializer: 'ones' }),
      lib.layers.dense({ units: 2 }),
    ] });
    await compare(make, paddedSequences(n, steps, features, 91), [n, steps, features], randomFloats(n * 2, 92), [n, 2]);
  });

test('masks pass through dense, dropout and timeDistributed into a second recurrent layer; goBackwards', async () => {
  const n = 8, steps = 5, features = 2;
  const make = (lib) => lib.sequential({ layers: [
    lib.layers.masking({ maskValue: 0, inputShape: [steps, features] }),
    lib.layers.dense({ units: 3, activation: 'tanh' }),
    lib.layers.dropout({ rate: 0 }),
    lib.layers.simpleRNN({ units: 3, returnSequences: true, goBackwards: true, recurrentInitializer: 'glorotUniform' }),
    lib.layers.timeDistributed({ layer: lib.layers.dense({ units: 3 }) }),
    lib.layers.gru({ units: 2, recurrentInitializer: 'glorotUniform', biasInitializer: 'ones' }),
  ] });
  await compare(make, paddedSequences(n, steps, features, 93), [n, steps, features], randomFloats(n * 2, 94), [n, 2]);
});

test('embedding({maskZero}) -> bidirectional lstm -> lstm, as in TF.js', async () => {
  const n = 8, steps = 7;
  const ids = Array.from({ length: n * steps }, (_, i) => {
    const b = Math.floor(i / steps), t = i % steps;
    return (b % 2 === 0 && t < 3) || (b % 3 === 1 && t > 4) ? 0 : 1 + ((i * 7) % 9);
  });
  const make = (lib) => lib.sequential({ layers: [
    lib.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputShape: [steps] }),
    lib.layers.bidirectional({ layer: lib.layers.lstm({ units: 3, returnSequences: true, recurrentInitializer: 'glorotUniform' }), mergeMode: 'concat' }),
    lib.layers.lstm({ units: 2, recurrentInitializer: 'glorotUniform' }),
  ] });
  await compare(make, ids, [n, steps], randomFloats(n * 2, 95), [n, 2]);
});

test('a mask ends at a layer that does not carry it (flatten, conv1d), as in TF.js; merge layers refuse masked inputs', async () => {
  const n = 4, steps = 4, features = 2;
  for (const middle of [(lib) => lib.layers.flatten(), (lib) => lib.layers.conv1d({ filters: 2, kernelSize: 2 })]) {
    const make = (lib) => lib.sequential({ layers: [lib.layers.masking({ inputShape: [steps, features] }), middle(lib), lib.layers.dense({ units: 1 })] });
    const xs = paddedSequences(n, steps, features, 96);
    const k = make(kiln), t = make(tf);
    copyWeights(k, t);
    assert.ok(relError(k.predict(kiln.tensor(xs, [n, steps, features])).dataSync(), t.predict(tf.tensor(xs, [n, steps, features])).dataSync()) < 1e-5);
  }
  const input = kiln.input({ shape: [steps, features] });
  const masked = kiln.layers.masking().apply(input);
  const added = kiln.layers.add().apply([masked, kiln.layers.dense({ units: features }).apply(input)]);
  assert.throws(() => kiln.model({ inputs: input, outputs: kiln.layers.lstm({ units: 2 }).apply(added) }).predict(kiln.zeros([1, steps, features])),
    /Add\): does not take masked inputs/);
});

test('a masked model saves and loads (Kiln and TF.js formats) and keeps its predictions', async () => {
  const n = 4, steps = 5, features = 2;
  const make = (lib) => lib.sequential({ layers: [
    lib.layers.masking({ maskValue: -1, inputShape: [steps, features] }), lib.layers.lstm({ units: 3 }), lib.layers.dense({ units: 1 }),
  ] });
  const xs = paddedSequences(n, steps, features, 97).map((v) => (v === 0 ? -1 : v));
  const k = make(kiln);
  const want = Array.from(k.predict(kiln.tensor(xs, [n, steps, features])).dataSync());
  const back = await kiln.loadModel(await k.save());
  assert.deepEqual(Array.from(back.predict(kiln.tensor(xs, [n, steps, features])).dataSync()), want);
  const t = make(tf);
  copyWeights(k, t);
  assert.ok(relError(want, t.predict(tf.tensor(xs, [n, steps, features])).dataSync()) < 1e-5);
});
