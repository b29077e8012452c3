// Every optimizer, by string name and by factory (with schedules and
// clipping), trains a small problem; a save/load round trip with the
// optimizer state continues training bit-identically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready, randomFloats, oneHotRows, smallModel } from './helpers.mjs';

await ready();

const x = kiln.tensor(randomFloats(64 * 5, 11), [64, 5]);
const y = kiln.tensor(oneHotRows(64, 3, 12), [64, 3]);
const { schedules } = kiln.train;

/** A copy with every number rounded to float32. */
function float32(v) {
  if (typeof v === 'number') return Math.fround(v);
  if (Array.isArray(v)) return v.map(float32);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, float32(e)]));
  return v;
}

const OPTIMIZERS = {
  sgd: 'sgd', adam: 'adam', adamw: 'adamw', adamax: 'adamax', adagrad: 'adagrad', adadelta: 'adadelta', rmsprop: 'rmsprop',
  'train.sgd': kiln.train.sgd(0.3),
  'train.momentum nesterov': kiln.train.momentum(0.1, 0.9, true),
  'train.adam': kiln.train.adam(0.02),
  'train.adamw': kiln.train.adamw(0.02, 0.01),
  'train.adamax': kiln.train.adamax(0.05, 0.9, 0.999, 1e-7, 0.001),
  'train.adagrad': kiln.train.adagrad(0.1, 0.2),
  'train.adadelta': kiln.train.adadelta(1, 0.9),
  'train.rmsprop centered momentum': kiln.train.rmsprop(0.005, 0.9, 0.5, 1e-7, true),
  'exponentialDecay': kiln.train.adam(schedules.exponentialDecay({ initialLearningRate: 0.02, decaySteps: 5, decayRate: 0.9, staircase: true })),
  'piecewiseConstantDecay': kiln.train.sgd(schedules.piecewiseConstantDecay({ boundaries: [5, 20], values: [0.5, 0.2, 0.1] })),
  'cosineDecay': kiln.train.momentum(schedules.cosineDecay({ initialLearningRate: 0.1, decaySteps: 30, alpha: 0.1 }), 0.9),
  'clipValue': kiln.train.withClipping(kiln.train.adam(0.02), { clipValue: 0.05 }),
  'clipNorm': kiln.train.withClipping(kiln.train.sgd(0.3), { clipNorm: 0.5 }),
  'globalClipnorm': kiln.train.withClipping(kiln.train.rmsprop(0.005), { globalClipnorm: 0.5 }),
};

for (const [name, optimizer] of Object.entries(OPTIMIZERS)) {
  test(`${name}: the loss falls, and save/load keeps training bit-identical`, async () => {
    const m = smallModel(8, 5, 3, 'tanh');
    m.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const [first] = await m.trainOnBatch(x, y);
    let last = first;
    for (let i = 0; i < 30; i++) [last] = await m.trainOnBatch(x, y);
    assert.ok(last < first * 0.99, `${name}: loss ${first} -> ${last}`);

    const m2 = await kiln.loadModel(await m.save({ includeOptimizer: true }));
    assert.deepEqual(float32(m2.optimizer), float32(m.optimizer));  // the file stores float32 hyper-parameters
    for (let i = 0; i < 3; i++) assert.deepEqual(await m2.trainOnBatch(x, y), await m.trainOnBatch(x, y));
    assert.deepEqual(Array.from(m2.predict(x).dataSync()), Array.from(m.predict(x).dataSync()));
    m.dispose();
    m2.dispose();
  });
}

test('string names get TF.js defaults', () => {
  const m = smallModel();
  const expect = { adagrad: [0.01, 'initialAccumulatorValue', 0.1], adadelta: [1, 'rho', 0.95], adamax: [0.002, 'beta2', 0.999],
    rmsprop: [0.001, 'rho', 0.9], adamw: [0.001, 'weightDecay', 0.004] };
  for (const [name, [lr, field, value]] of Object.entries(expect)) {
    m.compile({ optimizer: name, loss: 'categoricalCrossentropy' });
    assert.equal(m.optimizer.kind, name);
    assert.equal(m.optimizer.learningRate, lr);
    assert.equal(m.optimizer[field], value);
  }
  m.dispose();
});

test('bad optimizer settings are rejected with a clear error', () => {
  const m = smallModel();
  const compile = (optimizer) => m.compile({ optimizer, loss: 'categoricalCrossentropy' });
  assert.throws(() => compile('ftrl'), /unknown optimizer 'ftrl'/);
  assert.throws(() => compile(kiln.train.rmsprop(0.01, 1.5)), /rho/);
  assert.throws(() => compile(kiln.train.withClipping(kiln.train.sgd(0.1), { clipNorm: 1, clipValue: 1 })), /at most one/);
  assert.throws(() => compile(kiln.train.sgd(schedules.piecewiseConstantDecay({ boundaries: [5, 2], values: [1, 2, 3] }))), /increasing/);
  assert.throws(() => compile(kiln.train.sgd(schedules.exponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 }))), /decaySteps/);
  m.dispose();
});
