// predict/evaluate honour TF.js's {batchSize}: the rows run at once change,
// the results do not beyond float rounding (metrics are summed as ratios over
// the whole set); bad
// or unknown options are errors, not ignored.
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
