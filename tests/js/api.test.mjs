// The JS API against independent references: weights layout checked by a
// matrix product computed here, training reduces the loss, save/load is
// bit-exact, and bad input gives clear errors without breaking the module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready, randomFloats, oneHotRows, smallModel } from './helpers.mjs';

await ready();

test('backendInfo reports the threaded SIMD variant in Node', () => {
  const info = kiln.backendInfo();
  assert.equal(info.variant, 'wasm-simd128-threads');
  assert.equal(info.simd, true);
  assert.ok(info.threads >= 1);
  assert.match(info.gemmKernel, /wasm_simd128/);
});

test('ready() refuses to switch variants once one is loaded', async () => {
  await assert.rejects(kiln.ready({ variant: 'single' }), /wasm-simd128-threads is already loaded/);
  assert.equal((await kiln.ready({ variant: 'threaded', quiet: true })).variant, 'wasm-simd128-threads');
});

test('tensors: shape, data, nested arrays, dispose and errors', async () => {
  const t = kiln.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(Array.from(await t.data()), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(t.arraySync(), [[1, 2, 3], [4, 5, 6]]);
  const f = kiln.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  assert.deepEqual(Array.from(f.dataSync()), [1, 2, 3, 4]);
  f.dispose();
  assert.throws(() => f.dataSync(), /disposed/);
  assert.throws(() => kiln.tensor([1, 2, 3], [2, 2]), /shape \[2,2\] needs 4 values but 3/);
  assert.throws(() => kiln.tensor([1, 2], [2], 'string'), /unknown dtype 'string' \(supported: float32, int32, int64, bool, /);
  assert.throws(() => kiln.tensor([[1, 2], [3]]), /ragged/);
});

test('dense weights follow TF.js order and layout: y = x @ kernel + bias', () => {
  const model = kiln.sequential({ layers: [kiln.layers.dense({ units: 3, inputShape: [4] })] });
  const kernel = randomFloats(12, 5), bias = randomFloats(3, 6), x = randomFloats(8, 7);
  model.setWeights([kiln.tensor(kernel, [4, 3]), kiln.tensor(bias, [3])]);
  const w = model.getWeights();
  assert.deepEqual(w.map((t) => t.shape), [[4, 3], [3]]);
  assert.deepEqual(Array.from(w[0].dataSync()), Array.from(kernel));
  const y = model.predict(kiln.tensor(x, [2, 4])).dataSync();
  for (let r = 0; r < 2; r++)
    for (let c = 0; c < 3; c++) {
      let want = bias[c];
      for (let k = 0; k < 4; k++) want += x[r * 4 + k] * kernel[k * 3 + c];
      assert.ok(Math.abs(y[r * 3 + c] - want) < 1e-5, `y[${r},${c}] = ${y[r * 3 + c]}, want ${want}`);
    }
  // Per-layer access reaches the same weights.
  assert.deepEqual(Array.from(model.layers[0].getWeights()[1].dataSync()), Array.from(bias));
});

test('countParams and summary', () => {
  const m = smallModel(8, 5, 3);
  assert.equal(m.countParams(), 5 * 8 + 8 + 8 * 3 + 3);
  let text = '';
  m.summary(undefined, undefined, (s) => { text += s; });
  assert.match(text, /Total params: 75/);
  // TF.js's column layout arguments are refused, not ignored.
  assert.throws(() => m.summary(100), /lineLength and positions are not supported/);
  assert.throws(() => m.summary(undefined, [0.5, 0.8, 1]), /lineLength and positions are not supported/);
});

test('fit trains: loss falls, callbacks fire, history has TF.js keys', async () => {
  const n = 96, x = kiln.tensor(randomFloats(n * 5, 11), [n, 5]);
  // A learnable target: class = argmax of the first three features.
  const xs = x.dataSync(), y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < 3; c++) if (xs[i * 5 + c] > xs[i * 5 + best]) best = c;
    y[i * 3 + best] = 1;
  }
  const m = smallModel(16, 5, 3);
  m.compile({ optimizer: kiln.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  let batches = 0, epochs = 0;
  const h = await m.fit(x, kiln.tensor(y, [n, 3]), {
    epochs: 30, batchSize: 32, validationData: [x, kiln.tensor(y, [n, 3])],
    callbacks: { onBatchEnd: (b, logs) => { batches++; assert.ok(Number.isFinite(logs.loss)); }, onEpochEnd: () => { epochs++; } },
  });
  assert.equal(batches, 30 * 3);
  assert.equal(epochs, 30);
  assert.deepEqual(Object.keys(h.history).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
  assert.ok(h.history.loss[29] < h.history.loss[0] * 0.5, `loss ${h.history.loss[0]} -> ${h.history.loss[29]}`);
  assert.ok(h.history.val_acc[29] > 0.9, `val acc ${h.history.val_acc[29]}`);
  const [loss, acc] = m.evaluate(x, kiln.tensor(y, [n, 3]));
  assert.ok(Math.abs(loss.dataSync()[0] - h.history.val_loss[29]) < 1e-6);
  assert.ok(acc.dataSync()[0] > 0.9);
});

test('trainOnBatch with sgd, momentum and sparse labels', async () => {
  for (const optimizer of ['sgd', kiln.train.sgd(0.1), kiln.train.momentum(0.05, 0.9, true), 'adam']) {
    const m = smallModel(8, 5, 3);
    m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const x = kiln.tensor(randomFloats(40, 3), [8, 5]);
    const labels = kiln.tensor([0, 1, 2, 0, 1, 2, 0, 1], [8]);
    const [first] = await m.trainOnBatch(x, labels);
    let last;
    for (let i = 0; i < 200; i++) [last] = await m.trainOnBatch(x, labels);
    assert.ok(last < first, `${JSON.stringify(optimizer)}: loss ${first} -> ${last}`);
  }
});

test('meanSquaredError regression learns a linear map', async () => {
  const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [3], activation: 'linear' })] });
  m.compile({ optimizer: kiln.train.sgd(0.1), loss: 'meanSquaredError' });
  const xs = randomFloats(64 * 3, 9), ys = new Float32Array(64 * 2);
  for (let i = 0; i < 64; i++) {
    ys[2 * i] = 2 * xs[3 * i] - xs[3 * i + 1] + 0.5;
    ys[2 * i + 1] = xs[3 * i + 2];
  }
  const h = await m.fit(kiln.tensor(xs, [64, 3]), kiln.tensor(ys, [64, 2]), { epochs: 200, batchSize: 16 });
  assert.equal(typeof h.history.loss[0], 'number');
  assert.ok(h.history.loss.at(-1) < 1e-4, `final mse ${h.history.loss.at(-1)}`);
  const k = m.getWeights()[0].dataSync();
  assert.ok(Math.abs(k[0] - 2) < 0.01 && Math.abs(k[2] + 1) < 0.01, `kernel ${Array.from(k)}`);
});

test('save/load round trip gives bit-identical predictions and keeps training state', async () => {
  const m = smallModel(8, 5, 3, 'tanh');
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = kiln.tensor(randomFloats(50, 4), [10, 5]), y = kiln.tensor(oneHotRows(10, 3), [10, 3]);
  for (let i = 0; i < 5; i++) await m.trainOnBatch(x, y);
  const bytes = await m.save({ includeOptimizer: true });
  assert.ok(bytes instanceof Uint8Array);
  const m2 = await kiln.loadModel(bytes);
  assert.deepEqual(Array.from(m2.predict(x).dataSync()), Array.from(m.predict(x).dataSync()));
  // The optimizer state came along: one more step on each stays identical.
  const a = await m.trainOnBatch(x, y), b = await m2.trainOnBatch(x, y);
  assert.deepEqual(a, b);
  assert.deepEqual(Array.from(m2.predict(x).dataSync()), Array.from(m.predict(x).dataSync()));
  // Without optimizer state the file is smaller and still predicts the same.
  const small = await m.save();
  assert.ok(small.length < bytes.length);
  assert.deepEqual(Array.from((await kiln.loadModel(small)).predict(x).dataSync()), Array.from(m.predict(x).dataSync()));
});

test('model file size is at most 4 x params + 1% + 4 KiB', async () => {
  for (const depth of [1, 2, 4, 8]) for (const width of [64, 128, 256]) {
    const layers = [];
    for (let d = 0; d < depth; d++) layers.push(kiln.layers.dense({ units: width, activation: 'relu', ...(d === 0 ? { inputShape: [784] } : {}) }));
    layers.push(kiln.layers.dense({ units: 10, activation: 'softmax' }));
    const m = kiln.sequential({ layers });
    const params = m.countParams();
    const size = (await m.save()).length;
    assert.ok(size <= 4 * params * 1.01 + 4096, `depth ${depth} width ${width}: ${size} bytes for ${params} params`);
    m.dispose();
  }
});

test('truncated and random model files are rejected with a clear Error; the module keeps working', async () => {
  const m = smallModel();
  const x = kiln.tensor(randomFloats(10, 8), [2, 5]);
  const before = Array.from(m.predict(x).dataSync());
  const bytes = await m.save();
  for (const cut of [0, 10, 63, 64, 100, bytes.length - 1]) {
    await assert.rejects(kiln.loadModel(bytes.slice(0, cut)), /loadModel: invalid Kiln model file: /);
  }
  const noise = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
  await assert.rejects(kiln.loadModel(noise), /wrong magic|too short/);
  const flipped = bytes.slice();
  flipped[bytes.length - 5] ^= 0x10;
  await assert.rejects(kiln.loadModel(flipped), /checksum mismatch/);
  await assert.rejects(kiln.loadModel('not bytes'), /Uint8Array or ArrayBuffer/);
  // Still working: same predictions, and a fresh load of the good file.
  assert.deepEqual(Array.from(m.predict(x).dataSync()), before);
  assert.deepEqual(Array.from((await kiln.loadModel(bytes)).predict(x).dataSync()), before);
});

test('wrong shapes, NaN and misuse give errors naming the problem and change nothing', async () => {
  const m = smallModel(4, 5, 3);
  assert.throws(() => m.predict(kiln.tensor(randomFloats(8), [2, 4])), /x must have shape \[2,5\], got \[2,4\]/);
  await assert.rejects(m.fit(kiln.tensor(randomFloats(10), [2, 5]), kiln.tensor([1, 0, 0, 0, 1, 0], [2, 3])), /compile the model first/);
  m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  await assert.rejects(m.trainOnBatch(kiln.tensor(randomFloats(10), [2, 5]), kiln.tensor([1, 0, 0, 1], [2, 2])), /y must have shape \[2,3\], got \[2,2\]/);
  const weights = m.getWeights().map((t) => Array.from(t.dataSync()));
  const bad = randomFloats(10);
  bad[7] = NaN;
  await assert.rejects(m.trainOnBatch(kiln.tensor(bad, [2, 5]), kiln.tensor([1, 0, 0, 0, 1, 0], [2, 3])), /input x contains NaN at sample 1, element 2/);
  assert.deepEqual(m.getWeights().map((t) => Array.from(t.dataSync())), weights);
  assert.throws(() => m.setWeights([kiln.tensor(randomFloats(20), [5, 4])]), /expected 4 weight tensors, got 1/);
  assert.throws(() => m.setWeights([kiln.tensor(randomFloats(20), [4, 5]), ...m.getWeights().slice(1)]), /weight 0 \(dense_Dense\d+\/kernel\) must have shape \[5,4\], got \[4,5\]/);
  assert.deepEqual(m.getWeights().map((t) => Array.from(t.dataSync())), weights);
  assert.throws(() => m.compile({ optimizer: 'ftrl', loss: 'categoricalCrossentropy' }), /unknown optimizer 'ftrl'/);
  assert.throws(() => m.compile({ optimizer: 'sgd', loss: 'focalCrossentropy' }), /unknown loss 'focalCrossentropy'/);
  // Layer arguments are checked by the core when the model is built.
  const build = (layer) => kiln.sequential({ layers: [layer] }).build();
  assert.throws(() => build(kiln.layers.dense({ units: 0, inputShape: [3] })), /Dense: argument 'units' must be in \[1, 16777216\], got 0/);
  assert.throws(() => build(kiln.layers.dense({ units: 3, activation: 'swishy', inputShape: [3] })), /unknown activation 'swishy'/);
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.dense({ units: 3 })] }), /first layer needs an inputShape/);
  assert.throws(() => kiln.train.sgd(-1) && m.compile({ optimizer: kiln.train.sgd(-1), loss: 'meanSquaredError' }), /learning rate must be a positive number/);
});

test('warmup compiles plans so predict works at batch 1 and large batches', () => {
  const m = smallModel(32, 5, 3);
  m.warmup(64);
  const x = kiln.tensor(randomFloats(5 * 1000, 12), [1000, 5]);
  const all = m.predict(x).dataSync();
  const one = m.predict(kiln.tensor(x.dataSync().slice(5 * 999), [1, 5])).dataSync();
  // Batch 1 takes the unpacked GEMM path: same math, another summation order.
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(one[c] - all[3 * 999 + c]) < 1e-6, `class ${c}: ${one[c]} vs ${all[3 * 999 + c]}`);
  for (let r = 0; r < 1000; r++) {
    const s = all[3 * r] + all[3 * r + 1] + all[3 * r + 2];
    assert.ok(Math.abs(s - 1) < 1e-5);
  }
});

test('a model too big for wasm memory gives a clear out-of-memory error and the module keeps working', async () => {
  const keep = smallModel();
  const x = kiln.tensor(randomFloats(10, 21), [2, 5]);
  const before = Array.from(keep.predict(x).dataSync());
  // 40000 x 40000 = 1.6e9 parameters: within Kiln's limit, beyond wasm's 4 GiB.
  const huge = kiln.sequential({ layers: [kiln.layers.dense({ units: 40000, inputShape: [40000] })] });
  assert.throws(() => huge.countParams(), /out of memory allocating 1600\d+ parameters/);
  assert.deepEqual(Array.from(keep.predict(x).dataSync()), before);
  const fresh = smallModel();
  assert.equal(fresh.countParams(), 75);
});
