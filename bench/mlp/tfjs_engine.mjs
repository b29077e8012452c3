// TensorFlow.js engine of the MLP benchmark: the same model through
// tf.sequential / tf.layers.dense, trainOnBatch and predict, on the 'cpu',
// 'wasm' or (in the page) 'webgl' or 'webgpu' backend. The caller passes `tf` (Node: the @tensorflow/tfjs package;
// page: the global from tf.min.js) and, for wasm, the backend-wasm namespace
// with setWasmPaths / getThreadsCount (page: tf.wasm).
import { BATCH, CLASSES, INPUT, LEARNING_RATE, runGrid, tfjsFormatBytes } from './common.mjs';
import { initTfjsBackend } from '../common/tfjs_backend.mjs';

/**
 * @param tf        the TF.js namespace
 * @param options   { backend: 'cpu' | 'wasm' | 'webgl' | 'webgpu', wasm, wasmPaths, threads (wasm), cells, protocol, log,
 *                    budgetMs (see runGrid; the software WebGPU adapter is slow) }
 * @returns         { engine, info, results }
 */
export async function runTfjs(tf, { backend, wasm, wasmPaths, threads, cells, protocol, log = () => {}, budgetMs }) {
  const info = await initTfjsBackend(tf, { backend, wasm, wasmPaths, threads });
  log(`tfjs ${backend}: ${JSON.stringify(info)}`);

  let tensors = null;
  const adapter = {
    name: `tfjs-${backend}`,
    build({ depth, width }, data) {
      tensors ??= {
        y: tf.tensor2d(data.y, [BATCH, CLASSES]),
        batches: data.batches.map((b) => tf.tensor2d(b, [BATCH, INPUT])),
        samples: data.samples.map((v) => tf.tensor2d(v, [1, INPUT])),
      };
      const model = tf.sequential();
      for (let d = 0; d < depth; d++)
        model.add(tf.layers.dense({ units: width, activation: 'relu', ...(d === 0 ? { inputShape: [INPUT] } : {}) }));
      model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax' }));
      model.compile({ optimizer: tf.train.sgd(LEARNING_RATE), loss: 'categoricalCrossentropy' });
      return model;
    },
    async train(model) {
      return model.trainOnBatch(tensors.batches[0], tensors.y);
    },
    // WebGPU cannot read back synchronously (TF.js warns, and Chromium's WebGPU then fails): it reads with data().
    predict: backend === 'webgpu'
      ? async (model, { batch, index }) => {
        const out = model.predict(batch === 1 ? tensors.samples[index] : tensors.batches[index]);
        const values = await out.data();
        out.dispose();
        return values;
      }
      : (model, { batch, index }) => {
        const out = model.predict(batch === 1 ? tensors.samples[index] : tensors.batches[index]);
        const values = out.dataSync();
        out.dispose();
        return values;
      },
    async save(model) {
      return { 'TF.js layers format (model.json + weights.bin)': await tfjsFormatBytes(model, tf.io) };
    },
    dispose(model) {
      model.optimizer?.dispose?.();
      model.dispose();
    },
  };
  const before = tf.memory().numTensors;
  const results = await runGrid(adapter, { cells, protocol, log, budgetMs });
  if (tensors) for (const t of [tensors.y, ...tensors.batches, ...tensors.samples]) t.dispose();
  info.leakedTensors = tf.memory().numTensors - before;
  return { engine: `tfjs-${backend}`, info, results };
}
