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

test('compile, sequential and model refuse arguments they would ignore', () => {
  const m = model();
  assert.throws(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', lossWeights: [2] }), /lossWeights is not supported/);
  assert.throws(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', lossWieghts: [2] }), /compile: unknown argument 'lossWieghts'/);
  m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics: undefined, lossWeights: null });
  assert.throws(() => kiln.sequential({ layerz: [] }), /sequential: unknown argument 'layerz'/);
  const i = kiln.input({ shape: [2] });
  assert.throws(() => kiln.model({ inputs: i, outputs: kiln.layers.dense({ units: 1 }).apply(i), nmae: 'x' }), /model: unknown argument 'nmae'/);
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
  // The layers' defaults are TF.js's: dense and conv kernels glorotNormal (truncated at two
  // standard deviations, so reaching 2 * 0.1 here; glorotUniform would stop at 0.173).
  for (const [name, make] of [['dense', (lib) => lib.layers.dense({ units: 100, inputShape: [100] })],
    ['conv2d', (lib) => lib.layers.conv2d({ filters: 50, kernelSize: 1, inputShape: [2, 2, 150] })]]) {
    const largest = (lib) => moments(Array.from(lib.sequential({ layers: [make(lib)] }).getWeights()[0].dataSync()))[2];
    const k = largest(kiln), t = largest(tf);
    assert.ok(Math.abs(k - t) < 0.03 * t && k > 0.18, `${name}: default kernel's largest value ${k} vs TF.js ${t}`);
  }
  assert.throws(() => kernelOf(kiln, 'identity', 3, 4), /Identity: the weight must be a square matrix, got \[4, 3\]/);
  assert.throws(() => kernelOf(kiln, { className: 'RandomNormal', config: { stddev: -1 } }), /stddev must not be negative/);
});

test("model names, weights, trainableWeights, getConfig and predictOnBatch as TF.js's", async () => {
  const build = (lib, name) => lib.sequential({ name, layers: [lib.layers.dense({ units: 2, inputShape: [3] }), lib.layers.batchNormalization()] });
  const k = build(kiln), t = build(tf);
  assert.match(k.name, /^sequential_\d+$/);
  assert.equal(build(kiln, 'mine').name, 'mine');
  const i = kiln.input({ shape: [2] });
  assert.match(kiln.model({ inputs: i, outputs: kiln.layers.dense({ units: 1 }).apply(i) }).name, /^model\d+$/);
  const strip = (name) => name.replace(/\d+/g, '');
  const view = (ws) => ws.map((w) => [strip(w.name), w.shape.join('x'), w.trainable, w.dtype]);
  assert.deepEqual(view(k.weights), view(t.weights));
  assert.deepEqual(view(k.trainableWeights), view(t.trainableWeights));
  assert.deepEqual(view(k.nonTrainableWeights), view(t.nonTrainableWeights));
  k.layers[0].trainable = false;
  t.layers[0].trainable = false;
  assert.deepEqual(view(k.trainableWeights), view(t.trainableWeights));
  // write() and read() on a variable.
  k.weights[1].write(kiln.tensor([5, 6], [2]));
  assert.deepEqual(Array.from(k.weights[1].read().dataSync()), [5, 6]);
  assert.throws(() => k.weights[1].write(kiln.tensor([1, 2, 3], [3])), /must have shape \[2\], got \[3\]/);
  const kc = k.getConfig(), tc = t.getConfig();
  assert.equal(kc.name, k.name);
  assert.deepEqual(kc.layers.map((l) => l.className), tc.layers.map((l) => l.className));
  assert.deepEqual(kc.layers[0].config.batchInputShape, tc.layers[0].config.batchInputShape);
  assert.equal(kc.layers[0].config.units, tc.layers[0].config.units);
  const x = kiln.tensor(randomFloats(12, 3), [4, 3]);
  assert.deepEqual(Array.from(k.predictOnBatch(x).dataSync()), Array.from(k.predict(x).dataSync()));
  // TF.js's factory aliases.
  for (const alias of ['maxPool2d', 'avgPool2d', 'avgPooling1d', 'globalMaxPool2d'])
    assert.equal(kiln.layers[alias]({}).getClassName?.() ?? kiln.layers[alias]({}).className, tf.layers[alias]({}).getClassName(), alias);
});

test('callbacks.earlyStopping stops where TF.js\'s does', async () => {
  const series = {
    val_loss: [1.0, 0.8, 0.81, 0.79, 0.795, 0.80, 0.81, 0.7, 0.72, 0.73],
    val_acc: [0.5, 0.6, 0.59, 0.61, 0.61, 0.605, 0.6, 0.7, 0.69, 0.69],
  };
  const stopsAt = async (lib, args) => {
    const cb = lib.callbacks.earlyStopping(args);
    const model = lib.sequential({ layers: [lib.layers.dense({ units: 1, inputShape: [1] })] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    model.stopTraining = false;
    cb.setModel(model);
    await cb.onTrainBegin?.({});
    for (let e = 0; e < 10; e++) {
      await cb.onEpochEnd(e, { val_loss: series.val_loss[e], val_acc: series.val_acc[e] });
      if (model.stopTraining) return e;
    }
    return -1;
  };
  for (const args of [{}, { patience: 2 }, { patience: 1, minDelta: 0.015 }, { monitor: 'val_acc', patience: 1 },
    { monitor: 'val_acc', mode: 'min' }, { patience: 3, baseline: 0.75 }]) {
    assert.equal(await stopsAt(kiln, args), await stopsAt(tf, args), JSON.stringify(args));
  }
  assert.throws(() => kiln.callbacks.earlyStopping({ restoreBestWeights: true }), /restoreBestWeights is not implemented/);
  assert.throws(() => kiln.callbacks.earlyStopping({ patiense: 2 }), /unknown argument 'patiense'/);
  // Through fit: training stops once the monitored value stops improving.
  const m = model();
  const history = await m.fit(xs, ys, { epochs: 50, validationData: [xs, ys], callbacks: [kiln.callbacks.earlyStopping({ monitor: 'loss', minDelta: 10 })] });
  assert.equal(history.epoch.length, 2, 'the second epoch improves on the first by less than 10: training stops');
});

test('layer arguments the core does not read are refused, never silently ignored', () => {
  const build = (layer) => kiln.sequential({ layers: [layer] }).build();
  assert.throws(() => build(kiln.layers.dense({ units: 3, inputShape: [4], unitz: 3 })), /Dense: argument 'unitz' is not supported/);
  assert.throws(() => build(kiln.layers.dense({ units: 3, inputShape: [4], weights: [kiln.zeros([4, 3])] })), /Dense: argument 'weights' is not supported/);
  assert.throws(() => build(kiln.layers.dropout({ rate: 0.5, inputShape: [4], seed: 1 })), /Dropout: argument 'seed' is not supported/);
  assert.throws(() => build(kiln.layers.lstm({ units: 2, inputShape: [3, 4], cell: 'x' })), /LSTM: argument 'cell' is not supported/);
  // dtype describes the input (not in the core's config): anything but float32 is refused here.
  assert.throws(() => kiln.layers.dense({ units: 3, inputShape: [4], dtype: 'int32' }), /Dense: dtype 'int32' is not supported/);
  assert.throws(() => kiln.layers.rnn({ cell: [kiln.layers.lstmCell({ units: 2 }), kiln.layers.gruCell({ units: 2 })], dtype: 'float16' }),
    /dtype 'float16' is not supported/);
  build(kiln.layers.dense({ units: 3, inputShape: [4], dtype: 'float32' }));
  // Arguments that only change how fast a layer runs, and nulls, are accepted.
  build(kiln.layers.lstm({ units: 2, inputShape: [3, 4], implementation: 2, unroll: false, kernelRegularizer: null }));
});

test('kiln.initializers objects serialize as TF.js\'s and set the same values; batchNormalization honours its moving initializers', () => {
  const kernelOf = (lib, init) => Array.from(lib.sequential({ layers: [lib.layers.dense({ units: 4, inputShape: [4], kernelInitializer: init })] })
    .getWeights()[0].dataSync());
  for (const [name, args] of [['identity', { gain: 2 }], ['zeros', undefined], ['ones', undefined], ['constant', { value: -1.5 }]])
    assert.deepEqual(kernelOf(kiln, kiln.initializers[name](args)), kernelOf(tf, tf.initializers[name](args)), name);
  const k = kiln.initializers.varianceScaling({ scale: 2, mode: 'fanOut' });
  const t = tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut' });
  assert.equal(k.getClassName(), t.getClassName());
  for (const [key, v] of Object.entries(k.getConfig())) assert.equal(v, t.getConfig()[key], key);
  assert.throws(() => kiln.initializers.glorotUniform({ seed: 3 }), /a seed of its own is not supported/);
  assert.throws(() => kiln.initializers.randomNormal({ stdev: 1 }), /unknown argument 'stdev'/);
  const bn = (lib) => lib.sequential({ layers: [lib.layers.batchNormalization({ inputShape: [3],
    movingMeanInitializer: lib.initializers.constant({ value: 2 }), movingVarianceInitializer: 'zeros' })] });
  assert.deepEqual(bn(kiln).getWeights().map((w) => Array.from(w.dataSync())), bn(tf).getWeights().map((w) => Array.from(w.dataSync())));
});

test('a sequential model may start with inputLayer({inputShape}), as in TF.js', () => {
  const make = (lib) => lib.sequential({ layers: [lib.layers.inputLayer({ inputShape: [4], name: 'pixels' }), lib.layers.dense({ units: 2 })] });
  const k = make(kiln), t = make(tf);
  t.setWeights(k.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
  assert.equal(k.layers.length, t.layers.length);
  assert.deepEqual(k.inputs[0].shape, t.inputs[0].shape);
  const x = randomFloats(3 * 4, 21);
  const got = k.predict(kiln.tensor(x, [3, 4])).dataSync(), want = t.predict(tf.tensor(x, [3, 4])).dataSync();
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6));
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [4] }), kiln.layers.inputLayer({ inputShape: [2] })] }),
    /an input layer can only come first/);
});
