// predict/evaluate honour TF.js's {batchSize} (the rows run at once change,
// the results do not beyond float rounding: metrics are summed as ratios over
// the whole set) and fit its {verbose}; bad or unknown options are errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready, randomFloats, oneHotRows, smallModel, relError } from './helpers.mjs';

await ready();

test('predict and evaluate give the same results at any batchSize', () => {
  const model = smallModel();
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy', 'precision'] });
  const x = kiln.tensor(randomFloats(50 * 5, 9), [50, 5]);
  const y = kiln.tensor(oneHotRows(50, 3, 4), [50, 3]);
  const whole = model.predict(x).dataSync();
  for (const batchSize of [1, 7, 50, 1000]) {
    // Equal up to float rounding: small batches take the GEMM path without packing.
    assert.ok(relError(model.predict(x, { batchSize }).dataSync(), whole) < 1e-6, `predict batchSize ${batchSize}`);
    const got = model.evaluate(x, y, { batchSize }).map((t) => t.dataSync()[0]);
    const want = model.evaluate(x, y).map((t) => t.dataSync()[0]);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])), `evaluate[${i}] at ${batchSize}`));
  }
  assert.throws(() => model.predict(x, { batchSize: 0 }), /batchSize must be a positive integer/);
  assert.throws(() => model.predict(x, { batchsize: 8 }), /unknown option 'batchsize'/);
  assert.throws(() => model.evaluate(x, y, { batchSize: 2.5 }), /batchSize must be a positive integer/);
  model.dispose();
});

test('fit({verbose: 1}) logs one line per epoch; 0 is silent; other levels are refused', async () => {
  const model = smallModel();
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = kiln.tensor(randomFloats(20 * 5, 2), [20, 5]);
  const y = kiln.tensor(oneHotRows(20, 3, 6), [20, 3]);
  const lines = [];
  const log = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  try {
    await model.fit(x, y, { epochs: 2, batchSize: 10, verbose: 1 });
    await model.fit(x, y, { epochs: 2, batchSize: 10, verbose: 0 });
  } finally {
    console.log = log;
  }
  assert.equal(lines.length, 2);
  assert.match(lines[1], /^Epoch 2 \/ 2: loss \d+\.\d{4}, acc \d+\.\d{4}$/);
  await assert.rejects(model.fit(x, y, { verbose: 2 }), /verbose must be 0 or 1/);
  model.dispose();
});
