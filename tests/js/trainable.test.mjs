// Keras's `trainable` through the public JS API: a frozen layer's weights do
// not move while fitting (set in the config or later), unfreezing lets them
// move again, a frozen batchNormalization keeps its moving statistics, and
// save/load keeps the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready, randomFloats, oneHotRows } from './helpers.mjs';

await ready();
const x = kiln.tensor(randomFloats(64 * 6, 3), [64, 6]);
const y = kiln.tensor(oneHotRows(64, 3), [64, 3]);

function mlp(firstArgs = {}) {
  const model = kiln.sequential({
    seed: 5,
    layers: [
      kiln.layers.dense({ units: 8, activation: 'relu', inputShape: [6], name: 'first', ...firstArgs }),
      kiln.layers.batchNormalization({ name: 'norm' }),
      kiln.layers.dense({ units: 3, activation: 'softmax', name: 'last' }),
    ],
  });
  model.compile({ optimizer: kiln.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  return model;
}
const values = (layer) => layer.getWeights().map((w) => Array.from(w.dataSync()));

test('dense({trainable: false}) keeps its weights while the others train', async () => {
  const model = mlp({ trainable: false });
  const first = values(model.getLayer('first')), last = values(model.getLayer('last'));
  await model.fit(x, y, { epochs: 2, batchSize: 16 });
  assert.deepEqual(values(model.getLayer('first')), first);
  assert.notDeepEqual(values(model.getLayer('last')), last);
  assert.equal(model.getLayer('first').trainable, false);
});

test('layer.trainable can be switched after training started', async () => {
  const model = mlp();
  await model.fit(x, y, { epochs: 1, batchSize: 16 });
  model.getLayer('first').trainable = false;
  const frozen = values(model.getLayer('first'));
  await model.fit(x, y, { epochs: 1, batchSize: 16 });
  assert.deepEqual(values(model.getLayer('first')), frozen);
  model.getLayer('first').trainable = true;
  await model.fit(x, y, { epochs: 1, batchSize: 16 });
  assert.notDeepEqual(values(model.getLayer('first')), frozen);
});

test('a frozen batchNormalization keeps its moving statistics', async () => {
  const model = mlp();
  model.getLayer('norm').trainable = false;
  const [gamma, beta, mean, variance] = values(model.getLayer('norm'));
  await model.fit(x, y, { epochs: 1, batchSize: 16 });
  assert.deepEqual(values(model.getLayer('norm')), [gamma, beta, mean, variance]);
  // Unfrozen, the same fit moves the moving mean.
  const unfrozen = mlp();
  unfrozen.getLayer('norm').trainable = true;
  await unfrozen.fit(x, y, { epochs: 1, batchSize: 16 });
  assert.notDeepEqual(values(unfrozen.getLayer('norm'))[2], mean);
});

test('model.trainable = false freezes every layer, and saved files keep the flags', async () => {
  const model = mlp();
  model.trainable = false;
  const before = model.getWeights().map((w) => Array.from(w.dataSync()));
  await model.fit(x, y, { epochs: 1, batchSize: 16 });
  assert.deepEqual(model.getWeights().map((w) => Array.from(w.dataSync())), before);
  const again = await kiln.loadModel(await model.save());
  assert.deepEqual(again.layers.map((l) => l.trainable), [false, false, false]);
  assert.throws(() => { model.getLayer('first').trainable = 'no'; }, /trainable must be true or false/);
});
