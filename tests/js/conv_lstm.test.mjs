// convLstm2d against TensorFlow.js 4.22 running the same models with the same
// weights: predictions (valid and same padding, strides, returnSequences,
// goBackwards, returnState, initial states) and the weights after Adam
// training; saving and loading keep the predictions. The kernels' gradients
// are checked against finite differences in tests/cpp/conv_lstm_test.cc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

const copyWeights = (from, to) => to.setWeights(from.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
const shape = [3, 4, 6, 5, 2];  // batch, steps, height, width, channels
const xs = randomFloats(shape.reduce((a, b) => a * b), 101);

for (const [what, args] of Object.entries({
  'valid padding': { filters: 3, kernelSize: 3 },
  'same padding, strides 2, returnSequences': { filters: 2, kernelSize: [3, 2], strides: 2, padding: 'same', returnSequences: true },
  'goBackwards, sigmoid gates, unitForgetBias': { filters: 2, kernelSize: 2, goBackwards: true, recurrentActivation: 'sigmoid', unitForgetBias: true, returnSequences: true },
  // TF.js 4.22 cannot train a dilated conv2d: this one is compared in predictions only.
  'dilation 2, relu': { filters: 2, kernelSize: 2, dilationRate: 2, activation: 'relu', padding: 'same', predictOnly: true },
}))
  test(`convLstm2d (${what}) predicts and trains as TF.js's`, async () => {
    const { predictOnly, ...layerArgs } = args;
    const make = (lib) => lib.sequential({ layers: [lib.layers.convLstm2d({ inputShape: shape.slice(1), biasInitializer: 'ones', ...layerArgs }),
      lib.layers.flatten(), lib.layers.dense({ units: 2 })] });
    const k = make(kiln), t = make(tf);
    copyWeights(k, t);
    assert.deepEqual(k.outputs[0].shape, t.outputs[0].shape);
    const kp = k.predict(kiln.tensor(xs, shape)), tp = t.predict(tf.tensor(xs, shape));
    assert.ok(relError(kp.dataSync(), tp.dataSync()) < 1e-5, `predictions ${relError(kp.dataSync(), tp.dataSync())}`);
    if (predictOnly) return;
    const ys = randomFloats(shape[0] * 2, 102);
    k.compile({ optimizer: kiln.train.adam(0.01), loss: 'meanSquaredError' });
    t.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    await k.fit(kiln.tensor(xs, shape), kiln.tensor(ys, [shape[0], 2]), { epochs: 3, batchSize: 3 });
    await t.fit(tf.tensor(xs, shape), tf.tensor(ys, [shape[0], 2]), { epochs: 3, batchSize: 3 });
    const tw = t.getWeights();
    k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < 1e-4, `weight ${i} ${w.shape}: ${relError(w.dataSync(), tw[i].dataSync())}`));
    const back = await kiln.loadModel(await k.save());
    assert.deepEqual(Array.from(back.predict(kiln.tensor(xs, shape)).dataSync()), Array.from(k.predict(kiln.tensor(xs, shape)).dataSync()));
  });

test('convLstm2d returnState as TF.js; initial states continue a sequence', async () => {
  const make = (lib) => {
    const x = lib.input({ shape: shape.slice(1) });
    const [last, h, c] = lib.layers.convLstm2d({ filters: 2, kernelSize: 3, padding: 'same', returnState: true }).apply(x);
    return lib.model({ inputs: x, outputs: [last, h, c] });
  };
  const k = make(kiln), t = make(tf);
  copyWeights(k, t);
  const ko = k.predict(kiln.tensor(xs, shape)), to = t.predict(tf.tensor(xs, shape));
  ko.forEach((o, i) => {
    assert.deepEqual(o.shape, to[i].shape);
    assert.ok(relError(o.dataSync(), to[i].dataSync()) < 1e-5, `output ${i}`);
  });
  // TF.js 4.22 cannot apply convLstm2d with initialState (its computeOutputShape takes one
  // shape), so: a layer started from another's final states over the first half of a
  // sequence ends where one layer run over the whole sequence ends.
  const [, steps, hh, ww, cc] = shape;
  const whole = kiln.sequential({ layers: [kiln.layers.convLstm2d({ inputShape: [2 * steps, hh, ww, cc], filters: 2, kernelSize: 3, padding: 'same', biasInitializer: 'ones' })] });
  const first = kiln.input({ shape: shape.slice(1) }), second = kiln.input({ shape: shape.slice(1) });
  const enc = kiln.layers.convLstm2d({ filters: 2, kernelSize: 3, padding: 'same', returnState: true });
  const dec = kiln.layers.convLstm2d({ filters: 2, kernelSize: 3, padding: 'same' });
  const [, h, c] = enc.apply(first);
  const split = kiln.model({ inputs: [first, second], outputs: dec.apply(second, { initialState: [h, c] }) });
  enc.setWeights(whole.getWeights());
  dec.setWeights(whole.getWeights());
  const other = randomFloats(xs.length, 103);
  const joined = new Float32Array(2 * xs.length);  // per sample: the first half's steps, then the second's
  const perSample = xs.length / shape[0];
  for (let b = 0; b < shape[0]; ++b) {
    joined.set(xs.subarray(b * perSample, (b + 1) * perSample), 2 * b * perSample);
    joined.set(other.subarray(b * perSample, (b + 1) * perSample), (2 * b + 1) * perSample);
  }
  const want = whole.predict(kiln.tensor(joined, [shape[0], 2 * steps, hh, ww, cc])).dataSync();
  const got = split.predict([kiln.tensor(xs, shape), kiln.tensor(other, shape)]).dataSync();
  assert.ok(relError(got, want) < 1e-5, `continued sequence: ${relError(got, want)}`);
});

test('rnn({cell: convLstm2dCell}) is a convLstm2d', () => {
  const a = kiln.sequential({ layers: [kiln.layers.rnn({ cell: kiln.layers.convLstm2dCell({ filters: 2, kernelSize: 3 }), inputShape: shape.slice(1), returnSequences: true })] });
  const b = kiln.sequential({ layers: [kiln.layers.convLstm2d({ filters: 2, kernelSize: 3, inputShape: shape.slice(1), returnSequences: true })] });
  b.setWeights(a.getWeights());
  assert.equal(a.layers[0].getClassName(), 'ConvLSTM2D');
  assert.deepEqual(Array.from(a.predict(kiln.tensor(xs, shape)).dataSync()), Array.from(b.predict(kiln.tensor(xs, shape)).dataSync()));
});

test('convLstm2d refuses what it cannot honour, naming it', () => {
  const build = (args) => kiln.sequential({ layers: [kiln.layers.convLstm2d({ inputShape: shape.slice(1), filters: 2, kernelSize: 3, ...args })] }).build();
  assert.throws(() => build({ stateful: true }), /ConvLSTM2D: argument 'stateful' is not supported/);
  assert.throws(() => build({ dropout: 0.2 }), /'dropout' and 'recurrentDropout' are not supported/);
  assert.throws(() => build({ kernelSize: 7 }), /ConvLSTM2D/);
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.convLstm2d({ inputShape: [4, 5, 2], filters: 2, kernelSize: 3 })] }).build(),
    /\[steps, height, width, channels\]/);
  // A mask here would be per pixel, not per step: refused rather than ignored.
  const masked = kiln.sequential({ layers: [kiln.layers.masking({ inputShape: shape.slice(1) }), kiln.layers.convLstm2d({ filters: 2, kernelSize: 3 })] });
  assert.throws(() => masked.predict(kiln.tensor(xs, shape)), /ConvLSTM2D\): does not take masked inputs/);
});
