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

const pixels = (n, seed) => Array.from({ length: n }, (_, i) => ((i * 37 + seed * 11) % 256));

test('rgbToGrayscale, grayscaleToRGB and threshold (binary, inverted, Otsu) match TF.js', () => {
  for (const dtype of ['float32', 'int32']) {
    const rgb = (lib) => lib.tensor(pixels(2 * 6 * 5 * 3, 1), [2, 6, 5, 3], dtype);
    same(`rgbToGrayscale ${dtype}`, kiln.image.rgbToGrayscale(rgb(kiln)), tf.image.rgbToGrayscale(rgb(tf)));
    const gray = (lib) => lib.tensor(pixels(6 * 5, 2), [6, 5, 1], dtype);
    same(`grayscaleToRGB ${dtype}`, kiln.image.grayscaleToRGB(gray(kiln)), tf.image.grayscaleToRGB(gray(tf)));
    const img = (lib) => lib.tensor(pixels(9 * 7 * 3, 3), [9, 7, 3], dtype);
    for (const [method, inverted, value] of [['binary', false, 0.5], ['binary', true, 0.3], ['otsu', false, 0.5], ['otsu', true, 0.5]]) {
      same(`threshold ${dtype} ${method} ${inverted}`, kiln.image.threshold(img(kiln), method, inverted, value), tf.image.threshold(img(tf), method, inverted, value));
      same(`threshold gray ${dtype} ${method}`, kiln.image.threshold(gray(kiln), method, inverted, value), tf.image.threshold(gray(tf), method, inverted, value));
    }
  }
  assert.throws(() => kiln.image.rgbToGrayscale(kiln.zeros([4, 4, 2])), /last dimension must be 3/);
});

test('rotateWithOffset and transform (every interpolation and fill mode) match TF.js', () => {
  const img = (lib, dtype = 'float32') => lib.tensor(pixels(1 * 7 * 9 * 3, 4), [1, 7, 9, 3], dtype);
  for (const [radians, fill, center] of [[0.7, 0, 0.5], [-2.1, [10, 20, 30], [0.2, 0.8]], [Math.PI / 2, 255, 0.5], [0, 0, 0.5]]) {
    const want = tf.image.rotateWithOffset(img(tf), radians, fill, center);
    same(`rotateWithOffset ${radians}`, kiln.image.rotateWithOffset(img(kiln), radians, fill, center), want);
    // TF.js takes float32 images only; Kiln keeps an int32 image's dtype.
    same(`rotateWithOffset ${radians} int32`, kiln.image.rotateWithOffset(img(kiln, 'int32'), radians, fill, center), tf.cast(want, 'int32'));
  }
  const transforms = [[1, 0, 0, 0, 1, 0, 0, 0], [0.9, 0.3, -2.5, -0.2, 1.1, 1.7, 0.01, -0.02], [-1, 0, 8, 0, 1, 0, 0, 0], [1.3, 0, -12, 0, 1.3, -9, 0, 0], [0.5, 0, 0, 0, 0.5, 0, 0.3, -0.1]];
  for (const t of transforms)
    for (const interpolation of ['nearest', 'bilinear'])
      for (const fillMode of ['constant', 'reflect', 'wrap', 'nearest'])
        for (const outputShape of [undefined, [5, 12]])
          same(`transform ${t} ${interpolation} ${fillMode} ${outputShape}`,
            kiln.image.transform(img(kiln), kiln.tensor([t]), interpolation, fillMode, 7, outputShape),
            tf.image.transform(img(tf), tf.tensor2d([t]), interpolation, fillMode, 7, outputShape));
});

test('nonMaxSuppressionWithScore and nonMaxSuppressionPadded match TF.js', async () => {
  const boxes = [[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, -0.1, 1, 0.9], [0, 10, 1, 11], [0, 10.1, 1, 11.1], [0, 100, 1, 101]];
  const scores = [0.9, 0.75, 0.6, 0.95, 0.5, 0.3];
  for (const [max, iou, st] of [[3, 0.5, -Infinity], [10, 0.5, 0.4], [2, 0.2, -Infinity]]) {
    const k = kiln.image.nonMaxSuppressionWithScore(kiln.tensor(boxes), kiln.tensor(scores), max, iou, st);
    const t = tf.image.nonMaxSuppressionWithScore(tf.tensor2d(boxes), tf.tensor1d(scores), max, iou, st);
    same('withScore indices', k.selectedIndices, t.selectedIndices);
    same('withScore scores', k.selectedScores, t.selectedScores);
    for (const pad of [false, true]) {
      const kp = await kiln.image.nonMaxSuppressionPaddedAsync(kiln.tensor(boxes), kiln.tensor(scores), max, iou, st, pad);
      const tp = await tf.image.nonMaxSuppressionPaddedAsync(tf.tensor2d(boxes), tf.tensor1d(scores), max, iou, st, pad);
      same(`padded ${pad} indices`, kp.selectedIndices, tp.selectedIndices);
      same(`padded ${pad} count`, kp.validOutputs, tp.validOutputs);
    }
  }
  // Soft-NMS: scores decay instead of boxes being dropped.
  const many = [[0, 0, 1, 1], [0, 0.2, 1, 1.2], [0.1, 0, 1.1, 1], [0, 0.5, 1, 1.5], [5, 5, 6, 6], [0, 0.05, 1, 1.05], [5, 5.3, 6, 6.3]];
  const manyScores = [0.9, 0.8, 0.85, 0.7, 0.6, 0.95, 0.3];
  for (const [max, iou, st, sigma] of [[7, 0.9, -Infinity, 0.5], [4, 0.6, 0.2, 0.3], [7, 1, 0.1, 1], [2, 0.5, -Infinity, 0.1]]) {
    const k = kiln.image.nonMaxSuppressionWithScore(kiln.tensor(many), kiln.tensor(manyScores), max, iou, st, sigma);
    const t = tf.image.nonMaxSuppressionWithScore(tf.tensor2d(many), tf.tensor1d(manyScores), max, iou, st, sigma);
    same(`soft-NMS ${sigma} indices`, k.selectedIndices, t.selectedIndices);
    same(`soft-NMS ${sigma} scores`, k.selectedScores, t.selectedScores);
  }
  assert.throws(() => kiln.image.nonMaxSuppressionWithScore(kiln.tensor(boxes), kiln.tensor(scores), 3, 0.5, -Infinity, -1), /softNmsSigma must be a number >= 0/);
});

test('cumsum (and its gradient), bincount and denseBincount match TF.js', () => {
  const x = [[1, -2, 3, 4], [5, 6, -7, 8], [0.5, 1, 2, -1]];
  for (const axis of [0, 1, -1])
    for (const [exclusive, reverse] of [[false, false], [true, false], [false, true], [true, true]]) {
      // TF.js 4.22 mishandles a negative axis (its result's shape is wrong): it gets the positive one.
      const tfAxis = axis < 0 ? axis + 2 : axis;
      same(`cumsum ${axis} ${exclusive} ${reverse}`, kiln.cumsum(kiln.tensor(x), axis, exclusive, reverse), tf.cumsum(tf.tensor2d(x), tfAxis, exclusive, reverse));
      // TF.js 4.22's cumsum gradient fails for an axis other than the last (a shape error); the
      // core's is checked against finite differences on every axis (tests/cpp/gradient_test.cc).
      if (axis === 0) continue;
      const f = (lib) => (a) => lib.sum(lib.mul(lib.cumsum(a, axis, exclusive, reverse), lib.tensor([[1, 2, 3, 4]])));
      const ft = (a) => tf.sum(tf.mul(tf.cumsum(a, tfAxis, exclusive, reverse), tf.tensor([[1, 2, 3, 4]])));
      same(`cumsum gradient ${axis} ${exclusive} ${reverse}`, kiln.grad(f(kiln))(kiln.tensor(x)), tf.grad(ft)(tf.tensor2d(x)));
    }
  same('cumsum int32', kiln.cumsum(kiln.tensor([1, 2, 3], [3], 'int32')), tf.cumsum(tf.tensor1d([1, 2, 3], 'int32')));
  const v = [1, 1, 2, 4, 0, 9, 2, 3];
  same('bincount counts', kiln.bincount(kiln.tensor(v, [8], 'int32'), kiln.tensor([]), 5), tf.bincount(tf.tensor1d(v, 'int32'), tf.tensor1d([]), 5));
  const w = [0.5, 1, 2, 3, 4, 5, 6, 7];
  same('bincount weights', kiln.bincount(kiln.tensor(v, [8], 'int32'), kiln.tensor(w), 6), tf.bincount(tf.tensor1d(v, 'int32'), tf.tensor1d(w), 6));
  const v2 = [[1, 1, 2, 4], [0, 9, 2, 3]];
  for (const binary of [false, true])
    same(`denseBincount ${binary}`, kiln.denseBincount(kiln.tensor(v2, [2, 4], 'int32'), kiln.tensor([]), 5, binary),
      tf.denseBincount(tf.tensor2d(v2, [2, 4], 'int32'), tf.tensor1d([]), 5, binary));
  assert.throws(() => kiln.bincount(kiln.tensor([1, -1], [2], 'int32'), kiln.tensor([]), 3), /non-negative/);
});
