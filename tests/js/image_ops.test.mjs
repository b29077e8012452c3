// kiln.image (TF.js's tf.image) against TensorFlow.js 4.22 (cpu backend):
// resizeNearestNeighbor in every coordinate mode and for int32 images,
// flipLeftRight, and nonMaxSuppression with and without a score threshold,
// on overlapping, touching and tied boxes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

function same(name, got, want) {
  assert.deepEqual(got.shape, want.shape, `${name}: shape`);
  assert.equal(got.dtype, want.dtype, `${name}: dtype`);
  const g = Array.from(got.dataSync()), w = Array.from(want.dataSync());
  g.forEach((v, i) => assert.ok(Math.abs(v - w[i]) <= 1e-5 * Math.max(1, Math.abs(w[i])), `${name}: element ${i} is ${v}, TF.js gives ${w[i]}`));
}

test('resizeNearestNeighbor and flipLeftRight match TF.js', () => {
  const values = Array.from({ length: 2 * 5 * 7 * 3 }, (_, i) => (i * 13) % 17 - 3);
  for (const dtype of ['float32', 'int32']) {
    const make = (lib) => lib.tensor(values, [2, 5, 7, 3], dtype);
    for (const size of [[9, 4], [3, 11], [5, 7], [1, 1]])
      for (const [align, half] of [[false, false], [true, false], [false, true]])
        same(`resizeNearestNeighbor ${dtype} ${size} ${align} ${half}`, kiln.image.resizeNearestNeighbor(make(kiln), size, align, half),
          tf.image.resizeNearestNeighbor(make(tf), size, align, half));
    // TF.js flips float32 images only; Kiln any dtype.
    if (dtype === 'float32') same('flipLeftRight', kiln.image.flipLeftRight(make(kiln)), tf.image.flipLeftRight(make(tf)));
  }
  same('resizeNearestNeighbor unbatched', kiln.image.resizeNearestNeighbor(kiln.tensor(values.slice(0, 105), [5, 7, 3]), [8, 3]),
    tf.image.resizeNearestNeighbor(tf.tensor(values.slice(0, 105), [5, 7, 3]), [8, 3]));
});

test('nonMaxSuppression matches TF.js', async () => {
  const boxes = [[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, -0.1, 1, 0.9], [0, 10, 1, 11], [0, 10.1, 1, 11.1], [0, 100, 1, 101], [1, 1, 0, 0], [0, 0, 2, 2]];
  const scores = [0.9, 0.75, 0.6, 0.95, 0.5, 0.3, 0.85, 0.6];
  for (const [max, iou, scoreThreshold] of [[8, 0.5, undefined], [3, 0.5, undefined], [8, 0.3, 0.55], [8, 0.0, undefined], [8, 1, 0.6], [0, 0.5, undefined]]) {
    const k = kiln.image.nonMaxSuppression(boxes, scores, max, iou, scoreThreshold);
    const t = tf.image.nonMaxSuppression(boxes, scores, max, iou, scoreThreshold);
    same(`nonMaxSuppression ${max} ${iou} ${scoreThreshold}`, k, t);
  }
  same('nonMaxSuppressionAsync', await kiln.image.nonMaxSuppressionAsync(boxes, scores, 4), await tf.image.nonMaxSuppressionAsync(boxes, scores, 4));
  assert.throws(() => kiln.image.nonMaxSuppression([[0, 0, 1]], [1], 1), /boxes must be \[numBoxes, 4\]/);
});

test('cropAndResize matches TF.js, bilinear and nearest, boxes inside, across and outside the image', () => {
  const image = Array.from({ length: 2 * 6 * 5 * 2 }, (_, i) => Math.sin(i * 0.37) * 10);
  const boxes = [[0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], [0.5, 0.5, 0.5, 0.5], [-0.2, -0.1, 0.4, 1.3], [0.8, 0.9, 0.1, 0.2], [1.2, 1.5, 1.4, 1.6]];
  const boxInd = [0, 1, 1, 0, 1, 0];
  for (const method of ['bilinear', 'nearest'])
    for (const size of [[3, 4], [1, 1], [7, 2]])
      same(`cropAndResize ${method} ${size}`, kiln.image.cropAndResize(kiln.tensor(image, [2, 6, 5, 2]), boxes, boxInd, size, method, -7),
        tf.image.cropAndResize(tf.tensor(image, [2, 6, 5, 2]), boxes, boxInd, size, method, -7));
});
