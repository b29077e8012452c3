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

test('resizing (bilinear, nearest) predicts and trains as TF.js\'s', async () => {
  const values = Array.from(randomFloats(2 * 5 * 6 * 3, 73));
  for (const interpolation of ['bilinear', 'nearest'])
    for (const [h, w] of [[8, 4], [3, 11], [1, 1], [5, 6]]) {
      const got = kiln.sequential({ layers: [kiln.layers.resizing({ height: h, width: w, interpolation, inputShape: [5, 6, 3] })] })
        .predict(kiln.tensor(values, [2, 5, 6, 3]));
      const want = tf.layers.resizing({ height: h, width: w, interpolation }).apply(tf.tensor(values, [2, 5, 6, 3]));
      assert.deepEqual(got.shape, want.shape);
      assert.ok(relError(got.dataSync(), want.dataSync()) < 1e-6, `${interpolation} ${h}x${w}`);
    }
  // Training through it: the gradient reaching the layer before, against central finite
  // differences of the loss (TF.js 4.22's own resizeBilinear gradient with aligned corners
  // swaps height and width, so it cannot be the reference).
  for (const interpolation of ['bilinear', 'nearest']) {
    const k = kiln.sequential({ seed: 4, layers: [kiln.layers.conv2d({ filters: 2, kernelSize: 1, inputShape: [5, 6, 3] }),
      kiln.layers.resizing({ height: 7, width: 4, interpolation }), kiln.layers.flatten(), kiln.layers.dense({ units: 1 })] });
    const x = kiln.tensor(values, [2, 5, 6, 3]), y = kiln.tensor([[0.5], [-0.5]]);
    k.compile({ optimizer: kiln.train.sgd(1), loss: 'meanSquaredError' });
    const w0 = k.getWeights().map((t) => Float32Array.from(t.dataSync()));
    const lossAt = (kernel) => {
      k.setWeights([kiln.tensor(kernel, [1, 1, 3, 2]), ...w0.slice(1).map((v, i) => kiln.tensor(v, k.getWeights()[i + 1].shape))]);
      return k.evaluate(x, y).dataSync()[0];
    };
    const numeric = Array.from(w0[0], (_, i) => {
      const h = 1e-2, up = Float32Array.from(w0[0]), down = Float32Array.from(w0[0]);
      up[i] += h; down[i] -= h;
      return (lossAt(up) - lossAt(down)) / (2 * h);
    });
    lossAt(w0[0]);
    await k.fit(x, y, { epochs: 1, batchSize: 2 });
    const analytic = Array.from(k.getWeights()[0].dataSync(), (v, i) => w0[0][i] - v);  // one SGD step of rate 1
    assert.ok(relError(analytic, numeric) < 2e-2, `${interpolation}: gradient ${analytic} vs finite differences ${numeric}`);
  }
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.resizing({ height: 2, width: 2, cropToAspectRatio: true, inputShape: [4, 4, 1] })] }).build(),
    /cropToAspectRatio' is not supported/);
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
