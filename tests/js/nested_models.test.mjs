// A model used as a layer (TF.js's transfer-learning pattern): in a
// sequential model and through model.apply in a functional one, sharing the
// inner model's weights, frozen with inner.trainable = false; checked
// against TF.js 4.22 building the same nesting with the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

const N = 12, D = 6;
const xs = randomFloats(N * D, 31), ys = randomFloats(N * 2, 32);

// A small functional base: two branches merged.
function base(lib, seed) {
  const x = lib.input({ shape: [D] });
  const a = lib.layers.dense({ units: 5, activation: 'tanh' }).apply(x);
  const b = lib.layers.dense({ units: 5, activation: 'relu' }).apply(x);
  return lib.model({ inputs: x, outputs: lib.layers.add().apply([a, b]), ...(seed ? { seed } : {}) });
}
const copyWeights = (from, to) => to.setWeights(from.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));

test('a model as the first step of a sequential model predicts and trains as TF.js\'s nesting does', async () => {
  const kb = base(kiln, 4), tb = base(tf);
  const k = kiln.sequential({ seed: 5, layers: [kb, kiln.layers.dense({ units: 2 })] });
  const t = tf.sequential({ layers: [tb, tf.layers.dense({ units: 2 })] });
  assert.deepEqual(k.getWeights().slice(0, 4).map((w) => Array.from(w.dataSync())), kb.getWeights().map((w) => Array.from(w.dataSync())),
    'the outer model starts from the inner model\'s weights');
  copyWeights(k, t);
  const x = kiln.tensor(xs, [N, D]);
  assert.ok(relError(k.predict(x).dataSync(), t.predict(tf.tensor(xs, [N, D])).dataSync()) < 1e-6);
  k.compile({ optimizer: kiln.train.sgd(0.1), loss: 'meanSquaredError' });
  t.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
  await k.fit(x, kiln.tensor(ys, [N, 2]), { epochs: 3, batchSize: N });
  await t.fit(tf.tensor(xs, [N, D]), tf.tensor(ys, [N, 2]), { epochs: 3, batchSize: N });
  const tw = t.getWeights();
  k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < 1e-5, `weight ${i}`));
  // The inner model shares the trained weights, as TF.js's does.
  assert.ok(relError(kb.predict(x).dataSync(), tb.predict(tf.tensor(xs, [N, D])).dataSync()) < 1e-5);
  tb.getWeights().forEach((w, i) => assert.ok(relError(kb.getWeights()[i].dataSync(), w.dataSync()) < 1e-5, `inner weight ${i}`));
});

test('model.apply reuses a frozen base under a new head; the base\'s weights do not move', async () => {
  const kb = base(kiln, 6), tb = base(tf);
  copyWeights(kb, tb);
  kb.trainable = false;
  tb.trainable = false;
  const build = (lib, b) => {
    const x = lib.input({ shape: [D] });
    const head = lib.layers.dense({ units: 2, activation: 'sigmoid' });
    return { head, m: lib.model({ inputs: x, outputs: head.apply(b.apply(x)), ...(lib === kiln ? { seed: 7 } : {}) }) };
  };
  const { head: kHead, m: k } = build(kiln, kb), { head: tHead, m: t } = build(tf, tb);
  copyWeights(kHead, tHead);
  const frozen = kb.getWeights().map((w) => Array.from(w.dataSync()));
  k.compile({ optimizer: kiln.train.adam(0.05), loss: 'meanSquaredError' });
  t.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const kh = await k.fit(kiln.tensor(xs, [N, D]), kiln.tensor(ys, [N, 2]), { epochs: 4, batchSize: 6, shuffle: false });
  const th = await t.fit(tf.tensor(xs, [N, D]), tf.tensor(ys, [N, 2]), { epochs: 4, batchSize: 6, shuffle: false });
  kh.history.loss.forEach((l, i) => assert.ok(Math.abs(l - th.history.loss[i]) < 1e-5 * th.history.loss[i] + 1e-7, `epoch ${i}`));
  assert.deepEqual(k.getWeights().slice(0, 4).map((w) => Array.from(w.dataSync())), frozen);
  assert.equal(k.trainableWeights.length, 2);
  assert.throws(() => kb.apply([kiln.input({ shape: [D] }), kiln.input({ shape: [D] })]), /takes 1 input\(s\), got 2/);
});
