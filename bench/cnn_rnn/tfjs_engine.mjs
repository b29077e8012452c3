// TensorFlow.js engine of the CNN / RNN benchmark: each model through
// tf.sequential + tf.layers.*, trainOnBatch and predict, on the 'cpu', 'wasm'
// or 'webgl' backend. The caller passes `tf` (Node: @tensorflow/tfjs; page:
// the tf.min.js global) and, for wasm, the backend-wasm namespace.
import { initTfjsBackend } from '../common/tfjs_backend.mjs';
import { runModels } from '../common/run_models.mjs';
import { BATCH, CLASSES, LEARNING_RATE, dataFor, layerConfigs } from './models.mjs';

/**
 * Config added to the shared spec in TF.js only. TF.js's default recurrent
 * initializer ('orthogonal') runs a QR decomposition through TF.js ops that
 * takes ~40 s on the cpu backend and ~60 s on SwiftShader webgl per 128-unit
 * LSTM layer here (TF.js itself warns: "Orthogonal initializer is being called
 * on a matrix with more than 2000 elements: Slowness may result"). Initial
 * values do not change the work a training step or a prediction does, so the
 * TF.js engine uses glorotUniform for the recurrent kernel and the build stays
 * out of the run's time budget. Recorded in info.configOverrides.
 */
export const OVERRIDES = { lstm: { recurrentInitializer: 'glorotUniform' } };

/**
 * @param tf       the TF.js namespace
 * @param options  { backend, wasm, wasmPaths, threads, specs, protocol, log, onRecord }
 * @returns        { engine, info, results }
 */
export async function runTfjs(tf, { backend, wasm, wasmPaths, threads, specs, protocol, log = () => {}, onRecord }) {
  const info = await initTfjsBackend(tf, { backend, wasm, wasmPaths, threads });
  log(`tfjs ${backend}: ${JSON.stringify(info)}`);
  const before = tf.memory().numTensors;
  info.params = {};
  info.configOverrides = OVERRIDES;
  const adapter = {
    name: `tfjs-${backend}`,
    build(spec, data) {
      const shape = (n) => [n, ...spec.inputShape];
      const tensors = {
        y: tf.tensor2d(data.y, [BATCH, CLASSES]),
        batches: data.batches.map((b) => tf.tensor(b, shape(BATCH))),
        samples: data.samples.map((v) => tf.tensor(v, shape(1))),
      };
      const model = tf.sequential();
      for (const { type, config } of layerConfigs(spec)) model.add(tf.layers[type]({ ...config, ...(OVERRIDES[type] ?? {}) }));
      model.compile({ optimizer: tf.train.sgd(LEARNING_RATE), loss: 'categoricalCrossentropy' });
      info.params[spec.id] = model.countParams();
      return { model, tensors };
    },
    async train({ model, tensors }) {
      return model.trainOnBatch(tensors.batches[0], tensors.y);
    },
    predict({ model, tensors }, { batch, index }) {
      const out = model.predict(batch === 1 ? tensors.samples[index] : tensors.batches[index]);
      const values = out.dataSync();
      out.dispose();
      return values;
    },
    dispose({ model, tensors }) {
      for (const t of [tensors.y, ...tensors.batches, ...tensors.samples]) t.dispose();
      model.optimizer?.dispose?.();
      model.dispose();
    },
  };
  const results = await runModels(adapter, { specs, dataFor, protocol, log, onRecord });
  info.leakedTensors = tf.memory().numTensors - before;
  return { engine: `tfjs-${backend}`, info, results };
}
