// kiln/worker (js/src/worker.ts, worker_main.ts) in Node's worker_threads: the
// engine runs in the worker and the API answers through proxies. Checked
// against the same calls made directly in this thread (the same seed gives
// the same bits), plus what only the proxy does: handles, page callbacks the
// worker awaits, assignments, transfers, errors and disposal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as direct from 'kiln';
import { startWorker, transfer } from 'kiln/worker';
import { ready } from './helpers.mjs';

let kiln;
before(async () => {
  await ready();
  kiln = await startWorker({ quiet: true, threads: 2 });
});
after(() => kiln?.terminate());

const X = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
const Y = Float32Array.from({ length: 24 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));

async function trainIn(k) {
  const model = await k.sequential({ seed: 5, layers: [
    await k.layers.dense({ units: 16, activation: 'relu', inputShape: [5], name: 'hidden' }),
    await k.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
  ] });
  await model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = await k.tensor(X, [8, 5]), y = await k.tensor(Y, [8, 3]);
  const h = await model.fit(x, y, { epochs: 20, batchSize: 4, shuffle: false });
  return { h, p: await (await model.predict(x)).data(), model };
}

test('the engine runs in a worker thread and trains and predicts bit for bit as it does here', async () => {
  assert.equal(kiln.backend.variant, 'wasm-simd128-threads');
  assert.equal(kiln.backend.threads, 2);
  const remote = await trainIn(kiln);
  // Direct: the same program with this thread's API (sync calls are fine awaited).
  const local = await trainIn(direct);
  assert.deepEqual(remote.h.history.loss, local.h.history.loss);
  assert.deepEqual(Array.from(remote.p), Array.from(local.p));
  assert.ok(remote.p instanceof Float32Array);
  assert.equal(await remote.model.name, await local.model.name);
  assert.deepEqual(await (await remote.model.getWeights())[0].shape, [5, 16]);
});

test('page callbacks run here, in order, and an async one is awaited before the next epoch', async () => {
  const model = await kiln.sequential({ layers: [await kiln.layers.dense({ units: 3, inputShape: [5] })] });
  await model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const seen = [];
  const h = await model.fit(await kiln.tensor(X, [8, 5]), await kiln.tensor(Y, [8, 3]), {
    epochs: 3,
    callbacks: {
      onEpochBegin: (epoch) => { seen.push(`begin ${epoch}`); },
      onEpochEnd: async (epoch, logs) => {
        await new Promise((r) => setTimeout(r, 20));
        seen.push(`end ${epoch} ${logs.loss.toFixed(6)}`);
      },
    },
  });
  assert.deepEqual(seen, h.history.loss.flatMap((l, e) => [`begin ${e}`, `end ${e} ${l.toFixed(6)}`]));
});

test('an assignment through a handle is applied before later calls: a frozen layer keeps its weights', async () => {
  const hidden = await kiln.layers.dense({ units: 4, activation: 'relu', inputShape: [5] });
  const model = await kiln.sequential({ layers: [hidden, await kiln.layers.dense({ units: 3, activation: 'softmax' })] });
  hidden.trainable = false;
  assert.equal(await hidden.trainable, false);
  await model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  const before = await (await hidden.getWeights())[0].data();
  await model.fit(await kiln.tensor(X, [8, 5]), await kiln.tensor(Y, [8, 3]), { epochs: 2 });
  assert.deepEqual(Array.from(await (await hidden.getWeights())[0].data()), Array.from(before));
});

test('transfer() moves a buffer without a copy; plain arrays are copied and stay usable here', async () => {
  const values = Float32Array.from([1, 2, 3, 4]);
  const t = await kiln.tensor(transfer(values), [2, 2]);
  assert.equal(values.length, 0, 'the transferred array is detached here');
  assert.deepEqual(Array.from(await t.data()), [1, 2, 3, 4]);
  const kept = Float32Array.from([5, 6]);
  const u = await kiln.tensor(kept, [2]);
  assert.deepEqual(Array.from(kept), [5, 6]);
  const ids = await kiln.tensor(BigInt64Array.from([1n, 1n << 40n]), [2], 'int64');
  assert.deepEqual(Array.from(await ids.data()), [1n, 1n << 40n]);
  await t.dispose(), await u.dispose(), await ids.dispose();
});

test('errors come back with the engine\'s message and the worker stays usable; disposed handles say so', async () => {
  const model = await kiln.sequential({ layers: [await kiln.layers.dense({ units: 2, inputShape: [3] })] });
  await assert.rejects(model.predict(await kiln.tensor([1, 2], [1, 2])), /predict: x must have shape \[1,3\], got \[1,2\]/);
  await assert.rejects(kiln.noSuchFunction(), /'noSuchFunction' is not a function/);
  await assert.rejects(kiln.tensor(new Map()), /a Map made on the page cannot go to the worker/);
  // Custom layers are classes of the page: neither the base class nor an instance goes over.
  await assert.rejects(kiln.layers.Layer({}), /'layers.Layer' is a class; custom layers and other classes run on the page/);
  class Mine extends direct.layers.Layer { static get className() { return 'Mine'; } }
  await assert.rejects(kiln.sequential({ layers: [new Mine({ inputShape: [3] })] }), /a Mine made on the page cannot go to the worker/);
  const y = await model.predict(await kiln.tensor([1, 2, 3], [1, 3]));
  assert.deepEqual(await y.shape, [1, 2]);
  // A property path handed on without await would otherwise be taken for a callback.
  await assert.rejects(kiln.tensor([0, 0], y.shape), /a property of a worker object was passed without await/);
  await y.dispose();
  await assert.rejects(y.data(), /this Tensor was disposed/);
  const counts = await kiln.memory();
  assert.equal(typeof counts.numTensors, 'number');
});

test('an ONNX session in the worker takes and returns typed tensors', async () => {
  const bytes = readFileSync(new URL('../../build/zoo/bert.onnx', import.meta.url));
  const session = await kiln.onnx.load(transfer(new Uint8Array(bytes)));
  assert.deepEqual(await session.inputNames, ['input_ids', 'attention_mask']);
  const ids = BigInt64Array.from({ length: 6 }, (_, i) => BigInt(i * 7 + 1));
  const mask = BigInt64Array.from({ length: 6 }, () => 1n);
  const out = await session.run({ input_ids: await kiln.tensor(ids, [1, 6], 'int64'), attention_mask: await kiln.tensor(mask, [1, 6], 'int64') });
  const local = await direct.onnx.load(new Uint8Array(bytes));
  const want = await local.run({ input_ids: direct.tensor(ids, [1, 6], 'int64'), attention_mask: direct.tensor(mask, [1, 6], 'int64') });
  assert.deepEqual(Array.from(await out.pooler_output.data()), Array.from(want.pooler_output.dataSync()));
  await session.dispose();
  local.dispose();
});

test('model.stopTraining = true from the page (a Stop button) ends a fit in the worker after the current batch', async () => {
  const model = await kiln.sequential({ layers: [await kiln.layers.dense({ units: 3, inputShape: [5] })] });
  await model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  let batches = 0;
  const h = await model.fit(await kiln.tensor(X, [8, 5]), await kiln.tensor(Y, [8, 3]), {
    epochs: 50, batchSize: 2,
    callbacks: { onBatchEnd: () => { if (++batches === 6) model.stopTraining = true; } },
  });
  assert.equal(batches, 6);
  assert.equal(h.history.loss.length, 2, 'epoch 1 whole, epoch 2 cut after its second batch');
});
