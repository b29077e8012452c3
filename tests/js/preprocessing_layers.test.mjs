// The preprocessing layers (rescaling, centerCrop, categoryEncoding) against
// TensorFlow.js 4.22 running the same models: predictions, and training
// through rescaling; an id outside categoryEncoding's range is an error
// naming it, and the model keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

const copyWeights = (from, to) => to.setWeights(from.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));

test('rescaling predicts and trains as TF.js\'s', async () => {
  const make = (lib) => lib.sequential({ layers: [lib.layers.rescaling({ scale: 1 / 255, offset: -0.5, inputShape: [4] }), lib.layers.dense({ units: 3 })] });
  const k = make(kiln), t = make(tf);
  copyWeights(k, t);
  const xs = Array.from(randomFloats(10 * 4, 71), (v) => Math.round((v + 1) * 127)), ys = randomFloats(10 * 3, 72);
  assert.ok(relError(k.predict(kiln.tensor(xs, [10, 4])).dataSync(), t.predict(tf.tensor(xs, [10, 4])).dataSync()) < 1e-6);
  k.compile({ optimizer: kiln.train.sgd(0.5), loss: 'meanSquaredError' });
  t.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
  await k.fit(kiln.tensor(xs, [10, 4]), kiln.tensor(ys, [10, 3]), { epochs: 3, batchSize: 10 });
  await t.fit(tf.tensor(xs, [10, 4]), tf.tensor(ys, [10, 3]), { epochs: 3, batchSize: 10 });
  const tw = t.getWeights();
  k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < 1e-5, `weight ${i}`));
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.rescaling({ inputShape: [4] })] }).build(), /Rescaling: argument 'scale' is required/);
});

test('centerCrop takes the central pixels, as TF.js does', () => {
  const values = Array.from({ length: 2 * 8 * 7 * 2 }, (_, i) => i);
  for (const [h, w] of [[4, 3], [8, 7], [2, 5]]) {
    // TF.js's layers are applied to tensors directly: in a TF.js model their computeOutputShape
    // overwrites the model's input shape (a TF.js 4.22 bug).
    const got = kiln.sequential({ layers: [kiln.layers.centerCrop({ height: h, width: w, inputShape: [8, 7, 2] })] }).predict(kiln.tensor(values, [2, 8, 7, 2]));
    const want = tf.layers.centerCrop({ height: h, width: w }).apply(tf.tensor(values, [2, 8, 7, 2]));
    assert.deepEqual(got.shape, want.shape);
    assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()), `${h}x${w}`);
  }
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.centerCrop({ height: 9, width: 3, inputShape: [8, 7, 2] })] }).build(),
    /smaller than 9x3; upsizing them .* is not supported/);
});

test('categoryEncoding (multiHot, count, oneHot) predicts as TF.js\'s; an id out of range is an error', () => {
  const ids = [[0, 3, 3, 1], [4, 4, 4, 2], [1, 0, 2, 3]];
  for (const outputMode of ['multiHot', 'count']) {
    const got = kiln.sequential({ layers: [kiln.layers.categoryEncoding({ numTokens: 6, outputMode, inputShape: [4] })] }).predict(kiln.tensor(ids));
    const want = tf.layers.categoryEncoding({ numTokens: 6, outputMode }).apply(tf.tensor2d(ids, [3, 4], 'int32'));
    assert.deepEqual(got.shape, want.shape);
    assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()), outputMode);
  }
  const oneHot = kiln.sequential({ layers: [kiln.layers.categoryEncoding({ numTokens: 5, outputMode: 'oneHot', inputShape: [1] })] });
  assert.deepEqual(Array.from(oneHot.predict(kiln.tensor([[2], [0], [4]])).dataSync()),
    Array.from(tf.layers.categoryEncoding({ numTokens: 5, outputMode: 'oneHot' }).apply(tf.tensor2d([[2], [0], [4]], [3, 1], 'int32')).dataSync()));
  const m = kiln.sequential({ layers: [kiln.layers.categoryEncoding({ numTokens: 3, inputShape: [2] }), kiln.layers.dense({ units: 2 })] });
  assert.throws(() => m.predict(kiln.tensor([[0, 1], [2, 3]])), /CategoryEncoding: id 3\.0+ is outside \[0, numTokens = 3\)/);
  assert.equal(m.predict(kiln.tensor([[0, 1], [2, 2]])).shape[0], 2);
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.categoryEncoding({ numTokens: 3, outputMode: 'oneHot', inputShape: [2] })] }).build(),
    /outputMode 'oneHot' takes one id per sample/);
});
