// Seed corpora for the libFuzzer harnesses (tests/fuzz), generated from the
// test fixtures and the models the tests use: `node scripts/make_fuzz_corpus.mjs DIR`
// writes DIR/onnx (ONNX and Kiln graph files), DIR/kiln_model (Kiln model
// files), DIR/topology (Layers topologies as JSON) and DIR/tf_graph (TF.js
// graph models as the core receives them: the manifest, a NUL byte, the weights).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kiln from '../lib/index.js';
const { heapU8, wasmModule: mod } = kiln.internals;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(ROOT, 'build-asan-clang/corpus');
const dirs = Object.fromEntries(['onnx', 'kiln_model', 'topology', 'tf_graph'].map((d) => [d, join(out, d)]));
for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
const MAX_SEED = 256 * 1024;  // larger seeds only slow every execution down
let count = 0;
const put = (dir, name, bytes, max = MAX_SEED) => {
  if (bytes.length > max) return;
  writeFileSync(join(dir, name.replace(/[^A-Za-z0-9_.-]/g, '_')), bytes);
  count++;
};

// ONNX: the repo's fixtures, ONNX's own node test models, the small zoo models, Kiln graph conversions.
const walk = (dir, fn) => {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, fn);
    else fn(p);
  }
};
walk(join(ROOT, 'tests/fixtures'), (p) => p.endsWith('.onnx') && put(dirs.onnx, `fixture_${basename(p)}`, readFileSync(p)));
// Earlier findings (tests/fixtures/fuzz/<harness>/): each stays in its harness's seeds.
for (const d of Object.keys(dirs)) walk(join(ROOT, 'tests/fixtures/fuzz', d), (p) => put(dirs[d], `finding_${basename(p)}`, readFileSync(p), 4 << 20));
walk('/usr/share/libonnx-testdata/data/node', (p) => p.endsWith('model.onnx') && put(dirs.onnx, `node_${basename(dirname(p))}.onnx`, readFileSync(p)));
walk(join(ROOT, 'build/zoo'), (p) => p.endsWith('.onnx') && put(dirs.onnx, `zoo_${basename(p)}`, readFileSync(p)));
const cli = join(ROOT, 'build/kiln');
for (const flag of ['', '--fp16', '--int8']) {
  const target = join(out, `cnn${flag.replace('--', '_')}.kiln`);
  execFileSync(cli, ['convert', join(ROOT, 'tests/fixtures/onnx_models/cnn.onnx'), target, ...(flag ? [flag] : [])]);
  put(dirs.onnx, `kiln_graph_cnn${flag.replace('--', '_')}.kiln`, readFileSync(target));
}

// Layers models: their topologies, and their Kiln files with and without optimizer state.
await kiln.ready({ quiet: true });
const L = kiln.layers;
const models = {
  mlp: () => [L.dense({ units: 8, activation: 'relu', inputShape: [6] }), L.dropout({ rate: 0.2 }), L.dense({ units: 3, activation: 'softmax' })],
  cnn: () => [L.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 2] }), L.batchNormalization(),
    L.maxPooling2d({ poolSize: 2 }), L.depthwiseConv2d({ kernelSize: 2 }), L.flatten(), L.dense({ units: 2, activation: 'softmax' })],
  lstm: () => [L.lstm({ units: 4, returnSequences: true, inputShape: [5, 3] }), L.gru({ units: 3 }), L.dense({ units: 2 })],
  rnn: () => [L.embedding({ inputDim: 10, outputDim: 4, inputLength: 6 }), L.simpleRNN({ units: 3 }), L.dense({ units: 1, activation: 'sigmoid' })],
  conv1d: () => [L.conv1d({ filters: 3, kernelSize: 2, inputShape: [7, 2] }), L.globalAveragePooling1d(), L.dense({ units: 2 })],
};
for (const [name, layers] of Object.entries(models)) {
  const m = kiln.sequential({ seed: 1, layers: layers() });
  m.compile({ optimizer: kiln.train.adam(0.01), loss: 'meanSquaredError' });
  put(dirs.topology, `${name}.json`, Buffer.from(m.toJSON()));
  put(dirs.kiln_model, `${name}.kiln`, await m.save());
  put(dirs.kiln_model, `${name}_optimizer.kiln`, await m.save({ includeOptimizer: true }));
  m.dispose();
}

// TF.js graph models: small hand-made graphs (NHWC convolutions, pooling,
// matmul, softmax, concat), and two real detectors, as loadGraphModel hands
// them to the core (captured on their way in).
const b64 = (text) => Buffer.from(text).toString('base64');
const node = (name, op, input, attr = {}) => ({ name, op, input, attr });
const floatT = { T: { type: 'DT_FLOAT' } };
const placeholder = (shape) => node('x', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } });
const constant = (name, dtype = 'DT_FLOAT') => node(name, 'Const', [], { dtype: { type: dtype } });
const ints = (v) => ({ list: { i: v.map(String) } });
const handMade = {
  conv_pool: {
    nodes: [placeholder([-1, 6, 6, 3]), constant('filter'), constant('bias'), constant('shape', 'DT_INT32'),
      node('conv', '_FusedConv2D', ['x', 'filter', 'bias'], { ...floatT, strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, num_args: { i: '1' },
        fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]) }),
      node('pool', 'MaxPool', ['conv'], { ksize: ints([1, 2, 2, 1]), strides: ints([1, 2, 2, 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } }),
      node('flat', 'Reshape', ['pool', 'shape'], floatT)],
    weights: [['filter', 'float32', [3, 3, 3, 4]], ['bias', 'float32', [4]], ['shape', 'int32', [2], [-1, 36]]],
  },
  matmul_softmax: {
    nodes: [placeholder([-1, 5]), constant('w'), constant('b'),
      node('mm', 'MatMul', ['x', 'w'], { ...floatT, transpose_a: { b: false }, transpose_b: { b: false } }),
      node('add', 'AddV2', ['mm', 'b'], floatT), node('sm', 'Softmax', ['add'], floatT)],
    weights: [['w', 'float32', [5, 3]], ['b', 'float32', [3]]],
  },
  depthwise_concat: {
    nodes: [placeholder([1, 5, 5, 2]), constant('dw'), constant('axis', 'DT_INT32'),
      node('d', 'DepthwiseConv2dNative', ['x', 'dw'], { ...floatT, strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]) }),
      node('r6', 'Relu6', ['d'], floatT), node('cat', 'ConcatV2', ['x', 'r6', 'axis'], { ...floatT, N: { i: '2' } }),
      node('mean', 'Mean', ['cat', 'axis'], { ...floatT, keep_dims: { b: true } })],
    weights: [['dw', 'float32', [3, 3, 2, 1]], ['axis', 'int32', [], [3]]],
  },
};
for (const [name, g] of Object.entries(handMade)) {
  const chunks = [];
  let offset = 0;
  const entries = g.weights.map(([wname, dtype, shape, values]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = dtype === 'int32' ? Int32Array.from(values) : Float32Array.from({ length: count }, (_, i) => Math.sin(i + 1) * 0.5);
    chunks.push(Buffer.from(data.buffer));
    const entry = { name: wname, dtype, shape, offset };
    offset += data.byteLength;
    return entry;
  });
  const manifest = JSON.stringify({ modelTopology: { node: g.nodes }, signature: null, weights: entries });
  put(dirs.tf_graph, `${name}.bin`, Buffer.concat([Buffer.from(manifest), Buffer.from([0]), ...chunks]));
}

const m = mod();
const load = m._kiln_tfjs_graph_load;
let captured = null;
m._kiln_tfjs_graph_load = (manifest, data, size) => {
  captured = Buffer.concat([Buffer.from(m.UTF8ToString(manifest)), Buffer.from([0]), Buffer.from(heapU8().subarray(data, data + size))]);
  return load(manifest, data, size);
};
const human = join(ROOT, 'node_modules/@vladmandic/human/models');
for (const name of ['antispoof', 'blazeface']) {
  const path = join(human, `${name}.json`);
  if (!existsSync(path)) continue;
  const gm = await kiln.loadGraphModel(`file://${path}`);
  gm.dispose();
  if (captured) put(dirs.tf_graph, `${name}.bin`, captured, 4 << 20);
  captured = null;
}
m._kiln_tfjs_graph_load = load;
console.log(`${count} seeds in ${out}`);
