// The CNN / RNN benchmark's models, data and timing settings, shared by every
// engine in Node and in the page. No Node or DOM imports.
//
// A model is a declarative spec: layer types and configs use TF.js's Layers
// API names, so the Kiln and TF.js engines build the same model with
// `lib.layers[type]({...config})` (inputShape added to the first layer), and
// the ConvNetJS engine translates the same list.
import { makeData, SEED } from '../common/data.mjs';

/** Engines per environment (one process / page load each, in this order). Node has no WebGL. */
export const BROWSER_ENGINES = ['kiln-wasm-single', 'kiln-wasm-threaded', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgl', 'convnetjs'];
export const NODE_ENGINES = ['kiln-wasm-single', 'kiln-wasm-threaded', 'tfjs-cpu', 'tfjs-wasm', 'convnetjs'];
export const KILN_ENGINES = ['kiln-wasm-single', 'kiln-wasm-threaded'];
export const PEER_ENGINES = ['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgl', 'convnetjs'];
export const TFJS_ENGINES = ['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgl'];

export const BATCH = 32;
export const CLASSES = 10;
export const LEARNING_RATE = 0.01;
export { SEED };

export const MODELS = {
  cnn: {
    id: 'cnn',
    title: 'LeNet-5 style CNN',
    inputShape: [28, 28, 1],
    layers: [
      { type: 'conv2d', filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' },
      { type: 'maxPooling2d', poolSize: 2 },
      { type: 'conv2d', filters: 16, kernelSize: 5, padding: 'valid', activation: 'relu' },
      { type: 'maxPooling2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 120, activation: 'relu' },
      { type: 'dense', units: 84, activation: 'relu' },
      { type: 'dense', units: CLASSES, activation: 'softmax' },
    ],
  },
  lstm: {
    id: 'lstm',
    title: '2-layer LSTM',
    inputShape: [28, 28],
    layers: [
      { type: 'lstm', units: 128, returnSequences: true },
      { type: 'lstm', units: 128 },
      { type: 'dense', units: CLASSES, activation: 'softmax' },
    ],
  },
};
export const MODEL_IDS = Object.keys(MODELS);

/** The layer types a spec uses (for checking that an engine has them). */
export const layerTypes = (spec) => [...new Set(spec.layers.map((l) => l.type))];

/** Layer configs with inputShape on the first, for lib.layers[type](config) in Kiln and TF.js. */
export function layerConfigs(spec) {
  return spec.layers.map(({ type, ...config }, i) => ({ type, config: i === 0 ? { ...config, inputShape: spec.inputShape } : config }));
}

/**
 * Shapes, parameter count and forward multiply-adds per sample, computed from
 * the spec (so the report and the engines' own parameter counts can be checked
 * against each other).
 */
export function describeModel(spec) {
  let shape = [...spec.inputShape];
  let params = 0, macs = 0;
  const shapes = [];
  for (const l of spec.layers) {
    if (l.type === 'conv2d') {
      const [h, w, c] = shape, k = l.kernelSize;
      const [oh, ow] = l.padding === 'same' ? [h, w] : [h - k + 1, w - k + 1];
      params += k * k * c * l.filters + l.filters;
      macs += oh * ow * l.filters * k * k * c;
      shape = [oh, ow, l.filters];
    } else if (l.type === 'maxPooling2d') {
      shape = [Math.floor(shape[0] / l.poolSize), Math.floor(shape[1] / l.poolSize), shape[2]];
    } else if (l.type === 'flatten') {
      shape = [shape.reduce((a, b) => a * b, 1)];
    } else if (l.type === 'dense') {
      const n = shape[shape.length - 1];
      params += n * l.units + l.units;
      macs += n * l.units;
      shape = [l.units];
    } else if (l.type === 'lstm') {
      const [steps, features] = shape, u = l.units;
      params += 4 * u * (features + u + 1);
      macs += steps * 4 * u * (features + u);
      shape = l.returnSequences ? [steps, u] : [u];
    } else {
      throw new Error(`describeModel: unknown layer type ${l.type}`);
    }
    shapes.push(shape);
  }
  return { params, forwardMacsPerSample: macs, outputShapes: shapes };
}

/** Every model's data comes from the same seed: x values in [0, 1), random one-hot labels. */
const dataCache = new Map();
export function dataFor(spec) {
  const sampleSize = spec.inputShape.reduce((a, b) => a * b, 1);
  if (!dataCache.has(sampleSize)) dataCache.set(sampleSize, makeData({ batch: BATCH, sampleSize, classes: CLASSES, seed: SEED }));
  return dataCache.get(sampleSize);
}

/**
 * Timing settings (bench/common/measure.mjs: bench/mlp/common.mjs's measure()
 * plus a time budget): up to `warmupIters` untimed calls (stopping once they
 * took `warmupMs`, after at least one), one timed call to pick k (about
 * `targetMs` per run, within [minIters, maxIters]), then `reps` runs of k
 * calls, fewer (down to `minReps`) where the runs would take more than
 * `budgetMs`; the median over runs of (run time / k) is reported. minIters is
 * 1 because a training step of the slower peers takes seconds: then each run
 * is one call and the value is the median of single calls.
 */
export const FULL_PROTOCOL = { reps: 7, minReps: 3, targetMs: 150, minIters: 1, maxIters: 200, warmupIters: 3, warmupMs: 2000, budgetMs: 8000 };
export const QUICK_PROTOCOL = { reps: 3, minReps: 3, targetMs: 40, minIters: 1, maxIters: 50, warmupIters: 1, warmupMs: 1000, budgetMs: 3000 };
