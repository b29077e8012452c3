// Typed tensors: kiln.tensor/scalar/tensor2d with every dtype, checked against
// TF.js 4.22 where TF.js has the dtype (float32, int32, bool), and against
// the typed arrays' own conversions and IEEE half precision for the rest;
// Layers models take any numeric dtype as float32, as TF.js casts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { randomFloats, ready } from './helpers.mjs';

await tf.setBackend('cpu');

const SUPPORTED = 'float32, int32, int64, bool, uint8, int8, float16, float64, int16, uint16, uint32, uint64';

function sameAsTfjs(values, shape, dtype) {
  const k = kiln.tensor(values, shape, dtype), t = tf.tensor(values, shape, dtype);
  const what = `tensor(${JSON.stringify(values)}, ${shape}, ${dtype})`;
  assert.equal(k.dtype, t.dtype, what);
  assert.deepEqual(k.shape, t.shape, what);
  assert.equal(k.dataSync().constructor, t.dataSync().constructor, what);
  assert.deepEqual(Array.from(k.dataSync()), Array.from(t.dataSync()), what);
  assert.deepEqual(k.arraySync(), t.arraySync(), what);
  t.dispose();
}

test('float32, int32 and bool tensors are created and converted as in TF.js 4.22', () => {
  const numbers = [1.5, -2.7, 0.5, -0.5, -0.6, 3e10, -3e10, 0, NaN, 255.9];
  for (const dtype of [undefined, 'float32', 'int32', 'bool']) {
    sameAsTfjs(numbers, undefined, dtype);
    sameAsTfjs([[1, 2.5], [-3.5, 4]], undefined, dtype);
    sameAsTfjs([true, false, true], [3], dtype);
    sameAsTfjs(new Float32Array([1.5, -2.5, 0, 7]), [2, 2], dtype);
    sameAsTfjs(new Int32Array([1, -2, 0, 7]), [4], dtype);
    sameAsTfjs([new Float32Array([1, 2]), new Float32Array([3.5, -4])], undefined, dtype);
    sameAsTfjs(4.5, [], dtype);
  }
  const t = kiln.scalar(3.7, 'int32'), s = tf.scalar(3.7, 'int32');
  assert.equal(t.dtype, s.dtype);
  assert.equal(t.arraySync(), s.arraySync());
  assert.equal(kiln.scalar(true).dtype, tf.scalar(true).dtype);
  const m = kiln.tensor2d([[1.9, 2], [3, 4]], [2, 2], 'int32'), n = tf.tensor2d([[1.9, 2], [3, 4]], [2, 2], 'int32');
  assert.deepEqual(m.arraySync(), n.arraySync());
  assert.equal(m.dtype, 'int32');
});

test('where Kiln departs from TF.js: Uint8Array is uint8, bool holds only 0 and 1', () => {
  // TF.js has no uint8 and infers int32 for a Uint8Array; Kiln keeps its type.
  assert.equal(tf.tensor(new Uint8Array([1, 2])).dtype, 'int32');
  assert.equal(kiln.tensor(new Uint8Array([1, 2])).dtype, 'uint8');
  assert.equal(kiln.tensor(new Uint8ClampedArray([1, 2])).dtype, 'uint8');
  // TF.js keeps a Uint8Array given as bool as it is (2 stays 2); Kiln makes it 0/1 as from numbers.
  assert.deepEqual(Array.from(tf.tensor(new Uint8Array([2, 0]), [2], 'bool').dataSync()), [2, 0]);
  assert.deepEqual(Array.from(kiln.tensor(new Uint8Array([2, 0]), [2], 'bool').dataSync()), [1, 0]);
});

test('the dtype follows a typed array, and a typed array of the dtype is kept, not copied', () => {
  const arrays = {
    float32: new Float32Array(2), int32: new Int32Array(2), int64: new BigInt64Array(2), uint8: new Uint8Array(2),
    int8: new Int8Array(2), float64: new Float64Array(2), int16: new Int16Array(2), uint16: new Uint16Array(2),
    uint32: new Uint32Array(2), uint64: new BigUint64Array(2),
  };
  for (const [dtype, values] of Object.entries(arrays)) {
    const t = kiln.tensor(values);
    assert.equal(t.dtype, dtype);
    assert.equal(t.dataSync(), values);
  }
  assert.equal(kiln.tensor([1n, 2n]).dtype, 'int64');
  assert.equal(kiln.tensor([[true], [false]]).dtype, 'bool');
  assert.equal(kiln.tensor([new Int32Array([1]), new Int32Array([2])]).dtype, 'int32');
});

test('integer dtypes truncate and wrap numbers as their typed arrays do; int64 takes numbers and bigints', () => {
  const values = [1.9, -1.9, 300, -129, 70000, -1, 2 ** 40, NaN, Infinity];
  for (const [dtype, ArrayType] of [['int8', Int8Array], ['uint8', Uint8Array], ['int16', Int16Array], ['uint16', Uint16Array],
    ['int32', Int32Array], ['uint32', Uint32Array]]) {
    const t = kiln.tensor(values, undefined, dtype);
    assert.ok(t.dataSync() instanceof ArrayType);
    assert.deepEqual(t.dataSync(), new ArrayType(values), dtype);
  }
  const i64 = kiln.tensor([1.9, -1.9, 2 ** 53, -(2 ** 40), 5n, -(2n ** 63n), 2n ** 63n, NaN, true], undefined, 'int64');
  assert.ok(i64.dataSync() instanceof BigInt64Array);
  assert.deepEqual(i64.arraySync(), [1n, -1n, 2n ** 53n, -(2n ** 40n), 5n, -(2n ** 63n), -(2n ** 63n), 0n, 1n]);
  const u64 = kiln.tensor([-1, 2n ** 64n + 3n, 7], [3], 'uint64');
  assert.deepEqual(u64.arraySync(), [2n ** 64n - 1n, 3n, 7n]);
  // Out of int64: to numbers (as TF.js's float32 takes them), and int64 -> int32 wraps.
  assert.deepEqual(Array.from(kiln.tensor(new BigInt64Array([3n, -(2n ** 40n)]), [2], 'float64').dataSync()), [3, -(2 ** 40)]);
  assert.deepEqual(Array.from(kiln.tensor(new BigInt64Array([2n ** 32n + 5n]), [1], 'int32').dataSync()), [5]);
  assert.deepEqual(Array.from(kiln.tensor([0n, 5n], [2], 'bool').dataSync()), [0, 1]);
  assert.deepEqual(kiln.scalar(7, 'int64').arraySync(), 7n);
  assert.equal(kiln.tensor([2 ** -30], [1], 'float64').dataSync()[0], 2 ** -30);
});

test('float16 holds IEEE half bits (as ONNX Runtime Web): numbers round to the nearest half, Uint16Array is taken as bits', () => {
  const cases = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00],
    [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2049, 0x6800], [2051, 0x6802], [1e-8, 0x0000],
  ];
  const t = kiln.tensor(cases.map(([v]) => v), undefined, 'float16');
  assert.equal(t.dtype, 'float16');
  assert.ok(t.dataSync() instanceof Uint16Array);
  assert.deepEqual(Array.from(t.dataSync()), cases.map(([, bits]) => bits));
  assert.equal(kiln.tensor([NaN], [1], 'float16').dataSync()[0] & 0x7e00, 0x7e00);
  const bits = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff]);
  const h = kiln.tensor(bits, [2, 2], 'float16');
  assert.equal(h.dataSync(), bits);
  assert.deepEqual(h.arraySync(), [[0x3c00, 0xc000], [0x0001, 0x7bff]]);
  assert.equal(kiln.tensor(bits).dtype, 'uint16');
});

test('unknown dtypes, bad values and mismatched arrays give clear errors', () => {
  for (const dtype of ['string', 'complex64', 'float', 'bfloat16'])
    assert.throws(() => kiln.tensor([1], [1], dtype), new RegExp(`tensor: unknown dtype '${dtype}' \\(supported: ${SUPPORTED}\\)`));
  assert.throws(() => kiln.scalar(1, 'int'), /unknown dtype 'int'/);
  assert.throws(() => kiln.tensor(['a']), /values must be numbers, booleans, bigints, \(nested\) arrays or typed arrays, got string/);
  assert.throws(() => kiln.scalar([1]), /scalar: expected a number, boolean or bigint, got Array/);
  assert.throws(() => kiln.tensor([1, 2, 3], [2, 2], 'int64'), /shape \[2,2\] needs 4 values but 3/);
  assert.throws(() => kiln.tensor([[1], [2, 3]], undefined, 'int32'), /ragged/);
  assert.throws(() => new kiln.Tensor(new Int32Array(2), [2], 'float32'), /float32 values are held in a Float32Array, got Int32Array/);
  assert.throws(() => new kiln.Tensor(new Uint16Array(2), [2], 'int64'), /int64 values are held in a BigInt64Array, got Uint16Array/);
});

test('a tensor reads its values through its storage (on the CPU: at once), and dispose frees them', async () => {
  const t = kiln.tensor([1, 2, 3], [3], 'int32');
  assert.equal(t.storage.location, 'cpu');
  assert.equal(await t.data(), t.dataSync());
  assert.equal(await t.storage.read(), t.storage.readSync());
  assert.deepEqual(await t.array(), [1, 2, 3]);
  assert.equal(t.toString(), 'Tensor int32 [3]');
  t.dispose();
  assert.ok(t.isDisposed && t.storage.disposed);
  assert.throws(() => t.dataSync(), /disposed/);
  await assert.rejects(t.data(), /disposed/);
});

test('Layers models take any numeric dtype as float32, as TF.js casts: int32 class labels, integer and half inputs', async () => {
  await ready();
  const make = () => {
    const m = kiln.sequential({ seed: 5, layers: [kiln.layers.dense({ units: 3, activation: 'softmax', inputShape: [4] })] });
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    return m;
  };
  const xs = Float32Array.from(randomFloats(24, 7), (v) => Math.round(4 * v));  // integers: exact in every dtype
  const labels = [0, 2, 1, 1, 0, 2];
  const a = make(), b = make();
  const want = await a.trainOnBatch(kiln.tensor(xs, [6, 4]), kiln.tensor(labels, [6]));
  const got = await b.trainOnBatch(kiln.tensor(xs, [6, 4], 'int32'), kiln.tensor(labels, [6], 'int32'));
  assert.deepEqual(got, want);
  const h = await b.fit(kiln.tensor(xs, [6, 4], 'int8'), kiln.tensor(labels, [6], 'int64'), { epochs: 2, batchSize: 3 });
  assert.equal(h.history.loss.length, 2);
  const ref = a.predict(kiln.tensor(xs, [6, 4])).dataSync();
  for (const dtype of ['int64', 'float16', 'float64', 'int16'])
    assert.deepEqual(a.predict(kiln.tensor(xs, [6, 4], dtype)).dataSync(), ref, dtype);
  const [loss] = a.evaluate(kiln.tensor(xs, [6, 4], 'float64'), kiln.tensor(labels, [6], 'uint8'));
  assert.equal(loss.dtype, 'float32');
  assert.equal(loss.dataSync()[0], a.evaluate(kiln.tensor(xs, [6, 4]), kiln.tensor(labels, [6]))[0].dataSync()[0]);
  a.setWeights(a.getWeights().map((w) => kiln.tensor(w.dataSync(), w.shape, 'float64')));
  assert.deepEqual(a.predict(kiln.tensor(xs, [6, 4])).dataSync(), ref);
});
