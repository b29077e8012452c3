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
import { heapU8, mod } from '../lib/backend.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(ROOT, 'build-fuzz/corpus');
const dirs = Object.fromEntries(['onnx', 'kiln_model', 'topology', 'tf_graph'].map((d) => [d, join(out, d)]));
for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
const MAX_SEED = 256 * 1024;  // larger seeds only slow every execution down
let count = 0;
const put = (dir, name, bytes) => {
  if (bytes.length > MAX_SEED) return;
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

// TF.js graph models: what loadGraphModel hands the core, captured on its way in.
const m = mod();
const load = m._kiln_tfjs_graph_load;
let captured = null;
m._kiln_tfjs_graph_load = (manifest, data, size) => {
  captured = Buffer.concat([Buffer.from(m.UTF8ToString(manifest)), Buffer.from([0]), Buffer.from(heapU8().subarray(data, data + size))]);
  return load(manifest, data, size);
};
const human = join(ROOT, 'node_modules/@vladmandic/human/models');
for (const name of ['antispoof', 'liveness', 'emotion', 'iris', 'blazeface']) {
  const path = join(human, `${name}.json`);
  if (!existsSync(path)) continue;
  const gm = await kiln.loadGraphModel(`file://${path}`);
  gm.dispose();
  if (captured) put(dirs.tf_graph, `${name}.bin`, captured);
  captured = null;
}
m._kiln_tfjs_graph_load = load;
console.log(`${count} seeds in ${out}`);
