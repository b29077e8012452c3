// The 3-D ops (conv3d, maxPool3d, avgPool3d; NDHWC) against TensorFlow.js
// 4.22 on odd shapes, strides, dilations and both paddings, values and
// gradients (the core's N-D gradients: tests/cpp/gradient_test.cc checks
// them against finite differences too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

const both = (shape, seed) => { const v = randomFloats(shape.reduce((a, b) => a * b), seed); return [kiln.tensor(v, shape), tf.tensor(v, shape)]; };
function same(name, got, want) {
  assert.deepEqual(got.shape, want.shape, `${name}: shape`);
  assert.ok(relError(got.dataSync(), want.dataSync()) < 1e-5, `${name}: values`);
}

test('conv3d matches TF.js, values and gradients', () => {
  const [x, tx] = both([2, 5, 6, 7, 3], 91);
  for (const [fshape, strides, pad, dilations] of [[[2, 3, 2, 3, 4], 1, 'valid', 1], [[3, 3, 3, 3, 2], [2, 1, 2], 'same', 1],
    [[2, 2, 2, 3, 5], 1, 'same', [2, 1, 2]], [[1, 1, 1, 3, 2], 2, 'valid', 1]]) {
    const [f, tfF] = both(fshape, 92);
    same(`conv3d ${fshape} ${strides} ${pad} ${dilations}`, kiln.conv3d(x, f, strides, pad, 'NDHWC', dilations), tf.conv3d(tx, tfF, strides, pad, 'NDHWC', dilations));
  }
  const [x4, tx4] = both([5, 6, 7, 3], 93), [f, tfF] = both([2, 2, 2, 3, 2], 94);
  same('conv3d unbatched', kiln.conv3d(x4, f, 1, 'same'), tf.conv3d(tx4, tfF, 1, 'same'));
  // Gradients with respect to the input and the filter, weighted so every output counts differently.
  const [wts, tfW] = both([5, 6, 7, 2], 96);
  const k = kiln.grads((a, b) => kiln.sum(kiln.mul(kiln.conv3d(a, b, [1, 1, 1], 'same'), wts)))([x4, f]);
  const t = tf.grads((a, b) => tf.sum(tf.mul(tf.conv3d(a, b, [1, 1, 1], 'same'), tfW)))([tx4, tfF]);
  same('conv3d dx', k[0], t[0]);
  same('conv3d dfilter', k[1], t[1]);
});

test('maxPool3d and avgPool3d match TF.js, values and gradients', () => {
  const [x, tx] = both([2, 5, 6, 7, 3], 95);
  for (const [size, strides, pad] of [[2, 2, 'valid'], [[3, 2, 2], [1, 2, 2], 'same'], [3, 1, 'same'], [[2, 3, 1], [2, 1, 1], 'valid']]) {
    same(`maxPool3d ${size} ${strides} ${pad}`, kiln.maxPool3d(x, size, strides, pad), tf.maxPool3d(tx, size, strides, pad));
    same(`avgPool3d ${size} ${strides} ${pad}`, kiln.avgPool3d(x, size, strides, pad), tf.avgPool3d(tx, size, strides, pad));
  }
  for (const [name, size, strides, pad] of [['maxPool3d', 2, 1, 'same'], ['avgPool3d', [2, 3, 2], [1, 2, 1], 'valid']]) {
    const [wts, tfW] = both(tf[name](tx, size, strides, pad).shape, 97);
    const k = kiln.grad((a) => kiln.sum(kiln.mul(kiln[name](a, size, strides, pad), wts)))(x);
    const t = tf.grad((a) => tf.sum(tf.mul(tf[name](a, size, strides, pad), tfW)))(tx);
    same(`${name} gradient`, k, t);
  }
  assert.throws(() => kiln.maxPool3d(x, 2, 2, 'valid', 'floor'), /dimRoundingMode is not supported/);
});
