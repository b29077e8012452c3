// TF.js layers models (model.json + weight shards) through the public API:
// models built and saved by TensorFlow.js 4.22 itself load with
// kiln.loadLayersModel and predict what TF.js (cpu backend) predicts; quantized
// weights decode as tf.io.decodeWeights does; Kiln's model.save(handler)
// writes files TF.js loads back; loaded models fine-tune like TF.js.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';
import { TFJS_MODELS, perturb, saveTfjs, sample } from './tfjs_layers_models.mjs';

await ready();
await tf.setBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'kiln-layers-'));

function comparePredictions(tfModel, kilnModel, inputs, tol = 1e-4) {
  const tfOut = tfModel.predict(inputs.map((x) => tf.tensor(x.values, x.shape)));
  const kOut = kilnModel.predict(inputs.length === 1 ? kiln.tensor(inputs[0].values, inputs[0].shape)
    : inputs.map((x) => kiln.tensor(x.values, x.shape)));
  const tfList = Array.isArray(tfOut) ? tfOut : [tfOut], kList = Array.isArray(kOut) ? kOut : [kOut];
  assert.equal(kList.length, tfList.length);
  tfList.forEach((t, i) => {
    assert.deepEqual(kList[i].shape, t.shape);
    const err = relError(kList[i].dataSync(), t.dataSync());
    assert.ok(err < tol, `output ${i}: relative error ${err}`);
  });
}

const save = async (model, name, transform) => `file://${await saveTfjs(model, dir, name, transform)}`;

for (const [name, what] of Object.entries({
  mlp: 'MLP (Sequential: dense, dropout, activations)',
  cnn: 'CNN (conv, batch norm with axis 3, pooling, depthwise, separable and transposed conv)',
  rnn: 'recurrent model (conv1d, bidirectional LSTM with TF.js\'s hard sigmoid, GRU, SimpleRNN)',
  functional: 'functional model with a shared layer, two inputs and two outputs',
})) {
  test(`${what} matches TF.js`, async () => {
    const { model, inputs } = TFJS_MODELS[name]();
    perturb(model);
    const km = await kiln.loadLayersModel(await save(model, name));
    assert.deepEqual(km.layers.map((l) => l.name), model.layers.filter((l) => name !== 'functional' ? l.getClassName() !== 'InputLayer' : true).map((l) => l.name));
    // Layers in the file's (TF.js's) order, each with TF.js's weights in its order.
    for (const layer of model.layers) {
      const want = layer.getWeights(), got = km.getLayer(layer.name).getWeights !== undefined && want.length ? km.getLayer(layer.name).getWeights() : [];
      assert.equal(got.length, want.length, layer.name);
      want.forEach((w, i) => assert.deepEqual(Array.from(got[i].dataSync()), Array.from(w.dataSync()), `${layer.name} weight ${i}`));
    }
    comparePredictions(model, km, inputs);
  });
}

// Quantizes every float32 weight as TF.js's converter does (affine uint8/uint16, or float16).
function quantize(artifacts, dtype) {
  const all = new Float32Array(artifacts.weightData);
  const parts = [], specs = [];
  let offset = 0;
  for (const s of artifacts.weightSpecs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = all.subarray(offset, offset + n);
    offset += n;
    if (dtype === 'float16') {
      parts.push(halfBits(v));
      specs.push({ ...s, quantization: { dtype } });
    } else {
      const levels = dtype === 'uint8' ? 255 : 65535;
      let min = Math.min(...v), max = Math.max(...v);
      if (max === min) max = min + 1;
      const scale = (max - min) / levels;
      const q = (dtype === 'uint8' ? Uint8Array : Uint16Array).from(v, (x) => Math.round((x - min) / scale));
      parts.push(new Uint8Array(q.buffer));
      specs.push({ ...s, quantization: { dtype, min, scale } });
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { data.set(p, o); o += p.length; }
  return { ...artifacts, weightSpecs: specs, weightData: data.buffer };
}
// float16 bits through a DataView-free route: Math.fround chain (round to nearest even, normal range only).
function halfBits(v) {
  const out = new Uint16Array(v.length);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < v.length; i++) {
    f[0] = v[i];
    const x = u[0], sign = (x >>> 16) & 0x8000, exp = ((x >>> 23) & 0xff) - 127 + 15, mant = x & 0x7fffff;
    if (exp <= 0) { out[i] = sign; continue; }
    let h = sign | (exp << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
    out[i] = h;
  }
  return new Uint8Array(out.buffer);
}

for (const dtype of ['uint8', 'uint16', 'float16']) {
  test(`${dtype}-quantized weights dequantize as tf.io.decodeWeights does`, async () => {
    const m = tf.sequential({ layers: [
      tf.layers.dense({ units: 7, activation: 'relu', inputShape: [10] }),
      tf.layers.dense({ units: 3 }),
    ] });
    perturb(m, 40);
    let quantized;
    const url = await save(m, `q_${dtype}`, (a) => (quantized = quantize(a, dtype)));
    const km = await kiln.loadLayersModel(url);
    const reference = tf.io.decodeWeights(quantized.weightData, quantized.weightSpecs);
    const got = km.getWeights();
    quantized.weightSpecs.forEach((s, i) => {
      const want = reference[s.name].dataSync(), have = got[i].dataSync();
      for (let k = 0; k < want.length; k++) assert.ok(Math.abs(have[k] - want[k]) <= 1e-6 * Math.max(1, Math.abs(want[k])), `${s.name}[${k}] ${have[k]} vs ${want[k]}`);
    });
    // The dequantized model predicts as TF.js does with the same weights.
    m.setWeights(quantized.weightSpecs.map((s) => reference[s.name]));
    comparePredictions(m, km, [sample([3, 10], 41)]);
  });
}

test('Kiln saves in TF.js\'s format: TF.js loads the files and predicts the same', async () => {
  const a = kiln.input({ shape: [6], name: 'left' }), b = kiln.input({ shape: [6], name: 'right' });
  const shared = kiln.layers.dense({ units: 5, activation: 'tanh', name: 'shared' });
  const sa = shared.apply(a), sb = shared.apply(b);
  const merged = kiln.layers.concatenate().apply([sa, sb]);
  const km = kiln.model({ inputs: [a, b], outputs: kiln.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(merged), seed: 3 });
  const path = join(dir, 'from_kiln');
  const result = await km.save(`file://${path}`);
  assert.equal(result.modelArtifactsInfo.modelTopologyType, 'JSON');
  const json = JSON.parse(readFileSync(join(path, 'model.json'), 'utf8'));
  assert.equal(json.format, 'layers-model');
  const weights = readFileSync(join(path, json.weightsManifest[0].paths[0]));
  const tm = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) }));
  comparePredictions(tm, km, [sample([3, 6], 6), sample([3, 6], 7)]);

  const seq = kiln.sequential({ seed: 4, layers: [
    kiln.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 2] }),
    kiln.layers.batchNormalization(), kiln.layers.globalAveragePooling2d(), kiln.layers.dense({ units: 2 }),
  ] });
  let saved;
  await seq.save(kiln.io.withSaveHandler(async (art) => { saved = art; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const ts = await tf.loadLayersModel(tf.io.fromMemory(saved));
  comparePredictions(ts, seq, [sample([2, 8, 8, 2], 8)]);
  const rnn = kiln.sequential({ seed: 5, layers: [
    kiln.layers.bidirectional({ layer: kiln.layers.lstm({ units: 3, returnSequences: true }), inputShape: [4, 2] }),
    kiln.layers.timeDistributed({ layer: kiln.layers.dense({ units: 2 }) }),
    kiln.layers.gru({ units: 2 }), kiln.layers.prelu(), kiln.layers.layerNormalization(),
  ] });
  let savedRnn;
  await rnn.save(kiln.io.withSaveHandler(async (art) => { savedRnn = art; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  comparePredictions(await tf.loadLayersModel(tf.io.fromMemory(savedRnn)), rnn, [sample([3, 4, 2], 9)]);
  // And back: the file Kiln wrote loads in Kiln.
  const again = await kiln.loadLayersModel(kiln.io.fromMemory(saved));
  comparePredictions(ts, again, [sample([2, 8, 8, 2], 8)]);
});

test('a loaded model fine-tunes as TF.js does (SGD, 5 full-batch steps)', async () => {
  const make = () => tf.sequential({ layers: [
    tf.layers.dense({ units: 8, activation: 'relu', inputShape: [6] }),
    tf.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  const m = make();
  perturb(m, 60);
  const km = await kiln.loadLayersModel(await save(m, 'finetune'));
  const x = sample([16, 6], 61);
  const labels = Float32Array.from({ length: 16 * 3 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));
  m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  km.compile({ optimizer: kiln.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  for (let step = 0; step < 5; step++) {
    const lt = await m.trainOnBatch(tf.tensor(x.values, x.shape), tf.tensor(labels, [16, 3]));
    const lk = await km.trainOnBatch(kiln.tensor(x.values, x.shape), kiln.tensor(labels, [16, 3]));
    assert.ok(Math.abs(lk - lt) <= 1e-5 * Math.abs(lt) + 1e-6, `step ${step}: loss ${lk} vs ${lt}`);
  }
  const tw = m.getWeights(), kw = km.getWeights();
  tw.forEach((w, i) => assert.ok(relError(kw[i].dataSync(), w.dataSync()) < 1e-5, `weight ${i}`));
});

test('bad files give clear errors', async () => {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  const url = await save(m, 'bad');
  const path = url.slice('file://'.length);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  const write = (name, content) => { const p = join(dir, name); writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content)); return `file://${p}`; };
  await assert.rejects(kiln.loadLayersModel(`file://${join(dir, 'nowhere.json')}`), /cannot read .*nowhere\.json/);
  await assert.rejects(kiln.loadLayersModel(write('notjson.json', '{oops')), /is not JSON/);
  // A weight file shorter than the manifest says.
  const short = join(dir, 'short');
  mkdirSync(short, { recursive: true });
  writeFileSync(join(short, 'weights.bin'), Buffer.alloc(8));
  writeFileSync(join(short, 'model.json'), JSON.stringify(json));
  await assert.rejects(kiln.loadLayersModel(`file://${join(short, 'model.json')}`), /holds 8 bytes but the manifest describes 32/);
  // Layers Kiln lacks are listed together.
  const lambda = structuredClone(json);
  lambda.modelTopology.config.layers.push({ class_name: 'Lambda', config: { name: 'l1' } }, { class_name: 'RandomWidth', config: { name: 'r1' } });
  lambda.weightsManifest[0].paths = [`${path.slice(0, -'model.json'.length)}weights.bin`.replace(dir + '/', '')];
  await assert.rejects(kiln.loadLayersModel(write('lambda.json', lambda)), /layer classes Kiln does not have: Lambda, RandomWidth/);
  // A weight the model has no place for, and the reverse.
  const extra = structuredClone(json);
  extra.weightsManifest[0].weights[1].name = 'elsewhere/bias';
  extra.weightsManifest[0].paths = ['bad/weights.bin'];
  await assert.rejects(kiln.loadLayersModel(write('extra.json', extra)), /no layer of the model owns: elsewhere\/bias/);
  await assert.rejects(kiln.loadLayersModel(write('extra1.json', extra)), /no layer of the model owns/);
  // Not strict (TF.js's strict: false): what matches loads, the rest keeps its initial value.
  const loose = await kiln.loadLayersModel(write('extra2.json', extra), { strict: false });
  assert.deepEqual(Array.from(loose.getWeights()[0].dataSync()), Array.from(m.getWeights()[0].dataSync()));
  assert.deepEqual(Array.from(loose.getWeights()[1].dataSync()), [0, 0]);
  // A graph model is named as such; unknown options are refused.
  await assert.rejects(kiln.loadLayersModel(write('graph.json', { ...json, format: 'graph-model', weightsManifest: [] })), /graph model/);
  await assert.rejects(kiln.loadLayersModel(url, { fromTFHub: true }), /option 'fromTFHub' is not supported/);
  await assert.rejects(kiln.loadLayersModel('model.json'), /has no scheme; in Node use file:\/\//);
});

test('options a model needs but Kiln lacks are refused, not ignored', async () => {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }) })] });
  const km = await kiln.loadLayersModel(await save(m, 'regularized'));
  comparePredictions(m, km, [sample([2, 3], 70)]);  // predicts as the file says
  assert.throws(() => km.compile({ optimizer: 'sgd', loss: 'meanSquaredError' }), /kernelRegularizer' is not supported in training/);
  // Initializer parameters are honoured (tests/js/tfjs_arguments.test.mjs compares the draws with TF.js's) or refused.
  const bias = kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [3],
    biasInitializer: { className: 'RandomUniform', config: { minval: 4, maxval: 5 } } })] }).getWeights()[1].dataSync();
  assert.ok(bias.every((v) => v >= 4 && v <= 5), `biases ${bias} drawn from [4, 5]`);
  assert.throws(() => kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [3],
    biasInitializer: { className: 'RandomUniform', config: { minval: 1, maxval: 0 } } })] }).build(), /minval must be below maxval/);
});

test('layer.setWeights and getWeights work before the model is used (TF.js builds at once)', () => {
  const dense = kiln.layers.dense({ units: 2, inputShape: [3], useBias: false });
  kiln.sequential({ layers: [dense] });
  const w = kiln.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  dense.setWeights([w]);
  assert.deepEqual(Array.from(dense.getWeights()[0].dataSync()), [1, 2, 3, 4, 5, 6]);
});

test('http(s): loads over fetch with onProgress and weightPathPrefix; save POSTs model.json and weights as TF.js does', async () => {
  const { serve } = await import('../../scripts/serve.mjs');
  const { model, inputs } = TFJS_MODELS.mlp();
  perturb(model, 80);
  await save(model, 'served');
  const server = await serve({ isolated: false, root: dir });
  try {
    const fractions = [];
    const km = await kiln.loadLayersModel(`${server.url}served/model.json`, { onProgress: (f) => fractions.push(f) });
    comparePredictions(model, km, inputs);
    assert.deepEqual(fractions, [0, 1]);
    // Weights somewhere else than beside model.json.
    const moved = JSON.parse(readFileSync(join(dir, 'served', 'model.json'), 'utf8'));
    mkdirSync(join(dir, 'elsewhere'), { recursive: true });
    writeFileSync(join(dir, 'elsewhere', 'model.json'), JSON.stringify(moved));
    const km2 = await kiln.loadLayersModel(`${server.url}elsewhere/model.json`, { weightPathPrefix: `${server.url}served/` });
    comparePredictions(model, km2, inputs);
    await assert.rejects(kiln.loadLayersModel(`${server.url}elsewhere/model.json`), /HTTP 404/);
  } finally {
    await server.close();
  }
  // A POST target that reads the form back.
  const { createServer } = await import('node:http');
  let form;
  const post = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] } }).formData();
      res.writeHead(200).end('{}');
    });
  });
  await new Promise((r) => post.listen(0, '127.0.0.1', r));
  try {
    const result = await km_for_post().save(`http://127.0.0.1:${post.address().port}/upload`);
    assert.equal(result.responses[0].status, 200);
    const json = JSON.parse(await form.get('model.json').text());
    assert.deepEqual(json.weightsManifest[0].paths, ['./model.weights.bin']);
    const weights = await form.get('model.weights.bin').arrayBuffer();
    const tm = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: weights }));
    comparePredictions(tm, km_for_post(), [sample([2, 4], 81)]);
  } finally {
    post.close();
  }
});
let postModel;
function km_for_post() {
  postModel ??= kiln.sequential({ seed: 8, layers: [kiln.layers.dense({ units: 3, activation: 'relu', inputShape: [4] }), kiln.layers.dense({ units: 2 })] });
  return postModel;
}

test('Keras 3 positional weight names ("dense/0") load by position', async () => {
  const { model, inputs } = TFJS_MODELS.mlp();
  perturb(model, 90);
  const url = await save(model, 'positional', (a) => {
    const count = new Map();
    return { ...a, weightSpecs: a.weightSpecs.map((s) => {
      const layer = s.name.slice(0, s.name.lastIndexOf('/'));
      const k = count.get(layer) ?? 0;
      count.set(layer, k + 1);
      return { ...s, name: `${layer}/${k}` };
    }) };
  });
  comparePredictions(model, await kiln.loadLayersModel(url), inputs);
});
