// Page side of the cold-start benchmark (see page.html). Times, in ms:
//   pageMs:  navigation start -> this module running (the same for every engine);
//   readyMs: importing the engine (its JS and wasm fetched, compiled, threads
//            started) -> ready to build a model;
//   firstMs: importing the engine -> the first prediction read back, the model
//            built (mlp: a 784-128-10 MLP, created in code as a page would) or
//            fetched and loaded (mobilenet: torchvision's MobileNetV2 as
//            ONNX, fetched while the engine loads, as a page would);
//   navToFirstMs: navigation start -> the first prediction.
import { fetchBytes, loadScript } from '../common/page_loading.mjs';
const params = new URLSearchParams(location.search);
const engine = params.get('engine');
const task = params.get('task');
const now = () => performance.now();

const MLP_INPUT = 784;
const sample = Float32Array.from({ length: MLP_INPUT }, (_, i) => Math.sin(i));
const TFJS = '/node_modules/@tensorflow/tfjs/dist/';
const TFJS_WASM = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
const ORT = '/node_modules/onnxruntime-web/dist/';

// Each: load() -> info (engine ready); then mlp() or mobilenet(bytesPromise) -> output values.
const ENGINES = {
  kiln: (variant) => ({
    async load() {
      this.k = await import('/lib/index.js');
      const b = await this.k.ready({ variant, threads: variant === 'threaded' ? 2 : 1, quiet: true });
      return { variant: b.variant, threads: b.threads };
    },
    mlp() {
      const k = this.k;
      const model = k.sequential({ layers: [
        k.layers.dense({ units: 128, activation: 'relu', inputShape: [MLP_INPUT] }),
        k.layers.dense({ units: 10, activation: 'softmax' }),
      ] });
      return model.predict(k.tensor(sample, [1, MLP_INPUT])).dataSync();
    },
    async mobilenet(bytes) {
      const s = await this.k.onnx.load(await bytes);
      const out = await s.run({ [s.inputNames[0]]: this.k.tensor(new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
      return out[s.outputNames[0]].dataSync();
    },
  }),
  tfjs: (backend) => ({
    async load() {
      await loadScript(`${TFJS}tf.min.js`);
      if (backend === 'wasm') {
        await loadScript(`${TFJS_WASM}tf-backend-wasm.min.js`);
        window.tf.wasm.setWasmPaths(new URL(TFJS_WASM, location.href).href);
      }
      await window.tf.setBackend(backend);
      await window.tf.ready();
      return { backend: window.tf.getBackend(), version: window.tf.version.tfjs };
    },
    mlp() {
      const tf = window.tf;
      const model = tf.sequential({ layers: [
        tf.layers.dense({ units: 128, activation: 'relu', inputShape: [MLP_INPUT] }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ] });
      return model.predict(tf.tensor2d(sample, [1, MLP_INPUT])).dataSync();
    },
  }),
  ort: (threads) => ({
    async load() {
      this.ort = await import(`${ORT}ort.wasm.min.mjs`);
      this.ort.env.wasm.numThreads = threads;
      this.ort.env.wasm.wasmPaths = new URL(ORT, location.href).href;
      return { threads };
    },
    async mobilenet(bytes) {
      const s = await this.ort.InferenceSession.create(await bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const out = await s.run({ [s.inputNames[0]]: new this.ort.Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
      return out[s.outputNames[0]].data;
    },
  }),
};

function engineFor(name) {
  switch (name) {
    case 'kiln-st': return ENGINES.kiln('single');
    case 'kiln-mt': return ENGINES.kiln('threaded');
    case 'tfjs-cpu': return ENGINES.tfjs('cpu');
    case 'tfjs-wasm': return ENGINES.tfjs('wasm');
    case 'ort-web-1': return ENGINES.ort(1);
    case 'ort-web-2': return ENGINES.ort(2);
    default: throw new Error(`unknown engine '${name}'`);
  }
}

async function run() {
  const pageMs = now();
  const e = engineFor(engine);
  if (!e[task]) throw new Error(`${engine} has no ${task} task`);
  const t0 = now();
  // The model file is fetched while the engine loads.
  const bytes = task === 'mobilenet' ? fetchBytes('/build/torchvision/mobilenet_v2.onnx') : null;
  const info = await e.load();
  const t1 = now();
  const y = await e[task](bytes);
  const t2 = now();
  if (!y || !y.length || !Number.isFinite(y[0])) throw new Error('no output');
  return { engine, task, info, pageMs, readyMs: t1 - t0, firstMs: t2 - t0, navToFirstMs: t2, outputs: y.length };
}

run().then(
  (r) => { window.__result = r; },
  (e) => { window.__result = { engine, task, error: String(e && e.stack || e) }; },
);
