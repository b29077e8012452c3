// Recurrent layers through the public JS API: an LSTM and a GRU learn to add
// numbers given as digit sequences (web/addition_task.js), an encoder's states
// start a decoder (initialState), bidirectional and stateful layers behave as
// TF.js's do, and a recurrent model round-trips through save/load bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready, randomFloats } from './helpers.mjs';
import { trainAddition } from '../../web/addition_task.js';

await ready();

for (const cell of ['lstm', 'gru']) {
  test(`${cell} learns to add 4-digit numbers (>= 99% of 1000 held-out sums exactly right)`, async (t) => {
    const r = await trainAddition(kiln, { cell, epochs: 15 });
    t.diagnostic(`${cell}: ${(r.accuracy * 100).toFixed(1)}% exact sums, ${r.seconds.toFixed(1)} s for 15 epochs of 3000`);
    assert.ok(r.accuracy >= 0.99, `accuracy ${r.accuracy}`);
  });
}

test('encoder-decoder: returned LSTM states start another LSTM (initialState)', async () => {
  const src = kiln.input({ shape: [5, 3] }), tgt = kiln.input({ shape: [4, 2] });
  const [, h, c] = kiln.layers.lstm({ units: 6, returnState: true }).apply(src);
  const dec = kiln.layers.lstm({ units: 6, returnSequences: true }).apply(tgt, { initialState: [h, c] });
  const out = kiln.layers.timeDistributed({ layer: kiln.layers.dense({ units: 2 }) }).apply(dec);
  const model = kiln.model({ inputs: [src, tgt], outputs: out, seed: 4 });
  assert.deepEqual(model.outputs[0].shape, [null, 4, 2]);
  model.compile({ optimizer: kiln.train.adam(0.02), loss: 'meanSquaredError' });
  // Target: the decoder must reproduce the source's first feature sum at every step.
  const n = 32, a = randomFloats(n * 15, 5), b = randomFloats(n * 8, 6), y = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) for (let s = 0; s < 4; s++) y[(i * 4 + s) * 2] = (a[i * 15] + a[i * 15 + 3]) / 2;
  const xs = [kiln.tensor(a, [n, 5, 3]), kiln.tensor(b, [n, 4, 2])], ys = kiln.tensor(y, [n, 4, 2]);
  const first = await model.trainOnBatch(xs, ys);
  let last = first;
  for (let i = 0; i < 150; i++) last = await model.trainOnBatch(xs, ys);
  assert.ok(last < 0.2 * first, `loss ${first} -> ${last}`);
  const back = await kiln.loadModel(await model.save());
  assert.deepEqual(Array.from(back.predict(xs).dataSync()), Array.from(model.predict(xs).dataSync()));
});

test('bidirectional: mergeMode null gives both directions, concat doubles the units, weights in TF.js order', () => {
  const x = kiln.input({ shape: [7, 3] });
  const bi = kiln.layers.bidirectional({ layer: kiln.layers.gru({ units: 4, returnSequences: true, name: 'g' }), mergeMode: null, name: 'bi' });
  const [f, b] = bi.apply(x);
  const sum = kiln.layers.add().apply([f, b]);
  const concat = kiln.layers.bidirectional({ layer: kiln.layers.lstm({ units: 5 }) }).apply(sum);
  const model = kiln.model({ inputs: x, outputs: concat, seed: 1 });
  assert.deepEqual(model.outputs[0].shape, [null, 10]);
  assert.deepEqual(bi.getWeights().map((w) => w.shape), [[3, 12], [4, 12], [12], [3, 12], [4, 12], [12]]);
  let summary = '';
  model.summary(undefined, undefined, (s) => { summary += s; });
  assert.match(summary, /bi \(Bidirectional\)/);
});

test('stateful LSTM carries its state across calls until resetStates()', () => {
  const model = kiln.sequential({ seed: 2, layers: [kiln.layers.lstm({ units: 3, stateful: true, batchInputShape: [2, 4, 2] })] });
  const x = kiln.tensor(randomFloats(16, 7), [2, 4, 2]);
  const first = Array.from(model.predict(x).dataSync());
  const second = Array.from(model.predict(x).dataSync());
  assert.notDeepEqual(second, first);
  model.resetStates();
  assert.deepEqual(Array.from(model.predict(x).dataSync()), first);
});

test('recurrent layer errors name the layer and the argument', () => {
  const make = (layer) => kiln.sequential({ layers: [layer] }).summary(undefined, undefined, () => {});
  assert.throws(() => make(kiln.layers.lstm({ units: 4, recurrentDropout: 0.2, inputShape: [3, 2] })), /recurrentDropout' is not supported/);
  assert.throws(() => make(kiln.layers.gru({ units: 4, inputShape: [3, 2, 2] })), /GRU.*expects an input of shape \[steps, features\]/);
  assert.throws(() => make(kiln.layers.bidirectional({ layer: kiln.layers.dense({ units: 2 }), inputShape: [3, 2] })), /wraps a recurrent layer/);
});
