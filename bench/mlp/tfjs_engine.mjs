// TensorFlow.js engine of the MLP benchmark: the same model through
// tf.sequential / tf.layers.dense, trainOnBatch and predict, on the 'cpu',
// 'wasm' or (in the page) 'webgl' or 'webgpu' backend. The caller passes `tf` (Node: the @tensorflow/tfjs package;
// page: the global from tf.min.js) and, for wasm, the backend-wasm namespace
// with setWasmPaths / getThreadsCount (page: tf.wasm).
import { BATCH, CLASSES, INPUT, LEARNING_RATE, runGrid, tfjsFormatBytes } from './common.mjs';

/**
 * @param tf        the TF.js namespace
 * @param options   { backend: 'cpu' | 'wasm' | 'webgl' | 'webgpu', wasm, wasmPaths, threads (wasm), cells, protocol, log,
 *                    budgetMs (see runGrid; the software WebGPU adapter is slow) }
 * @returns         { engine, info, results }
 */
export async function runTfjs(tf, { backend, wasm, wasmPaths, threads, cells, protocol, log = () => {}, budgetMs }) {
  const t0 = performance.now();
  if (backend === 'wasm') {
    if (!wasm) throw new Error('tfjs wasm: the backend-wasm namespace was not given');
    wasm.setWasmPaths(wasmPaths);
    // TF.js's default thread count comes from the wasm runtime's idea of the
    // core count (1 here); ask for `threads` explicitly, as Kiln does. It
    // only matters where the threaded-SIMD flavour loads (the browser).
    if (threads && (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))) wasm.setThreadsCount(threads);
  }
  const ok = await tf.setBackend(backend);
  if (!ok || tf.getBackend() !== backend) throw new Error(`tf.setBackend('${backend}') failed (got ${tf.getBackend()})`);
  await tf.ready();
  const loadMs = performance.now() - t0;
  const info = {
    backend: tf.getBackend(), version: tf.version?.tfjs ?? tf.version_core ?? null, loadMs: Math.round(loadMs),
    requestedThreads: backend === 'wasm' ? threads ?? null : 1,
  };
  if (backend === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    info.wasmSimd = simd;
    info.wasmMultithread = mt;
    info.wasmFlavour = simd && mt ? 'tfjs-backend-wasm-threaded-simd' : simd ? 'tfjs-backend-wasm-simd' : 'tfjs-backend-wasm';
    try { info.threads = wasm.getThreadsCount(); } catch { info.threads = null; }
  } else {
    info.threads = 1;
  }
  if (backend === 'webgpu') {
    // What the adapter is, from the backend's own adapter (headless Chromium here: SwiftShader's fallback adapter).
    const a = tf.backend().adapterInfo ?? {};
    info.gpu = `WebGPU adapter: ${[a.vendor, a.architecture].filter(Boolean).join(' ') || 'unnamed'}`;
  }
  if (backend === 'webgl') {
    // What the GPU is (headless Chromium here: SwiftShader, a software renderer).
    try {
      const gl = tf.backend().gpgpu.gl;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      info.gpu = gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
    } catch (e) { info.gpu = `unknown (${e.message})`; }
  }
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
