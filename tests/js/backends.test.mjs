// kiln.setBackend / getBackend / backends and model.placement(), through the
// public API in Node: a CNN trained on the 'reference' backend (plain
// reference kernels, memory of its own, copies at the edges) follows the same
// run on 'cpu', and predicts the same; the placement says where each step ran
// and why the optimizer updates fell back; strict placement refuses a model
// with an op the backend lacks, naming it, and leaves the model usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready, randomFloats, relError, oneHotRows } from './helpers.mjs';

await ready();

function cnn(extra = []) {
  return kiln.sequential({
    seed: 9,
    layers: [
      kiln.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [7, 6, 2] }),
      kiln.layers.batchNormalization(),
      kiln.layers.maxPooling2d({ poolSize: 2 }),
      ...extra,
      kiln.layers.flatten(),
      kiln.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
}

async function trainAndPredict(backend) {
  await kiln.setBackend(backend);
  const model = cnn();
  model.compile({ optimizer: kiln.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const x = kiln.tensor(randomFloats(10 * 7 * 6 * 2, 4), [10, 7, 6, 2]);
  const y = kiln.tensor(oneHotRows(10, 3, 5), [10, 3]);
  const losses = [];
  for (let i = 0; i < 4; i++) losses.push(await model.trainOnBatch(x, y));
  const prediction = model.predict(x).dataSync();
  return { losses, prediction, placement: model.placement() };
}

test('backends() lists cpu and reference; cpu is the default', () => {
  assert.deepEqual(kiln.backends(), ['cpu', 'reference']);
  assert.equal(kiln.getBackend(), 'cpu');
});

test('a CNN trains and predicts on the reference backend as on the cpu', async () => {
  const cpu = await trainAndPredict('cpu');
  const ref = await trainAndPredict('reference');
  await kiln.setBackend('cpu');
  assert.ok(relError(ref.losses, cpu.losses) < 1e-4, `losses ${ref.losses} vs ${cpu.losses}`);
  assert.ok(relError(ref.prediction, cpu.prediction) < 1e-4);
  // On cpu: every step there, no copies.
  for (const plan of cpu.placement) {
    assert.equal(plan.copies, 0);
    assert.ok(plan.steps.every((s) => s.backend === 'cpu'));
  }
  const train = ref.placement.find((p) => p.plan === 'train');
  const predict = ref.placement.find((p) => p.plan === 'predict');
  assert.ok(train && predict, JSON.stringify(ref.placement.map((p) => p.plan)));
  assert.equal(predict.batchSize, 10);
  const conv = train.steps.find((s) => s.op === 'Conv2D');
  assert.equal(conv.backend, 'reference');
  assert.equal(conv.fallback, undefined);
  assert.ok(train.copies > 0 && predict.copies > 0);
  // Optimizer updates touch host-owned parameters: they fall back, with the reason.
  const update = train.steps.find((s) => s.op === 'Update');
  assert.equal(update.backend, 'cpu');
  assert.match(update.fallback, /host-owned/);
  assert.equal(train.fallbacks, train.steps.filter((s) => s.fallback).length);
});

test('strict placement refuses an op the backend lacks, names it, and the model still runs after', async () => {
  const model = cnn([kiln.layers.upSampling2d({ size: [2, 2] })]);
  const x = kiln.tensor(randomFloats(2 * 7 * 6 * 2, 8), [2, 7, 6, 2]);
  await kiln.setBackend('reference', { strict: true });
  try {
    assert.throws(() => model.predict(x), /UpSample.*strict/);
  } finally {
    await kiln.setBackend('cpu');
  }
  const y = model.predict(x).dataSync();
  assert.equal(y.length, 2 * 3);
  // Without strict the same model runs, the up-sampling on the cpu.
  await kiln.setBackend('reference');
  try {
    const z = model.predict(x).dataSync();
    assert.ok(relError(z, y) < 1e-4);
    const up = model.placement().find((p) => p.plan === 'predict').steps.find((s) => s.op === 'UpSample');
    assert.equal(up.backend, 'cpu');
    assert.match(up.fallback, /no reference kernel/);
  } finally {
    await kiln.setBackend('cpu');
  }
});

test('unknown backends and options are refused clearly', async () => {
  await assert.rejects(kiln.setBackend('webgl'), /unknown backend 'webgl' \(known: 'cpu', 'reference'\)/);
  await assert.rejects(kiln.setBackend('cpu', { fast: true }), /unknown option 'fast'/);
  assert.equal(kiln.getBackend(), 'cpu');
  assert.equal(await kiln.setBackend('wasm'), true);  // TF.js's name for what runs here
  assert.equal(kiln.getBackend(), 'cpu');
});
