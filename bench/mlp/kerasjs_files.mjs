// Keras.js model files for the MLP benchmark. Keras.js 1.0.3 loads only its
// own format: a protobuf (its lib/proto.js schema) that its Python encoder
// makes from a Keras 2.1 HDF5 file. Keras is not installed here, so this
// writes that protobuf directly, with Keras.js's own schema and protobuf code:
// the Sequential model config as Keras 2.1 saved it (a list of layers; the
// first carries batch_input_shape) and one float32 entry per weight, named
// `<layer>/kernel:0` and `<layer>/bias:0` as Keras names them. Weights are
// Glorot-uniform from the benchmark's seed (biases zero). Node only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CLASSES, INPUT, SEED, rng } from './common.mjs';

const requirePeers = createRequire(new URL('../peers/package.json', import.meta.url));

/** The Keras.js file (bytes) of the MLP `depth` x `width` (relu hidden layers, softmax output). */
export function kerasJsMlpBytes({ depth, width }) {
  const proto = requirePeers('keras-js/lib/proto.js').default;
  const r = rng(SEED);
  const layers = [], weights = [];
  const sizes = [INPUT, ...Array(depth).fill(width), CLASSES];
  for (let i = 1; i < sizes.length; i++) {
    const name = `dense_${i}`, fanIn = sizes[i - 1], fanOut = sizes[i];
    layers.push({ class_name: 'Dense', config: { name, units: fanOut, activation: i === sizes.length - 1 ? 'softmax' : 'relu', use_bias: true,
      ...(i === 1 ? { batch_input_shape: [null, INPUT] } : {}) } });
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const kernel = Float32Array.from({ length: fanIn * fanOut }, () => (2 * r() - 1) * limit);
    const bias = new Float32Array(fanOut);
    for (const [w, shape, data] of [['kernel', [fanIn, fanOut], kernel], ['bias', [fanOut], bias]])
      weights.push(proto.Weights.create({ layerName: name, weightName: `${name}/${w}:0`, shape, type: 'float32', data: new Uint8Array(data.buffer) }));
  }
  const model = proto.Model.create({ id: `mlp-d${depth}-w${width}`, name: `mlp-d${depth}-w${width}`, kerasVersion: '2.1.2', backend: 'tensorflow',
    modelConfig: JSON.stringify({ class_name: 'Sequential', config: layers }), modelWeights: weights });
  return proto.Model.encode(model).finish();
}

const kerasJsFileName = ({ depth, width }) => `mlp-d${depth}-w${width}.bin`;

/** Writes every cell's file into `dir` (the page fetches them from there). */
export function writeKerasJsMlps(dir, cells) {
  mkdirSync(dir, { recursive: true });
  for (const cell of cells) writeFileSync(join(dir, kerasJsFileName(cell)), kerasJsMlpBytes(cell));
}
