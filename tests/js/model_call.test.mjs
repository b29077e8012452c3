// A Layers model called on tensors under autograd (model.apply(tensor),
// model.call, predict inside kiln.grad / variableGrads / optimizer.minimize):
// gradients with respect to the input and the model's weights against
// TensorFlow.js 4.22 (cpu backend) on the same model and weights, in
// inference and in training mode; dropout's gradient against the mask of the
// very forward pass that ran; frozen layers; the tape's memory; the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { randomFloats, ready, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

// The same convolutional model in both libraries, with the same weights.
function cnn(lib) {
  return lib.sequential({
    layers: [
      lib.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 2] }),
      lib.layers.batchNormalization(),
      lib.layers.maxPooling2d({ poolSize: 2 }),
      lib.layers.flatten(),
      lib.layers.dense({ units: 5, activation: 'tanh' }),
      lib.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
}

function twins() {
  const k = cnn(kiln), t = cnn(tf);
  // Non-trivial moving statistics, so inference batch norm differs from training.
  const weights = t.getWeights().map((w, i) => {
    const v = randomFloats(w.size, 40 + i);
    if (i === 8) for (let j = 0; j < v.length; j++) v[j] *= 0.3;        // moving mean (non-trainable weights come last)
    if (i === 9) for (let j = 0; j < v.length; j++) v[j] = 0.5 + Math.abs(v[j]);  // moving variance
    return v;
  });
  t.setWeights(weights.map((v, i) => tf.tensor(v, t.getWeights()[i].shape)));
  k.setWeights(weights.map((v, i) => kiln.tensor(v, k.getWeights()[i].shape)));
  return { k, t };
}

const input = (lib) => lib.tensor(randomFloats(3 * 8 * 8 * 2, 7), [3, 8, 8, 2]);
const weighting = (lib) => lib.tensor(randomFloats(9, 8), [3, 3]);

function sameGrads(what, kGrads, tGrads, kModel, tModel) {
  const kNames = kModel.trainableWeights.map((w) => w.name), tNames = tModel.trainableWeights.map((w) => w.name);
  assert.equal(Object.keys(kGrads).length, tNames.length, `${what}: one gradient per trainable weight`);
  kNames.forEach((name, i) => {
    const got = kGrads[name], want = tGrads[tNames[i]];
    assert.ok(got && want, `${what}: ${name} has a gradient`);
    assert.deepEqual(got.shape, want.shape);
    const err = relError(got.dataSync(), want.dataSync());
    assert.ok(err < 1e-4, `${what}: ${name} differs from TF.js's ${tNames[i]} by ${err}`);
  });
}

for (const training of [false, true]) {
  test(`variableGrads through model.apply(x, {training: ${training}}) matches TF.js (conv, batch norm, pooling, dense)`, () => {
    const { k, t } = twins();
    const loss = (lib, m) => () => lib.sum(lib.mul(m.apply(input(lib), { training }), weighting(lib)));
    const kr = kiln.variableGrads(loss(kiln, k));
    const tr = tf.variableGrads(loss(tf, t), t.trainableWeights.map((w) => w.val));
    assert.ok(Math.abs(kr.value.dataSync()[0] - tr.value.dataSync()[0]) < 1e-4, `loss ${kr.value.dataSync()[0]}, TF.js ${tr.value.dataSync()[0]}`);
    sameGrads(`training ${training}`, kr.grads, tr.grads, k, t);
    // The moving statistics move in training mode only, as TF.js's do.
    const moved = (m) => relError(m.getWeights()[8].dataSync(), twins().k.getWeights()[8].dataSync()) > 0;
    assert.equal(moved(k), training);
  });
}

test('kiln.grad with respect to the input of model.apply and of predict matches TF.js', () => {
  const { k, t } = twins();
  const run = { apply: (m, x) => m.apply(x), predict: (m, x) => m.predict(x), 'predict in batches of 2': (m, x) => m.predict(x, { batchSize: 2 }) };
  const f = (lib, m, how) => (x) => lib.sum(lib.mul(run[how](m, x), weighting(lib)));
  const want = tf.grad(f(tf, t, 'apply'))(input(tf));
  for (const how of Object.keys(run)) {
    const got = kiln.grad(f(kiln, k, how))(input(kiln));
    assert.deepEqual(got.shape, want.shape);
    assert.ok(relError(got.dataSync(), want.dataSync()) < 1e-4, `${how}: d/dx differs from TF.js's`);
  }
});

test('dropout in training mode: the gradient is that of the forward pass that ran (its mask)', () => {
  const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 64, useBias: false, inputShape: [6] }), kiln.layers.dropout({ rate: 0.5 })] });
  const x = kiln.tensor(randomFloats(4 * 6, 3), [4, 6]);
  let y;
  // loss = sum(y^2) / 2, so d loss / d kernel = x^T (mask / keep * y) = x^T y / keep (y is 0 where dropped).
  const { grads } = kiln.variableGrads(() => {
    y = kiln.keep(m.apply(x, { training: true }));
    return kiln.mul(kiln.sum(kiln.square(y)), 0.5);
  });
  const dropped = y.dataSync().filter((v) => v === 0).length;
  assert.ok(dropped > 40 && dropped < 216, `${dropped} of 256 dropped`);
  const want = kiln.div(kiln.matMul(x, y, true, false), 0.5);
  assert.ok(relError(grads[m.trainableWeights[0].name].dataSync(), want.dataSync()) < 1e-5);
});

test('minimize() without a list trains the model called inside it, leaves frozen layers alone and leaks no tensors', () => {
  const m = kiln.sequential({ seed: 4, layers: [
    kiln.layers.dense({ units: 16, activation: 'relu', inputShape: [4] }),
    kiln.layers.dense({ units: 1 }),
  ] });
  m.layers[0].trainable = false;
  const frozen = m.layers[0].getWeights().map((w) => w.dataSync().slice());
  const x = kiln.tensor(randomFloats(32 * 4, 5), [32, 4]);
  const target = kiln.tidy(() => kiln.sum(kiln.mul(x, kiln.tensor([1, -1, 0.5, 0])), 1, true));  // reachable from the frozen features
  const opt = kiln.train.adam(0.05);
  const losses = [];
  const before = kiln.memory().numTensors;
  for (let step = 0; step < 30; step++) {
    const cost = opt.minimize(() => kiln.losses.meanSquaredError(target, m.apply(x)), true);
    losses.push(cost.dataSync()[0]);
    cost.dispose();
  }
  assert.equal(kiln.memory().numTensors, before, 'each step frees what it made');
  assert.ok(losses.at(-1) < 0.7 * losses[0], `losses ${losses[0]} -> ${losses.at(-1)}`);
  m.layers[0].getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), frozen[i], 'the frozen layer did not move'));
  const { grads } = kiln.variableGrads(() => kiln.sum(m.apply(x)));
  assert.deepEqual(Object.keys(grads).sort(), m.trainableWeights.map((w) => w.name).sort(), 'gradients for the trainable weights only');
});

test('a call whose gradient never comes frees what it kept; the model stays usable', () => {
  const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 3, inputShape: [2] })] });
  const x = kiln.tensor([[1, 2]]);
  // More than the core's limit of pending calls, if none were freed.
  for (let i = 0; i < 100; i++)
    assert.throws(() => kiln.variableGrads(() => { m.apply(x); throw new Error('the function failed'); }), /the function failed/);
  const { value } = kiln.variableGrads(() => kiln.sum(m.apply(x)));
  assert.ok(Number.isFinite(value.dataSync()[0]));
});

test('model.apply on tensors: bad arguments and a model disposed before its gradient are clear errors', () => {
  const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 3, inputShape: [2] })] });
  assert.throws(() => m.apply(kiln.tensor([[1, 2, 3]])), /must have shape \[1,2\], got \[1,3\]/);
  assert.throws(() => m.apply(kiln.tensor([[1, 2]]), { trainig: true }), /unknown argument 'trainig'/);
  assert.throws(() => m.apply(kiln.tensor([[1, 2]]), { training: 'yes' }), /training must be true or false/);
  assert.throws(() => m.apply([kiln.tensor([[1, 2]]), kiln.input({ shape: [2] })]), /all symbolic tensors .* or all tensors/);
  assert.deepEqual(m.apply(kiln.tensor([[1, 2]])).dataSync(), m.predict(kiln.tensor([[1, 2]])).dataSync());
  assert.throws(() => kiln.variableGrads(() => {
    const y = kiln.sum(m.apply(kiln.tensor([[1, 2]])));
    m.dispose();
    return y;
  }), /disposed before the gradient of its call was taken/);
});

test('model weights are variables: named as TF.js names them, unique across models, updated by applyGradients', () => {
  const a = kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [2], name: 'same' })] });
  const b = kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [2], name: 'same' })] });
  const x = kiln.tensor([[1, -1]]);
  const ga = kiln.variableGrads(() => kiln.sum(a.apply(x))).grads;
  const gb = kiln.variableGrads(() => kiln.sum(b.apply(x))).grads;
  assert.deepEqual(Object.keys(ga).sort(), ['same/bias', 'same/kernel']);
  assert.equal(Object.keys(gb).length, 2);
  assert.ok(Object.keys(gb).every((n) => !(n in ga)), `distinct names: ${Object.keys(gb)}`);
  const before = b.getWeights()[1].dataSync()[0];
  kiln.train.sgd(0.5).applyGradients(gb);
  assert.ok(Math.abs(b.getWeights()[1].dataSync()[0] - (before - 0.5)) < 1e-6, 'the bias moved by -lr * 1');
  assert.throws(() => kiln.variable(kiln.zeros([1]), true, 'same/kernel'), /already exists/);
});

test('on the reference backend (values copied between backends) the call gives the cpu backend\'s gradients', async () => {
  const grads = async (backend) => {
    await kiln.setBackend(backend);
    try {
      const { k } = twins();
      const { value, grads: g } = kiln.variableGrads(() => kiln.sum(kiln.mul(k.apply(input(kiln), { training: true }), weighting(kiln))));
      return { value: value.dataSync()[0], grads: k.trainableWeights.map((w) => g[w.name].dataSync()) };
    } finally {
      await kiln.setBackend('cpu');
    }
  };
  const cpu = await grads('cpu'), reference = await grads('reference');
  assert.ok(Math.abs(cpu.value - reference.value) < 1e-5);
  cpu.grads.forEach((g, i) => assert.ok(relError(reference.grads[i], g) < 1e-4, `weight ${i}`));
});

test('a layer applied to tensors computes as TF.js\'s does, keeps one set of weights with the models it joins, and is differentiable', () => {
  const args = { units: 3, activation: 'relu', kernelInitializer: 'glorotUniform' };
  const d = kiln.layers.dense(args), td = tf.layers.dense(args);
  const x = randomFloats(2 * 4, 21);
  const ty = td.apply(tf.tensor(x, [2, 4]));
  d.apply(kiln.tensor(x, [2, 4])).dispose();  // builds the layer (its own initial weights)
  d.setWeights(td.getWeights().map((w) => kiln.tensor(w.dataSync(), w.shape)));
  const y = d.apply(kiln.tensor(x, [2, 4]));
  assert.deepEqual(y.shape, ty.shape);
  assert.ok(relError(y.dataSync(), ty.dataSync()) < 1e-6);
  // Another input shape: the same weights.
  const conv = kiln.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' });
  const a = conv.apply(kiln.tensor(randomFloats(1 * 5 * 5 * 2, 22), [1, 5, 5, 2]));
  const b = conv.apply(kiln.tensor(randomFloats(3 * 6 * 4 * 2, 23), [3, 6, 4, 2]));
  assert.deepEqual([a.shape, b.shape], [[1, 5, 5, 2], [3, 6, 4, 2]]);
  const direct = kiln.conv2d(kiln.tensor(randomFloats(1 * 5 * 5 * 2, 22), [1, 5, 5, 2]), conv.getWeights()[0], 1, 'same');
  assert.ok(relError(a.dataSync(), kiln.add(direct, conv.getWeights()[1]).dataSync()) < 1e-5);
  // The layer joins a model: the model starts from the weights the layer has.
  const inp = kiln.input({ shape: [4] }), out = d.apply(inp);
  const m = kiln.model({ inputs: inp, outputs: out });
  assert.ok(relError(m.predict(kiln.tensor(x, [2, 4])).dataSync(), ty.dataSync()) < 1e-6);
  assert.equal(d.output, out, 'layer.output is the model\'s application, not the private ones');
  // d/dx of sum(relu(x W + b)) = (relu' mask) W^T summed, as TF.js gives it.
  const kg = kiln.grad((t) => kiln.sum(d.apply(t)))(kiln.tensor(x, [2, 4]));
  const tg = tf.grad((t) => tf.sum(td.apply(t)))(tf.tensor(x, [2, 4]));
  assert.ok(relError(kg.dataSync(), tg.dataSync()) < 1e-5);
  assert.throws(() => d.apply(kiln.tensor(x, [2, 4]), { initialState: [] }), /the only argument is training/);
});

test('a layer applied to tensors inside a custom layer\'s call() is refused with a clear error', async () => {
  class Wrapper extends kiln.layers.Layer {
    constructor() { super({}); this.inner = kiln.layers.dense({ units: 2 }); }
    computeOutputShape(s) { return [s[0], 2]; }
    call(x) { return this.inner.apply(Array.isArray(x) ? x[0] : x); }
    static get className() { return 'Wrapper'; }
  }
  const m = kiln.sequential({ layers: [kiln.layers.inputLayer({ inputShape: [3] }), new Wrapper()] });
  assert.throws(() => m.predict(kiln.ones([1, 3])), /inside a custom layer's call\(\) would not train with the model/);
  const ok = kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [3] })] });
  assert.equal(ok.predict(kiln.ones([1, 3])).shape[1], 2, 'the library is still usable');
});
