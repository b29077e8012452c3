// Every activation, loss and metric through the JS API, against arithmetic
// done here: predict() against a forward pass computed from getWeights(),
// evaluate()'s loss and metrics and fit()'s history against the TF.js formulas
// applied to predict()'s output, and fit() reducing each loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready, randomFloats } from './helpers.mjs';

await ready();

const EPS = 1e-7;
const sigmoid = (z) => 1 / (1 + Math.exp(-z));
const softplus = (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
// erf to ~1e-9: Taylor series below 2.5, continued fraction of erfc above.
function erf(x) {
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t, term = t;
    for (let n = 1; n < 60; n++) {
      term *= -t * t / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * sum * 2 / Math.sqrt(Math.PI);
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}
const ELEMENTWISE = {
  linear: (z) => z,
  relu: (z) => Math.max(z, 0),
  sigmoid,
  tanh: Math.tanh,
  relu6: (z) => Math.min(Math.max(z, 0), 6),
  elu: (z) => (z > 0 ? z : Math.expm1(z)),
  selu: (z) => 1.0507009873554805 * (z > 0 ? z : 1.6732632423543772 * Math.expm1(z)),
  gelu: (z) => 0.5 * z * (1 + erf(z / Math.SQRT2)),
  swish: (z) => z * sigmoid(z),
  mish: (z) => z * Math.tanh(softplus(z)),
  hardSigmoid: (z) => Math.min(Math.max(0.2 * z + 0.5, 0), 1),
  softplus,
  softsign: (z) => z / (1 + Math.abs(z)),
  exponential: Math.exp,
  leakyRelu: (z) => (z > 0 ? z : 0.2 * z),
};

function activateRow(name, row) {
  if (name === 'softmax' || name === 'logSoftmax') {
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
    return row.map((v) => (name === 'softmax' ? Math.exp(v - lse) : v - lse));
  }
  return row.map(ELEMENTWISE[name]);
}

// Forward pass in float64 from the model's own weights (TF.js layout).
function forward(model, acts, x, n) {
  const w = model.getWeights().map((t) => ({ shape: t.shape, data: t.dataSync() }));
  let h = [];
  for (let r = 0; r < n; r++) h.push(Array.from(x.slice(r * w[0].shape[0], (r + 1) * w[0].shape[0])));
  acts.forEach((act, l) => {
    const k = w[2 * l], b = w[2 * l + 1];
    const [fanIn, units] = k.shape;
    h = h.map((row) => {
      const z = [];
      for (let u = 0; u < units; u++) {
        let s = b.data[u];
        for (let i = 0; i < fanIn; i++) s += row[i] * k.data[i * units + u];
        z.push(s);
      }
      return activateRow(act, z);
    });
  });
  return h;
}

const l2 = (v) => Math.sqrt(Math.max(v.reduce((s, a) => s + a * a, 0), EPS));
const clip = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
const meanOver = (p, t, f) => p.reduce((s, v, i) => s + f(v, t[i]), 0) / p.length;
// Per-row TF.js loss formulas.
const LOSS = {
  meanSquaredError: (p, t) => meanOver(p, t, (a, b) => (a - b) ** 2),
  meanAbsoluteError: (p, t) => meanOver(p, t, (a, b) => Math.abs(a - b)),
  huberLoss: (p, t) => meanOver(p, t, (a, b) => (Math.abs(a - b) <= 1 ? 0.5 * (a - b) ** 2 : Math.abs(a - b) - 0.5)),
  hinge: (p, t) => meanOver(p, t, (a, b) => Math.max(0, 1 - a * b)),
  binaryCrossentropy: (p, t) =>
    meanOver(p, t, (a, b) => -(b * Math.log(clip(a, EPS, 1 - EPS)) + (1 - b) * Math.log(1 - clip(a, EPS, 1 - EPS)))),
  kullbackLeiblerDivergence: (p, t) =>
    p.reduce((s, a, i) => s + t[i] * Math.log(clip(t[i], EPS, 1) / clip(a, EPS, 1)), 0),
  cosineProximity: (p, t) => -p.reduce((s, a, i) => s + a * t[i], 0) / (l2(p) * l2(t)),
  categoricalCrossentropy: (p, t) => -p.reduce((s, a, i) => s + t[i] * Math.log(clip(a, EPS, 1 - EPS)), 0),
  squaredHinge: (p, t) => meanOver(p, t, (a, b) => Math.max(0, 1 - a * b) ** 2),
  categoricalHinge: (p, t) => {
    const pos = p.reduce((s, a, i) => s + t[i] * a, 0);
    const neg = Math.max(...p.map((a, i) => (1 - t[i]) * a));
    return Math.max(0, 1 + neg - pos);
  },
  logcosh: (p, t) => meanOver(p, t, (a, b) => Math.log(Math.cosh(a - b))),
  meanSquaredLogarithmicError: (p, t) =>
    meanOver(p, t, (a, b) => (Math.log(1 + Math.max(a, EPS)) - Math.log(1 + Math.max(b, EPS))) ** 2),
  meanAbsolutePercentageError: (p, t) => 100 * meanOver(p, t, (a, b) => Math.abs((b - a) / Math.max(Math.abs(b), EPS))),
  poisson: (p, t) => meanOver(p, t, (a, b) => a - b * Math.log(a + EPS)),
};

const argmax = (v) => v.indexOf(Math.max(...v));
// TF.js metric formulas over all rows: [predictions, targets] per row -> value.
const METRIC = {
  binaryAccuracy: (rows) => rows.reduce((s, [p, t]) => s + meanOver(p, t, (a, b) => (b === (a > 0.5 ? 1 : 0) ? 1 : 0)), 0) / rows.length,
  categoricalAccuracy: (rows) => rows.filter(([p, t]) => argmax(p) === argmax(t)).length / rows.length,
  sparseCategoricalAccuracy: (rows) => rows.filter(([p, t]) => argmax(p) === t[0]).length / rows.length,
  precision: (rows) => ratio(rows, (p, t) => p > 0.5 && t === 1, (p, t) => p > 0.5 && (t === 1 || t === 0)),
  recall: (rows) => ratio(rows, (p, t) => p > 0.5 && t === 1, (p, t) => t === 1),
};
function ratio(rows, num, den) {
  let a = 0, b = 0;
  for (const [p, t] of rows) p.forEach((v, i) => { a += num(v, t[i]); b += den(v, t[i]); });
  return b > 0 ? a / b : 0;
}
const metricKey = (name) => (name === 'accuracy' || name === 'acc' ? 'acc' : name);
function expectedMetric(name, loss, rows) {
  if (name === 'accuracy' || name === 'acc')
    name = loss === 'binaryCrossentropy' ? 'binaryAccuracy' : loss === 'sparseCategoricalCrossentropy' ? 'sparseCategoricalAccuracy' : 'categoricalAccuracy';
  return METRIC[name](rows);
}
function predictedRows(m, xt, y, n, units, width) {
  const p = m.predict(xt).dataSync();
  const rows = [];
  for (let r = 0; r < n; r++) rows.push([Array.from(p.slice(r * units, (r + 1) * units)), Array.from(y.slice(r * width, (r + 1) * width))]);
  return rows;
}

function targets(loss, n, units, seed) {
  const r = randomFloats(n * units, seed);
  const y = new Float32Array(n * units);
  for (let i = 0; i < n; i++) {
    const row = r.slice(i * units, (i + 1) * units);
    const total = row.reduce((s, v) => s + v + 1, 0);
    const top = argmax(Array.from(row));
    for (let u = 0; u < units; u++) {
      const v = row[u];
      y[i * units + u] =
        loss === 'binaryCrossentropy' ? (v > 0 ? 1 : 0)
        : loss === 'hinge' || loss === 'squaredHinge' ? (v > 0 ? 1 : -1)
        : loss === 'kullbackLeiblerDivergence' || loss === 'categoricalCrossentropy' ? (v + 1) / total
        : loss === 'categoricalHinge' ? (u === top ? 1 : 0)
        : loss === 'meanSquaredLogarithmicError' ? v + 0.8  // a few below 0: clipped to epsilon
        : loss === 'meanAbsolutePercentageError' ? Math.sign(v) * (0.5 + Math.abs(v))
        : loss === 'poisson' ? Math.floor((v + 1) * 2)  // counts 0..3
        : 2 * v;
    }
  }
  return y;
}

test('predict matches a float64 forward pass for every activation', () => {
  const names = [...Object.keys(ELEMENTWISE), 'softmax', 'logSoftmax'];
  assert.equal(names.length, 17);
  const n = 5, x = randomFloats(n * 4, 3);
  for (const act of names) {
    const m = kiln.sequential({ seed: 5, layers: [
      kiln.layers.dense({ units: 6, activation: act, inputShape: [4] }),
      kiln.layers.dense({ units: 3, activation: act }),
    ] });
    const got = m.predict(kiln.tensor(x, [n, 4])).dataSync();
    const want = forward(m, [act, act], x, n).flat();
    want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 2e-5 * Math.max(1, Math.abs(v)), `${act}[${i}]: ${got[i]} vs ${v}`));
  }
  // Layer configs are checked by the core when the model is built; the error names the layer and argument.
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.dense({ units: 2, activation: 'gelu_new', inputShape: [3] })] }).build(),
    /argument 'activation' names an unknown activation 'gelu_new'/);
});

const CASES = [
  ['binaryCrossentropy', 'sigmoid', 'elu'],  // fused from the logits
  ['binaryCrossentropy', 'softmax', 'gelu'],  // probabilities, clipped
  ['meanAbsoluteError', 'linear', 'swish'],
  ['huberLoss', 'linear', 'mish'],
  ['hinge', 'tanh', 'selu'],
  ['kullbackLeiblerDivergence', 'softmax', 'leakyRelu'],
  ['cosineProximity', 'linear', 'softplus'],
  ['categoricalCrossentropy', 'softmax', 'logSoftmax'],
  ['squaredHinge', 'tanh', 'relu'],
  ['categoricalHinge', 'linear', 'tanh'],
  ['logcosh', 'linear', 'elu'],
  ['meanSquaredLogarithmicError', 'softplus', 'sigmoid'],
  ['meanAbsolutePercentageError', 'linear', 'gelu'],
  ['poisson', 'exponential', 'swish'],
];

for (const [loss, out, hidden] of CASES) {
  test(`${loss} after ${out} (hidden ${hidden}): evaluate matches predict, fit lowers it`, async () => {
    const n = 40, units = 3, x = randomFloats(n * 4, 11);
    const y = targets(loss, n, units, 12);
    const m = kiln.sequential({ seed: 9, layers: [
      kiln.layers.dense({ units: 8, activation: hidden, inputShape: [4] }),
      kiln.layers.dense({ units, activation: out }),
    ] });
    const metrics = loss === 'binaryCrossentropy' ? ['accuracy', 'binaryAccuracy', 'precision', 'recall'] : ['acc', 'categoricalAccuracy'];
    m.compile({ optimizer: 'adam', loss, metrics });
    const xt = kiln.tensor(x, [n, 4]), yt = kiln.tensor(y, [n, units]);
    const check = () => {
      const rows = predictedRows(m, xt, y, n, units, units);
      const want = rows.reduce((s, [p, t]) => s + LOSS[loss](p, t), 0) / n;
      const [l, ...got] = m.evaluate(xt, yt).map((s) => s.dataSync()[0]);
      assert.ok(Math.abs(l - want) <= 1e-4 * Math.max(1, Math.abs(want)), `loss ${l} vs ${want}`);
      metrics.forEach((name, i) => assert.ok(Math.abs(got[i] - expectedMetric(name, loss, rows)) <= 1e-5, `${name} ${got[i]}`));
      return want;
    };
    const before = check();
    const h = await m.fit(xt, yt, { epochs: 30, batchSize: 8, shuffle: false });
    assert.deepEqual(Object.keys(h.history).sort(), ['loss', ...metrics.map(metricKey)].sort());
    assert.equal(h.history.loss.length, 30);
    const after = check();
    assert.ok(after < before, `${loss}: ${before} -> ${after}`);
    // The loss's code is stored in the model file: a loaded copy evaluates the same loss.
    const copy = await kiln.loadModel(await m.save({ includeOptimizer: true }));
    const lossOf = (model) => [model.evaluate(xt, yt)].flat()[0].dataSync()[0];
    assert.equal(lossOf(copy), lossOf(m), `${loss} after save/load`);
  });
}

test('fit logs metrics of each batch before its step, val_ metrics after; sparse labels and mismatches', async () => {
  const n = 24, x = randomFloats(n * 4, 21), xt = kiln.tensor(x, [n, 4]);
  const y = targets('binaryCrossentropy', n, 2, 22), yt = kiln.tensor(y, [n, 2]);
  const m = kiln.sequential({ seed: 4, layers: [kiln.layers.dense({ units: 2, activation: 'sigmoid', inputShape: [4] })] });
  const metrics = ['binaryAccuracy', 'precision', 'recall', 'acc'];
  m.compile({ optimizer: kiln.train.sgd(0.5), loss: 'binaryCrossentropy', metrics });
  const before = predictedRows(m, xt, y, n, 2, 2);
  const h = await m.fit(xt, yt, { epochs: 1, batchSize: n, validationData: [xt, yt] });
  const after = predictedRows(m, xt, y, n, 2, 2);
  for (const name of metrics) {
    assert.ok(Math.abs(h.history[metricKey(name)][0] - expectedMetric(name, 'binaryCrossentropy', before)) <= 1e-6, name);
    assert.ok(Math.abs(h.history['val_' + metricKey(name)][0] - expectedMetric(name, 'binaryCrossentropy', after)) <= 1e-6, name);
  }
  const step = await m.trainOnBatch(xt, yt);
  assert.equal(step.length, 1 + metrics.length);

  const labels = new Float32Array(n).map((_, i) => i % 3);
  const s = kiln.sequential({ seed: 6, layers: [kiln.layers.dense({ units: 3, activation: 'softmax', inputShape: [4] })] });
  s.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['sparseCategoricalAccuracy', 'accuracy'] });
  const [, sparseAcc, acc] = s.evaluate(xt, kiln.tensor(labels, [n])).map((t) => t.dataSync()[0]);
  const want = expectedMetric('sparseCategoricalAccuracy', 'sparseCategoricalCrossentropy', predictedRows(s, xt, labels, n, 3, 1));
  assert.ok(Math.abs(sparseAcc - want) <= 1e-6 && Math.abs(acc - want) <= 1e-6, `${sparseAcc} ${acc} vs ${want}`);
  assert.throws(() => s.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['categoricalAccuracy'] }),
    /metric 'categoricalAccuracy' does not fit the loss 'sparseCategoricalCrossentropy'/);
  assert.throws(() => s.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics: ['auc'] }), /unknown metric 'auc'/);
});
