// kiln.data (TF.js's tf.data), model.fitDataset and kiln.browser.fromPixels /
// toPixels against TensorFlow.js 4.22 on the same inputs: the elements each
// pipeline gives, fitDataset against fit on the same batches, the pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

// An element as plain data: tensors as {shape, dtype, values}.
function plain(e) {
  if (e && typeof e.dataSync === 'function') return { shape: e.shape, dtype: e.dtype, values: Array.from(e.dataSync(), Number) };
  if (Array.isArray(e)) return e.map(plain);
  if (e && typeof e === 'object') return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, plain(v)]));
  return e;
}
const all = async (ds) => (await ds.toArray()).map(plain);

test('kiln.data pipelines give what TF.js\'s give', async () => {
  const pipelines = [
    ['array of numbers, batch', (lib) => lib.data.array([1, 2, 3, 4, 5]).batch(2)],
    ['batch dropping the small last', (lib) => lib.data.array([1, 2, 3, 4, 5]).batch(2, false)],
    ['objects of tensors, map, batch', (lib) => lib.data.array([0, 1, 2, 3]).map((i) => ({ xs: lib.tensor([i, i * 2]), ys: lib.scalar(i % 2) })).batch(3)],
    ['filter, take, skip, repeat', (lib) => lib.data.array([1, 2, 3, 4, 5, 6]).filter((v) => v % 2 === 0).repeat(2).skip(1).take(4)],
    ['zip array and object', (lib) => lib.data.zip([lib.data.array([1, 2, 3]), lib.data.array(['a', 'b'])])],
    ['zip object', (lib) => lib.data.zip({ a: lib.data.array([1, 2]), b: lib.data.array([[1, 2], [3, 4]]) }).batch(2)],
    ['generator', (lib) => lib.data.generator(function* () { for (let i = 0; i < 4; i++) yield { i, t: lib.tensor([i, -i]) }; }).batch(2)],
    ['concatenate, prefetch', (lib) => lib.data.array([1, 2]).concatenate(lib.data.array([3])).prefetch(2)],
    ['tensors in an array', (lib) => lib.data.array([lib.tensor([1, 2]), lib.tensor([3, 4]), lib.tensor([5, 6])]).batch(2)],
  ];
  for (const [name, make] of pipelines) {
    const k = make(kiln), t = make(tf);
    assert.equal(k.size, t.size, `${name}: size`);
    assert.deepEqual(await all(k), await all(t), name);
    assert.deepEqual(await all(k), await all(t), `${name}: a second pass`);
  }
});

test('shuffle: every element once per pass, a seed repeats the order', async () => {
  const ds = kiln.data.array(Array.from({ length: 50 }, (_, i) => i)).shuffle(10, 7);
  const a = await ds.toArray(), b = await ds.toArray();
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => i), 'shuffled');
  assert.notDeepEqual(a, b, 'reshuffled each pass');
  const fixed = kiln.data.array(Array.from({ length: 50 }, (_, i) => i)).shuffle(10, 'seed', false);
  assert.deepEqual(await fixed.toArray(), await fixed.toArray());
  // A window of 10: no element moves more than 10 places earlier.
  a.forEach((v, i) => assert.ok(v <= i + 10, `element ${v} came out at ${i}`));
});

test('kiln.data.csv reads a file as TF.js does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-csv-'));
  const file = join(dir, 'iris.csv');
  writeFileSync(file, 'sepal,petal,"name, quoted",label\n5.1,1.4,"a, b",0\n4.9,,c,1\n6.2,4.3,d,2\n');
  const config = { columnConfigs: { label: { isLabel: true }, petal: { default: -1 } } };
  const k = await kiln.data.csv(file, config).toArray();
  const t = await tf.data.csv(`file://${file}`, config).toArray();
  assert.deepEqual(k, t);
  await assert.rejects(kiln.data.csv(file, { columnConfigs: { nope: {} } }).toArray(), /columnConfigs names 'nope', which is not a column/);
  await assert.rejects(kiln.data.csv(file, { columnConfigs: { petal: { required: true } } }).toArray(), /line 3: the required column 'petal' is empty/);
});

test('fitDataset trains as fit does on the same batches, with validation and callbacks', async () => {
  const make = () => {
    const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 4, inputShape: [3], activation: 'tanh' }), kiln.layers.dense({ units: 1 })], seed: 3 });
    m.compile({ optimizer: kiln.train.sgd(0.1), loss: 'meanSquaredError' });
    return m;
  };
  const xs = Array.from({ length: 12 }, (_, i) => [Math.sin(i), Math.cos(i), i / 12]);
  const ys = xs.map(([a, b, c]) => [a - b + c]);
  const viaFit = make(), viaDataset = make();
  const h1 = await viaFit.fit(kiln.tensor(xs), kiln.tensor(ys), { epochs: 3, batchSize: 4, shuffle: false, validationData: [kiln.tensor(xs), kiln.tensor(ys)] });
  const epochsSeen = [];
  const ds = kiln.data.zip({ xs: kiln.data.array(xs.map((r) => kiln.tensor(r))), ys: kiln.data.array(ys.map((r) => kiln.tensor(r))) }).batch(4);
  const h2 = await viaDataset.fitDataset(ds, { epochs: 3, validationData: ds, callbacks: { onEpochEnd: (e) => epochsSeen.push(e) } });
  assert.deepEqual(epochsSeen, [0, 1, 2]);
  for (const key of ['loss', 'val_loss'])
    h1.history[key].forEach((v, i) => assert.ok(Math.abs(v - h2.history[key][i]) < 1e-6, `${key} epoch ${i}: fit ${v}, fitDataset ${h2.history[key][i]}`));
  const w1 = viaFit.getWeights(), w2 = viaDataset.getWeights();
  w1.forEach((w, i) => assert.deepEqual(Array.from(w2[i].dataSync()), Array.from(w.dataSync())));
  // batchesPerEpoch over an endless dataset; bad arguments refused, the model left as it was.
  const h3 = await viaDataset.fitDataset(ds.repeat(), { epochs: 2, batchesPerEpoch: 5 });
  assert.equal(h3.history.loss.length, 2);
  const before = viaDataset.getWeights().map((w) => Array.from(w.dataSync()));
  await assert.rejects(viaDataset.fitDataset(ds.repeat(), { epochs: 1 }), /the dataset is endless; give batchesPerEpoch/);
  await assert.rejects(viaDataset.fitDataset(ds, { classWeight: { 0: 1 } }), /classWeight/);
  const bad = kiln.data.array([{ xs: kiln.tensor([[1, 2]]), ys: kiln.tensor([[1]]) }]);
  await assert.rejects(viaDataset.fitDataset(ds.concatenate(bad), { epochs: 1 }), /fitDataset/);
  assert.deepEqual(viaDataset.getWeights().map((w) => Array.from(w.dataSync())), before, 'a failed fitDataset leaves the weights');
});

test('kiln.browser.fromPixels and toPixels match TF.js', async () => {
  const width = 3, height = 2;
  const data = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i * 37) % 256);
  for (const channels of [1, 3, 4])
    assert.deepEqual(plain(kiln.browser.fromPixels({ data, width, height }, channels)), plain(tf.browser.fromPixels({ data, width, height }, channels)), `fromPixels ${channels}`);
  const float = [[0, 0.25, 1], [0.5, 0.75, 0.1]];
  for (const [name, make] of [
    ['gray float', (lib) => lib.tensor(float)],
    ['rgb float', (lib) => lib.tensor(float.map((r) => r.map((v) => [v, 1 - v, v / 2])))],
    ['rgba int', (lib) => lib.tensor(float.map((r) => r.map((v) => [v * 255, 10, 200, 128].map(Math.round))), undefined, 'int32')],
    ['one channel int', (lib) => lib.tensor(float.map((r) => r.map((v) => [Math.round(v * 100)])), undefined, 'int32')],
  ])
    assert.deepEqual(Array.from(await kiln.browser.toPixels(make(kiln))), Array.from(await tf.browser.toPixels(make(tf))), `toPixels ${name}`);
  await assert.rejects(kiln.browser.toPixels(kiln.tensor([[2]])), /float32 values must be in \[0, 1\], found 2/);
  assert.throws(() => kiln.browser.fromPixels({ data: new Uint8Array(5), width: 2, height: 2 }), /2x2 RGBA pixels need 16 bytes, got 5/);
});
