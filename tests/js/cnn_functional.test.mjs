// Convolutional and functional models through the public JS API: a small CNN
// learns MNIST digits, a two-input functional model with a shared layer trains
// and round-trips through save/load with identical outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';
import { loadMnistNode } from '../../web/mnist.js';
import { toTensors } from '../../web/mnist_model.js';

await ready();

test('every kiln.layers factory names a layer class the core has, and the reverse', () => {
  const core = kiln.internals.layerClasses();
  // TF.js's aliases name the same classes; kiln.layers.Layer is the base of custom layers.
  // rnn() and the cells make recurrent layers of the classes above.
  const notFactories = ['Layer', 'RNNCell', 'rnn', 'simpleRNNCell', 'lstmCell', 'gruCell', 'convLstm2dCell', 'stackedRNNCells'];
  // TF.js's layers Kiln lacks: their factories throw, naming the layer and why.
  for (const name of ['randomWidth']) {
    assert.throws(() => kiln.layers[name]({}), new RegExp(`kiln.layers.${name} is not supported yet: `));
    notFactories.push(name);
  }
  const js = new Set(Object.entries(kiln.layers).filter(([name]) => !notFactories.includes(name)).map(([, make]) => make().className));
  assert.equal(kiln.layers.Layer, kiln.Layer);
  assert.deepEqual([...js].sort(), [...core].sort());
});

test('a small CNN learns MNIST digits (conv, pooling, batch norm, dropout)', async () => {
  const { train, test: held } = await loadMnistNode({ trainLimit: 2000, testLimit: 500 });
  const tr = await toTensors(kiln, train), te = await toTensors(kiln, held);
  const model = kiln.sequential({ seed: 1, layers: [
    kiln.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
    kiln.layers.batchNormalization(),
    kiln.layers.maxPooling2d({ poolSize: 2 }),
    kiln.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
    kiln.layers.maxPooling2d({ poolSize: 2 }),
    kiln.layers.flatten(),
    kiln.layers.dropout({ rate: 0.25 }),
    kiln.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  model.compile({ optimizer: kiln.train.adam(0.003), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const image = (t, n) => kiln.tensor(t.dataSync(), [n, 28, 28, 1]);
  await model.fit(image(tr.x, 2000), tr.y, { epochs: 3, batchSize: 32 });
  const [, acc] = model.evaluate(image(te.x, 500), te.y);
  assert.ok(acc.dataSync()[0] > 0.9, `accuracy ${acc.dataSync()[0]}`);
  assert.equal(model.getLayer(model.layers[1].name).getWeights().length, 4);  // gamma, beta, moving mean, variance
});

test('functional model: two inputs, a shared layer, concatenate; save/load keeps everything', async () => {
  const a = kiln.input({ shape: [6] }), b = kiln.input({ shape: [6] });
  const shared = kiln.layers.dense({ units: 4, activation: 'tanh' });
  const merged = kiln.layers.concatenate().apply([shared.apply(a), shared.apply(b)]);
  const out = kiln.layers.dense({ units: 1 }).apply(merged);
  const model = kiln.model({ inputs: [a, b], outputs: out, seed: 2 });
  model.compile({ optimizer: kiln.train.sgd(0.05), loss: 'meanSquaredError' });
  // Target: the sum of both inputs' first features.
  const n = 64, xa = new Float32Array(n * 6), xb = new Float32Array(n * 6), y = new Float32Array(n);
  for (let i = 0; i < n * 6; i++) { xa[i] = Math.sin(i * 1.3); xb[i] = Math.cos(i * 0.7); }
  for (let i = 0; i < n; i++) y[i] = xa[i * 6] + xb[i * 6];
  const xs = [kiln.tensor(xa, [n, 6]), kiln.tensor(xb, [n, 6])], ys = kiln.tensor(y, [n, 1]);
  const first = await model.trainOnBatch(xs, ys);
  let last = first;
  for (let i = 0; i < 200; i++) last = await model.trainOnBatch(xs, ys);
  assert.ok(last < 0.2 * first, `loss ${first} -> ${last}`);
  assert.equal(model.getWeights().length, 4);  // the shared layer's weights exist once
  const bytes = await model.save();
  const back = await kiln.loadModel(bytes);
  assert.deepEqual(Array.from(back.predict(xs).dataSync()), Array.from(model.predict(xs).dataSync()));
  assert.equal(back.inputs.length, 2);
  assert.throws(() => model.predict([xs[0]]), /the model has 2 input\(s\), got 1 tensor\(s\)/);
});
