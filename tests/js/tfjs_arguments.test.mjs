// TF.js arguments are honoured or refused, never accepted and ignored
// (issue #14's silent cases): fit's validationSplit, initialEpoch and
// yieldEvery; unknown or unsupported fit arguments; TF.js's automatic layer
// names (checked against TF.js 4.22 itself); and a Node process whose own
// code throws after kiln.ready() reports its error as Node does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { oneHotRows, randomFloats, ready } from './helpers.mjs';

await ready();

const model = (seed = 3) => {
  const m = kiln.sequential({ seed, layers: [
    kiln.layers.dense({ units: 6, activation: 'relu', inputShape: [4] }),
    kiln.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  m.compile({ optimizer: kiln.train.sgd(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
};
const xs = kiln.tensor(randomFloats(20 * 4, 7), [20, 4]);
const ys = kiln.tensor(oneHotRows(20, 3, 8), [20, 3]);
const rows = (t, from, to) => kiln.tensor(t.dataSync().slice(from * t.shape[1], to * t.shape[1]), [to - from, t.shape[1]]);
const weights = (m) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('validationSplit holds out the last samples, trains on the rest and reports val_ logs', async () => {
  const split = model();
  const history = await split.fit(xs, ys, { epochs: 2, batchSize: 4, shuffle: false, validationSplit: 0.25 });
  assert.deepEqual(Object.keys(history.history).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
  // The same training on the first 15 samples alone, and evaluation on the last 5.
  const manual = model();
  await manual.fit(rows(xs, 0, 15), rows(ys, 0, 15), { epochs: 2, batchSize: 4, shuffle: false });
  assert.deepEqual(weights(split), weights(manual));
  const [valLoss, valAcc] = manual.evaluate(rows(xs, 15, 20), rows(ys, 15, 20));
  assert.ok(Math.abs(history.history.val_loss[1] - valLoss.dataSync()[0]) < 1e-6);
  assert.ok(Math.abs(history.history.val_acc[1] - valAcc.dataSync()[0]) < 1e-6);
});

test('initialEpoch resumes the epoch count', async () => {
  const seen = [];
  const history = await model().fit(xs, ys, { epochs: 4, initialEpoch: 2, callbacks: { onEpochEnd: (e) => { seen.push(e); } } });
  assert.deepEqual(history.epoch, [2, 3]);
  assert.deepEqual(seen, [2, 3]);
});

test("yieldEvery: 'epoch' yields between epochs, 'never' does not", async () => {
  for (const [yieldEvery, expected] of [['epoch', true], ['never', false]]) {
    let fired = false, firedBeforeEpoch1 = null;
    setImmediate(() => { fired = true; });  // runs at the first yield to the event loop
    await model().fit(xs, ys, { epochs: 2, yieldEvery, callbacks: { onEpochBegin: (e) => { if (e === 1) firedBeforeEpoch1 = fired; } } });
    assert.equal(firedBeforeEpoch1, expected, `yieldEvery ${yieldEvery}`);
    await new Promise((r) => setImmediate(r));
  }
});

test('unknown and unsupported fit arguments are refused, not ignored', async () => {
  const m = model();
  const before = weights(m);
  const cases = [
    [{ validationSplt: 0.2 }, /fit: unknown argument 'validationSplt' \(supported: .*validationSplit/],
    [{ classWeight: { 0: 1, 1: 5 } }, /fit: classWeight: class weights are not supported/],
    [{ stepsPerEpoch: 3 }, /fit: stepsPerEpoch: applies to datasets/],
    [{ validationSplit: 1.5 }, /validationSplit must be a number between 0 and 1/],
    [{ validationSplit: 0.2, validationData: [xs, ys] }, /give validationData or validationSplit, not both/],
    [{ yieldEvery: 'sometimes' }, /yieldEvery must be milliseconds/],
    [{ initialEpoch: -1 }, /initialEpoch must be a non-negative integer/],
  ];
  for (const [args, pattern] of cases) await assert.rejects(() => m.fit(xs, ys, args), pattern);
  assert.deepEqual(weights(m), before);
  // TF.js's explicit nulls for unused options are fine.
  await m.fit(xs, ys, { epochs: 1, classWeight: null, validationData: undefined });
});

test("automatic layer names are TF.js's ('dense_Dense1'), counted per class", () => {
  const make = {
    conv2d: (lib) => lib.layers.conv2d({ filters: 1, kernelSize: 1 }),
    conv2dTranspose: (lib) => lib.layers.conv2dTranspose({ filters: 1, kernelSize: 1 }),
    batchNormalization: (lib) => lib.layers.batchNormalization(),
    globalAveragePooling2d: (lib) => lib.layers.globalAveragePooling2d({}),
    simpleRNN: (lib) => lib.layers.simpleRNN({ units: 1 }),
    lstm: (lib) => lib.layers.lstm({ units: 1 }),
    dense: (lib) => lib.layers.dense({ units: 1 }),
    maxPooling2d: (lib) => lib.layers.maxPooling2d({}),
    depthwiseConv2d: (lib) => lib.layers.depthwiseConv2d({ kernelSize: 1 }),
    // tf.input's tensor carries its input layer's name; Kiln's names its layer so.
    input: (lib) => (lib === kiln ? lib.input({ shape: [2] }).node.layer : lib.input({ shape: [2] })),
  };
  // The counters are per process and this file made layers before: compare
  // the names with their counts stripped, and that each count goes up by one.
  const base = (name) => name.replace(/\d+$/, '');
  for (const [factory, fn] of Object.entries(make)) {
    const k = fn(kiln).name, t = fn(tf).name;
    assert.equal(base(k), base(t), factory);
    const again = fn(kiln).name;
    assert.equal(Number(again.match(/\d+$/)[0]), Number(k.match(/\d+$/)[0]) + 1, factory);
  }
});

test("the application's own uncaught errors are reported by Node, not rethrown by the wasm loader", () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  for (const [what, code] of [
    ['uncaught error', "setTimeout(() => { throw new Error('the app failed'); }, 0);"],
    ['unhandled rejection', "Promise.reject(new Error('the app failed'));"],
  ]) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as kiln from 'kiln'; await kiln.ready({ quiet: true }); ${code}`],
      { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 1, `${what}: exit code (stderr: ${r.stderr.slice(0, 300)})`);
    assert.match(r.stderr, /Error: the app failed/, what);
    assert.ok(r.stderr.length < 4000, `${what}: ${r.stderr.length} bytes on stderr (the minified loader printed?)`);
  }
});

test("initializers take TF.js's names and parameters, checked against TF.js's own", () => {
  const kernelOf = (lib, init, units = 4, inputs = 4) => {
    const m = lib.sequential({ layers: [lib.layers.dense({ units, inputShape: [inputs], kernelInitializer: init })] });
    return Array.from(m.getWeights()[0].dataSync());
  };
  // Deterministic ones: the same values.
  for (const init of ['identity', 'zeros', 'ones', { className: 'Constant', config: { value: 0.5 } },
    { className: 'Identity', config: { gain: 3 } }]) {
    const kilnName = typeof init === 'string' ? init : init.className;
    const tfInit = typeof init === 'string' ? init : tf.initializers[init.className.toLowerCase()](init.config);
    assert.deepEqual(kernelOf(kiln, init), kernelOf(tf, tfInit), kilnName);
  }
  // Random ones: the moments of a large draw agree (the generators differ).
  const moments = (v) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return [mean, Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length), Math.max(...v.map(Math.abs))];
  };
  for (const [name, cls, config] of [
    ['leCunNormal', 'leCunNormal', undefined],
    ['RandomNormal', 'randomNormal', { mean: 1, stddev: 2 }],
    ['RandomUniform', 'randomUniform', { minval: -3, maxval: 1 }],
    ['VarianceScaling', 'varianceScaling', { scale: 3, mode: 'fanOut', distribution: 'uniform' }],
  ]) {
    const init = config ? { className: name, config } : name;
    const [km, ks, kmax] = moments(kernelOf(kiln, init, 100, 100));
    const [tm, ts, tmax] = moments(kernelOf(tf, tf.initializers[cls](config ?? {}), 100, 100));
    assert.ok(Math.abs(km - tm) < 0.05 * Math.max(1, Math.abs(tm)) + 0.02, `${name} mean ${km} vs TF.js ${tm}`);
    assert.ok(Math.abs(ks - ts) < 0.05 * ts, `${name} stddev ${ks} vs TF.js ${ts}`);
    // Bounded draws (truncated at two standard deviations, or uniform) reach the same bound.
    if (name !== 'RandomNormal') assert.ok(kmax <= tmax * 1.02 + 1e-6 && kmax >= tmax * 0.95, `${name} largest ${kmax} vs TF.js ${tmax}`);
  }
  assert.throws(() => kernelOf(kiln, 'identity', 3, 4), /Identity: the weight must be a square matrix, got \[4, 3\]/);
  assert.throws(() => kernelOf(kiln, { className: 'RandomNormal', config: { stddev: -1 } }), /stddev must not be negative/);
});
