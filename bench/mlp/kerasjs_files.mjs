// Keras.js model files for the MLP benchmark. Keras.js 1.0.3 loads only its
// own format: a protobuf (its lib/proto.js schema) that its Python encoder
// makes from a Keras 2.1 HDF5 file. Keras is not installed here, so this
// writes that protobuf directly, with Keras.js's own schema and protobuf code:
// the Sequential model config as Keras 2.1 saved it (a list of layers; the
// first carries batch_input_shape) and one float32 entry per weight, named
// `<layer>/kernel:0` and `<layer>/bias:0` as Keras names them. Weights are
// Glorot-uniform from the benchmark's seed (biases zero). mlpReference computes
// the same model in plain JS, to check Keras.js reads the file as meant. Node only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CLASSES, INPUT, SEED, rng } from './common.mjs';
import { kerasJsFileName } from './peer_engines.mjs';

const requirePeers = createRequire(new URL('../peers/package.json', import.meta.url));

/** The MLP's seeded layers: [{ kernel (fanIn x fanOut, row-major), bias, fanIn, fanOut }]. */
function mlpLayers({ depth, width }) {
  const r = rng(SEED);
  const sizes = [INPUT, ...Array(depth).fill(width), CLASSES];
  return sizes.slice(1).map((fanOut, i) => {
    const fanIn = sizes[i], limit = Math.sqrt(6 / (fanIn + fanOut));
    return { fanIn, fanOut, kernel: Float32Array.from({ length: fanIn * fanOut }, () => (2 * r() - 1) * limit), bias: new Float32Array(fanOut) };
  });
}

/**
 * The same MLP's output for one sample, computed here in float64 from the same weights: the
 * reference the Node engine checks Keras.js's first prediction against.
 */
export function mlpReference(cell, x) {
  let h = Float64Array.from(x);
  const layers = mlpLayers(cell);
  layers.forEach(({ kernel, bias, fanIn, fanOut }, l) => {
    const out = Float64Array.from(bias);
    for (let i = 0; i < fanIn; i++) for (let j = 0; j < fanOut; j++) out[j] += h[i] * kernel[i * fanOut + j];
    if (l < layers.length - 1) for (let j = 0; j < fanOut; j++) out[j] = Math.max(0, out[j]);
    h = out;
  });
  const m = Math.max(...h), e = h.map((v) => Math.exp(v - m)), sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** The Keras.js file (bytes) of the MLP `depth` x `width` (relu hidden layers, softmax output). */
function kerasJsMlpBytes({ depth, width }) {
  const proto = requirePeers('keras-js/lib/proto.js').default;
  const layers = [], weights = [];
  const dense = mlpLayers({ depth, width });
  dense.forEach(({ kernel, bias, fanIn, fanOut }, i) => {
    const name = `dense_${i + 1}`;
    layers.push({ class_name: 'Dense', config: { name, units: fanOut, activation: i === dense.length - 1 ? 'softmax' : 'relu', use_bias: true,
      ...(i === 0 ? { batch_input_shape: [null, INPUT] } : {}) } });
    for (const [w, shape, data] of [['kernel', [fanIn, fanOut], kernel], ['bias', [fanOut], bias]])
      weights.push(proto.Weights.create({ layerName: name, weightName: `${name}/${w}:0`, shape, type: 'float32', data: new Uint8Array(data.buffer) }));
  });
  const model = proto.Model.create({ id: `mlp-d${depth}-w${width}`, name: `mlp-d${depth}-w${width}`, kerasVersion: '2.1.2', backend: 'tensorflow',
    modelConfig: JSON.stringify({ class_name: 'Sequential', config: layers }), modelWeights: weights });
  return proto.Model.encode(model).finish();
}

/** Writes every cell's file into `dir` (the page fetches them from there). */
export function writeKerasJsMlps(dir, cells) {
  mkdirSync(dir, { recursive: true });
  for (const cell of cells) writeFileSync(join(dir, kerasJsFileName(cell)), kerasJsMlpBytes(cell));
}
