// kiln.onnx.export against an independent runtime: models trained briefly in
// Kiln (an MLP, a CNN, LSTM, GRU with and without resetAfter, an embedding
// model, functional models with two inputs, and every other mapped layer)
// are exported and run in ONNX Runtime (onnxruntime-node) at a batch size
// other than the training one;
// outputs must match model.predict within 1e-4 relative. The same bytes load
// back into kiln.onnx.load. Layers without an ONNX form are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import * as kiln from 'kiln';
import { randomFloats, oneHotRows, ready, relError } from './helpers.mjs';

await ready();

const prod = (shape) => shape.reduce((a, b) => a * b, 1);

// A few optimizer steps on random data, so no weight keeps its initial value.
async function trainBriefly(model, inputShapes, outputUnits) {
  model.compile({ optimizer: kiln.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const n = 16;
  const xs = inputShapes.map((s, i) => kiln.tensor(randomFloats(n * prod(s), 10 + i), [n, ...s]));
  await model.fit(xs.length === 1 ? xs[0] : xs, kiln.tensor(oneHotRows(n, outputUnits), [n, outputUnits]),
    { epochs: 2, batchSize: 8 });
}

// Exports, runs in ONNX Runtime and in kiln.onnx.load on `batch` samples, compares with predict.
async function expectSameOutputs(model, inputs) {
  const want = model.predict(inputs.length === 1 ? inputs[0] : inputs).dataSync();
  const bytes = await kiln.onnx.export(model);
  assert.ok(bytes instanceof Uint8Array);

  const session = await ort.InferenceSession.create(bytes);
  assert.equal(session.inputNames.length, inputs.length);
  const feeds = {};
  session.inputNames.forEach((name, i) => { feeds[name] = new ort.Tensor('float32', inputs[i].dataSync(), inputs[i].shape); });
  const out = await session.run(feeds);
  const got = out[session.outputNames[0]];
  assert.equal(got.dims[0], inputs[0].shape[0]);
  assert.equal(got.data.length, want.length);
  const ortError = relError(got.data, want);
  assert.ok(ortError < 1e-4, `ONNX Runtime: relative error ${ortError}`);

  const own = await kiln.onnx.load(bytes);
  assert.equal(own.inputs[0].shape[0], null);  // the symbolic batch
  const kfeeds = {};
  own.inputNames.forEach((name, i) => { kfeeds[name] = inputs[i]; });
  const back = (await own.run(kfeeds))[own.outputNames[0]].dataSync();
  own.dispose();
  const kilnError = relError(back, want);
  assert.ok(kilnError < 1e-4, `kiln.onnx.load: relative error ${kilnError}`);
}

const batchOf = (shape, n, seed, scale = 1) =>
  kiln.tensor(randomFloats(n * prod(shape), seed).map((v) => v * scale), [n, ...shape]);

test('an MLP (dense, dropout, gelu, layer norm, softmax) matches in ONNX Runtime', async () => {
  const model = kiln.sequential({ seed: 1, layers: [
    kiln.layers.dense({ units: 16, activation: 'relu', inputShape: [6] }),
    kiln.layers.dropout({ rate: 0.2 }),
    kiln.layers.dense({ units: 12, activation: 'gelu' }),
    kiln.layers.layerNormalization(),
    kiln.layers.leakyReLU({ alpha: 0.1 }),
    kiln.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  await trainBriefly(model, [[6]], 3);
  await expectSameOutputs(model, [batchOf([6], 5, 3)]);
});

test('a CNN (conv, batch norm, pooling, depthwise, flatten, dense, softmax) matches', async () => {
  const model = kiln.sequential({ seed: 2, layers: [
    kiln.layers.conv2d({ inputShape: [10, 10, 2], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }),
    kiln.layers.batchNormalization(),
    kiln.layers.maxPooling2d({ poolSize: 2 }),
    kiln.layers.conv2d({ filters: 8, kernelSize: [3, 2], strides: 2, padding: 'same', useBias: false }),
    kiln.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, activation: 'relu6' }),
    kiln.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
    kiln.layers.flatten(),
    kiln.layers.dense({ units: 4, activation: 'softmax' }),
  ] });
  await trainBriefly(model, [[10, 10, 2]], 4);
  await expectSameOutputs(model, [batchOf([10, 10, 2], 3, 4)]);
});

test('an LSTM classifier (and one reading backwards) matches', async () => {
  for (const goBackwards of [false, true]) {
    const model = kiln.sequential({ seed: 3, layers: [
      kiln.layers.lstm({ inputShape: [7, 3], units: 8, goBackwards }),
      kiln.layers.dense({ units: 2, activation: 'softmax' }),
    ] });
    await trainBriefly(model, [[7, 3]], 2);
    await expectSameOutputs(model, [batchOf([7, 3], 4, 5)]);
  }
});

test('GRU with resetAfter false and true, stacked with SimpleRNN and Bidirectional, matches', async () => {
  for (const resetAfter of [false, true]) {
    const model = kiln.sequential({ seed: 4, layers: [
      kiln.layers.gru({ inputShape: [6, 3], units: 5, resetAfter, returnSequences: true }),
      kiln.layers.bidirectional({ layer: kiln.layers.lstm({ units: 3, returnSequences: true }) }),
      kiln.layers.simpleRNN({ units: 4 }),
      kiln.layers.dense({ units: 2, activation: 'softmax' }),
    ] });
    await trainBriefly(model, [[6, 3]], 2);
    await expectSameOutputs(model, [batchOf([6, 3], 3, 6)]);
  }
});

test('an encoder-decoder (returnState, initial states) matches', async () => {
  const src = kiln.input({ shape: [5, 3] }), dst = kiln.input({ shape: [4, 2] });
  const [, h, c] = kiln.layers.lstm({ units: 6, returnState: true }).apply(src);
  const decoded = kiln.layers.lstm({ units: 6, returnSequences: true }).apply(dst, { initialState: [h, c] });
  const [seq, gh] = kiln.layers.gru({ units: 3, returnSequences: true, returnState: true, resetAfter: true }).apply(decoded);
  const bidiOuts = kiln.layers.bidirectional({ layer: kiln.layers.lstm({ units: 2, returnState: true }), mergeMode: 'mul' }).apply(src);
  const out = kiln.layers.dense({ units: 2, activation: 'softmax' }).apply(
    kiln.layers.concatenate().apply([kiln.layers.flatten().apply(seq), gh, ...bidiOuts]));
  const model = kiln.model({ inputs: [src, dst], outputs: out, seed: 9 });
  await trainBriefly(model, [[5, 3], [4, 2]], 2);
  await expectSameOutputs(model, [batchOf([5, 3], 3, 13), batchOf([4, 2], 3, 14)]);
});

test('Conv2DTranspose (same, valid, kernel smaller than stride) and TimeDistributed match', async () => {
  for (const padding of ['same', 'valid']) {
    const model = kiln.sequential({ seed: 10, layers: [
      kiln.layers.conv2dTranspose({ inputShape: [5, 4, 2], filters: 3, kernelSize: [3, 1], strides: [2, 3], padding, activation: 'relu' }),
      kiln.layers.reshape({ targetShape: [-1, 12, 3, 1] }),
      kiln.layers.timeDistributed({ layer: kiln.layers.conv2d({ filters: 2, kernelSize: 2 }) }),
      kiln.layers.timeDistributed({ layer: kiln.layers.flatten() }),
      kiln.layers.timeDistributed({ layer: kiln.layers.dense({ units: 2, activation: 'softmax' }) }),
      kiln.layers.flatten(),
    ] });
    await trainBriefly(model, [[5, 4, 2]], padding === 'same' ? 20 : 22);
    await expectSameOutputs(model, [batchOf([5, 4, 2], 3, 15)]);
  }
});

test('an Embedding model (indices as floats) matches', async () => {
  const model = kiln.sequential({ seed: 5, layers: [
    kiln.layers.embedding({ inputShape: [5], inputDim: 12, outputDim: 4 }),
    kiln.layers.globalAveragePooling1d(),
    kiln.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  const n = 16;
  const indices = (k, seed) => kiln.tensor(randomFloats(k * 5, seed).map((v) => Math.floor((v + 1) * 6)), [k, 5]);
  model.compile({ optimizer: kiln.train.adam(0.01), loss: 'categoricalCrossentropy' });
  await model.fit(indices(n, 7), kiln.tensor(oneHotRows(n, 3), [n, 3]), { epochs: 2, batchSize: 8 });
  await expectSameOutputs(model, [indices(3, 8)]);
});

test('a functional model (two inputs, a shared layer, concatenate, add, dot) matches', async () => {
  const a = kiln.input({ shape: [6] }), b = kiln.input({ shape: [6] });
  const shared = kiln.layers.dense({ units: 4, activation: 'tanh' });
  const sa = shared.apply(a), sb = shared.apply(b);
  const m2 = (t) => kiln.layers.reshape({ targetShape: [2, 2] }).apply(t);
  const merged = kiln.layers.concatenate().apply([sa, kiln.layers.add().apply([sa, sb]),
    kiln.layers.dot({ axes: 1, normalize: true }).apply([sa, sb]),
    kiln.layers.flatten().apply(kiln.layers.dot({ axes: [2, 1] }).apply([m2(sa), m2(sb)]))]);
  const out = kiln.layers.dense({ units: 2, activation: 'softmax' }).apply(merged);
  const model = kiln.model({ inputs: [a, b], outputs: out, seed: 6 });
  await trainBriefly(model, [[6], [6]], 2);
  await expectSameOutputs(model, [batchOf([6], 3, 9), batchOf([6], 3, 10)]);
});

test('every activation string matches', async () => {
  const acts = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax', 'relu6', 'elu', 'selu', 'gelu', 'swish', 'mish',
    'hardSigmoid', 'softplus', 'softsign', 'logSoftmax', 'exponential', 'leakyRelu'];
  for (const activation of acts) {
    const model = kiln.sequential({ seed: 7, layers: [
      kiln.layers.dense({ units: 6, activation: 'tanh', inputShape: [4] }),
      kiln.layers.dense({ units: 5, activation }),
    ] });
    await expectSameOutputs(model, [batchOf([4], 3, 11, 3)]).catch((e) => { throw new Error(`${activation}: ${e.message}`); });
  }
});

test('reshaping, padding, up-sampling, 1-D conv and pooling, advanced activations and merges match', async () => {
  const x = kiln.input({ shape: [12, 3] });
  let s = kiln.layers.conv1d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'elu' }).apply(x);
  s = kiln.layers.maxPooling1d({ poolSize: 2, padding: 'same', strides: 2 }).apply(s);
  s = kiln.layers.zeroPadding1d({ padding: [1, 2] }).apply(s);
  s = kiln.layers.cropping1d({ cropping: [1, 0] }).apply(s);
  s = kiln.layers.upSampling1d({ size: 2 }).apply(s);
  s = kiln.layers.averagePooling1d({ poolSize: 3, strides: 1 }).apply(s);
  const seq = kiln.layers.globalMaxPooling1d().apply(s);
  let i = kiln.layers.reshape({ targetShape: [6, 2, 3] }).apply(x);
  i = kiln.layers.zeroPadding2d({ padding: [[1, 0], [2, 1]] }).apply(i);
  i = kiln.layers.separableConv2d({ filters: 5, kernelSize: 2, activation: 'swish' }).apply(i);
  i = kiln.layers.upSampling2d({ size: [2, 1], interpolation: 'bilinear' }).apply(i);
  i = kiln.layers.cropping2d({ cropping: [[1, 2], [0, 1]] }).apply(i);
  i = kiln.layers.permute({ dims: [2, 1, 3] }).apply(i);
  i = kiln.layers.prelu().apply(i);
  i = kiln.layers.upSampling2d({ size: 2 }).apply(i);
  i = kiln.layers.globalAveragePooling2d().apply(i);
  const a = kiln.layers.dense({ units: 5 }).apply(seq), b = kiln.layers.dense({ units: 5 }).apply(i);
  const merged = kiln.layers.concatenate().apply([
    kiln.layers.maximum().apply([a, b]), kiln.layers.minimum().apply([a, b]), kiln.layers.average().apply([a, b]),
    kiln.layers.multiply().apply([a, b]), kiln.layers.subtract().apply([a, b]),
  ]);
  let y = kiln.layers.repeatVector({ n: 2 }).apply(merged);
  y = kiln.layers.reLU({ maxValue: 0.5, negativeSlope: 0.1 }).apply(y);
  y = kiln.layers.thresholdedReLU({ theta: 0.05 }).apply(y);
  y = kiln.layers.flatten().apply(y);
  y = kiln.layers.softmax().apply(y);
  const model = kiln.model({ inputs: x, outputs: y, seed: 8 });
  await trainBriefly(model, [[12, 3]], 50);
  await expectSameOutputs(model, [batchOf([12, 3], 3, 12)]);
});

test('a layer without an ONNX form is refused by name', async () => {
  const stateful = kiln.sequential({ layers: [
    kiln.layers.lstm({ name: 'lstm_s', batchInputShape: [2, 4, 3], units: 2, stateful: true }),
  ] });
  await assert.rejects(kiln.onnx.export(stateful), /layer 'lstm_s' \(LSTM\): stateful=true has no ONNX equivalent/);
  const thresholded = kiln.sequential({ layers: [kiln.layers.reLU({ name: 'relu_t', inputShape: [3], threshold: 0.5 })] });
  await assert.rejects(kiln.onnx.export(thresholded), /layer 'relu_t' \(ReLU\): threshold != 0 has no ONNX equivalent/);
  await assert.rejects(kiln.onnx.export({}), /expected a kiln model/);
});
