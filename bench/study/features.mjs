// Table 1 of the study (RQ1: what each framework offers), derived from the
// installed packages wherever it can be: exported names, what a layer or
// optimizer factory accepts, which files ship. Every cell is
// { value, source } and carries `judgement: true` where it is read from the
// documentation rather than derived here.
//   node bench/study/features.mjs [--kiln lib/index.js] > features.json
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fileSize } from '../common/page_download.mjs';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PEERS = join(ROOT, 'bench/peers');
const requireRoot = createRequire(join(ROOT, 'package.json'));
const requirePeers = createRequire(join(PEERS, 'package.json'));

const derived = (value, source) => ({ value, source });
const judged = (value, source) => ({ value, source, judgement: true });

/** Activation names tried against each framework's dense layer: the union of the ones any of them documents. */
const ACTIVATION_CANDIDATES = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'hard_sigmoid', 'tanh', 'softmax',
  'logSoftmax', 'softplus', 'softsign', 'swish', 'mish', 'gelu', 'gelu_new', 'exponential', 'leakyRelu', 'leaky_relu', 'prelu'];

function packageVersion(require, name) {
  // Read the file: a package's "exports" may hide its package.json from require.
  try { return JSON.parse(readFileSync(join(require.resolve(name).split(`/node_modules/${name}/`)[0], 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return null; }
}

/** Bytes on disk of a package folder (what `npm install` leaves). */
function folderBytes(dir) {
  let total = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p); else if (e.isFile()) total += statSync(p).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return total;
}

/** What a page loads: the listed files (absolute paths), their bytes and gzip -9 bytes. */
function pageBytes(files) {
  const sizes = files.map((f) => fileSize('/', f));
  return { bytes: sizes.reduce((a, f) => a + (f.bytes ?? 0), 0), gzip: sizes.reduce((a, f) => a + (f.gzip ?? 0), 0),
    files: files.map((f) => f.replace(`${ROOT}/`, '')), missing: sizes.filter((f) => f.missing).map((f) => f.path.replace(`${ROOT}/`, '')) };
}

function sizes(packageDirs, pageFiles, what) {
  const installed = packageDirs.reduce((a, d) => a + folderBytes(d), 0);
  const page = pageBytes(pageFiles);
  return {
    installed: derived(installed, `bytes of ${packageDirs.map((d) => d.replace(`${ROOT}/`, '')).join(' + ')}`),
    page: derived(page, `a page's files (${what}): ${page.files.join(', ')}; each gzipped at level 9`),
  };
}

/** The activations `tryDense(name)` accepts, as names. */
function acceptedActivations(tryDense) {
  const ok = [];
  for (const a of ACTIVATION_CANDIDATES) {
    try { tryDense(a); ok.push(a); } catch { /* refused */ }
  }
  // hard_sigmoid / hardSigmoid and leaky_relu / leakyRelu are one function each.
  const canon = new Set(ok.map((a) => ({ hard_sigmoid: 'hardSigmoid', leaky_relu: 'leakyRelu' })[a] ?? a));
  return [...canon];
}

/** Names of `ns` whose call with (learning rate, momentum) returns something with minimize(): the optimizers (wrappers such as withClipping left out). */
function optimizersOf(ns) {
  return Object.keys(ns).filter((k) => {
    if (/^with/.test(k)) return false;
    try { const o = ns[k](0.01, 0.9); return o && typeof o.minimize === 'function'; } catch { return false; }
  });
}

async function kiln(kilnPath) {
  const k = await import(pathToFileURL(kilnPath).href);
  await k.ready({ quiet: true });
  const layerNames = Object.keys(k.layers).filter((n) => typeof k.layers[n] === 'function' && /^[a-z]/.test(n));
  const acts = acceptedActivations((a) => k.sequential({ layers: [k.layers.dense({ units: 1, inputShape: [1], activation: a })] }).dispose());
  const optimizers = optimizersOf(k.train);
  const has = (n) => layerNames.includes(n);
  const backends = k.backends();
  const lib = join(ROOT, 'lib');
  return {
    name: 'Kiln', version: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    training: derived(typeof k.sequential({ layers: [k.layers.dense({ units: 1, inputShape: [1] })] }).fit === 'function', 'LayersModel.fit exists'),
    dnn: derived(has('dense'), 'kiln.layers.dense'), cnn: derived(has('conv2d'), 'kiln.layers.conv2d'),
    rnn: derived(has('lstm') && has('gru') && has('simpleRNN'), 'kiln.layers.simpleRNN / lstm / gru'),
    layerTypes: derived(layerNames.length, 'layer factories exported in kiln.layers (aliases included)'),
    activations: derived(acts.length, `names dense({activation}) accepts: ${acts.join(', ')}`),
    optimizers: derived(optimizers.length, `kiln.train factories that make an optimizer: ${optimizers.join(', ')}`),
    webgl: derived(backends.includes('webgl'), `kiln.backends() = ${JSON.stringify(backends)}`),
    webgpu: derived(backends.includes('webgpu'), `kiln.backends() = ${JSON.stringify(backends)}`),
    importTensorFlow: derived(typeof k.loadGraphModel === 'function', 'kiln.loadGraphModel (TF.js graph models converted from TensorFlow)'),
    importKeras: derived(typeof k.loadLayersModel === 'function', 'kiln.loadLayersModel (TF.js layers format, as Keras models convert to); .keras/.h5 files: not yet'),
    importOnnx: derived(typeof k.onnx?.loadModel === 'function', 'kiln.onnx.loadModel (PyTorch, Caffe via ONNX)'),
    export: derived(typeof k.onnx?.export === 'function', 'kiln.onnx.export, model.save (TF.js layers format and Kiln binary)'),
    saveLoad: derived(typeof k.loadLayersModel === 'function', 'model.save / kiln.loadLayersModel'),
    node: derived(true, 'imported and run in Node here'),
    ...sizes([lib], [join(lib, 'index.js'), join(lib, 'wasm/kiln-st.js'), join(lib, 'wasm/kiln-st.wasm')], 'single-threaded page'),
  };
}

async function tfjs() {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const layerNames = Object.keys(tf.layers).filter((n) => typeof tf.layers[n] === 'function' && /^[a-z]/.test(n));
  const acts = acceptedActivations((a) => tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1], activation: a })] }).dispose());
  const optimizers = optimizersOf(tf.train);
  const webgpuPkg = packageVersion(requirePeers, '@tensorflow/tfjs-backend-webgpu');
  const tfDir = join(ROOT, 'node_modules/@tensorflow');
  return {
    name: 'TensorFlow.js', version: tf.version.tfjs,
    training: derived(true, 'LayersModel.fit exists'), dnn: derived('dense' in tf.layers, 'tf.layers.dense'),
    cnn: derived('conv2d' in tf.layers, 'tf.layers.conv2d'), rnn: derived('lstm' in tf.layers && 'gru' in tf.layers, 'tf.layers.lstm / gru'),
    layerTypes: derived(layerNames.length, 'layer factories exported in tf.layers (aliases included)'),
    activations: derived(acts.length, `names dense({activation}) accepts: ${acts.join(', ')}`),
    optimizers: derived(optimizers.length, `tf.train factories that make an optimizer: ${optimizers.join(', ')}`),
    webgl: derived(existsSync(join(tfDir, 'tfjs-backend-webgl')), '@tensorflow/tfjs-backend-webgl ships inside @tensorflow/tfjs'),
    webgpu: derived(webgpuPkg !== null, `@tensorflow/tfjs-backend-webgpu ${webgpuPkg ?? 'not installed'} (a separate package)`),
    importTensorFlow: judged(true, 'tf.loadGraphModel, after the Python tensorflowjs_converter (not on npm)'),
    importKeras: judged(true, 'tf.loadLayersModel, after the Python tensorflowjs_converter'),
    importOnnx: derived(false, 'no ONNX loader among the exports'),
    export: derived(typeof tf.io.withSaveHandler === 'function', 'model.save (TF.js layers format)'),
    saveLoad: derived(typeof tf.loadLayersModel === 'function', 'model.save / tf.loadLayersModel'),
    node: derived(true, 'imported and run in Node here (pure JS; tfjs-node does not install offline)'),
    ...sizes(['tfjs', 'tfjs-core', 'tfjs-layers', 'tfjs-converter', 'tfjs-data', 'tfjs-backend-cpu', 'tfjs-backend-webgl'].map((p) => join(tfDir, p)),
      [join(tfDir, 'tfjs/dist/tf.min.js')], 'tf.min.js: cpu and WebGL backends'),
  };
}

function ortWeb() {
  const dir = join(ROOT, 'node_modules/onnxruntime-web');
  const ort = requireRoot('onnxruntime-web');
  const dist = readdirSync(join(dir, 'dist'));
  return {
    name: 'ONNX Runtime Web', version: packageVersion(requireRoot, 'onnxruntime-web'),
    training: derived(typeof ort.TrainingSession === 'function', `ort.TrainingSession is ${typeof ort.TrainingSession} (training was removed in 1.19)`),
    dnn: judged(true, 'ONNX Gemm/MatMul'), cnn: judged(true, 'ONNX Conv'), rnn: judged(true, 'ONNX LSTM/GRU/RNN'),
    layerTypes: judged(null, 'runs ONNX operators; it has no layer API'),
    activations: judged(null, 'no layer API'), optimizers: derived(0, 'no training'),
    webgl: derived(dist.some((f) => f.startsWith('ort.webgl')), 'dist/ort.webgl*.js'),
    webgpu: derived(dist.some((f) => f.startsWith('ort.webgpu')), 'dist/ort.webgpu*.js'),
    importTensorFlow: judged(true, 'via tf2onnx (Python)'), importKeras: judged(true, 'via tf2onnx (Python)'),
    importOnnx: derived(typeof ort.InferenceSession?.create === 'function', 'ort.InferenceSession.create'),
    export: derived(false, 'no export'), saveLoad: derived(false, 'loads ONNX files; nothing to save'),
    node: derived(true, 'onnxruntime-web runs in Node (and onnxruntime-node is native)'),
    ...sizes([dir], [join(dir, 'dist/ort.wasm.min.mjs'), join(dir, 'dist/ort-wasm-simd-threaded.mjs'), join(dir, 'dist/ort-wasm-simd-threaded.wasm')],
      'the wasm build'),
  };
}

function brainjs() {
  const dir = join(PEERS, 'node_modules/brain.js');
  const brain = requirePeers('brain.js');
  const src = readFileSync(join(dir, 'dist/neural-network.js'), 'utf8');
  const acts = [...src.matchAll(/case '([a-z-]+)':/g)].map((m) => m[1]).filter((a, i, all) => all.indexOf(a) === i);
  return {
    name: 'brain.js', version: packageVersion(requirePeers, 'brain.js'),
    training: derived(typeof brain.NeuralNetwork.prototype.train === 'function', 'NeuralNetwork.train'),
    dnn: derived(typeof brain.NeuralNetwork === 'function', 'brain.NeuralNetwork'), cnn: derived(false, 'no convolution among the exports'),
    rnn: derived(typeof brain.recurrent?.LSTM === 'function', 'brain.recurrent.RNN / LSTM / GRU'),
    layerTypes: derived(Object.keys(brain.recurrent).length + 2, 'network types: NeuralNetwork, NeuralNetworkGPU and brain.recurrent.*; no layer API'),
    activations: derived(acts.length, `setActivation's cases: ${acts.join(', ')}`),
    optimizers: derived(/_setupAdam/.test(src) ? 2 : 1, 'SGD with momentum, and Adam (praxis: "adam")'),
    webgl: derived(typeof brain.NeuralNetworkGPU === 'function', 'brain.NeuralNetworkGPU (gpu.js)'), webgpu: derived(false, 'none'),
    importTensorFlow: derived(false, 'none'), importKeras: derived(false, 'none'), importOnnx: derived(false, 'none'),
    export: derived(typeof brain.NeuralNetwork.prototype.toFunction === 'function', 'net.toFunction (standalone JS)'),
    saveLoad: derived(typeof brain.NeuralNetwork.prototype.toJSON === 'function', 'net.toJSON / fromJSON'),
    node: derived(true, 'imported and run in Node here'),
    ...sizes([dir, join(PEERS, 'node_modules/gpu.js')], [join(dir, 'browser.min.js')], 'browser.min.js'),
  };
}

function synaptic() {
  const dir = join(PEERS, 'node_modules/synaptic');
  const s = requirePeers('synaptic');
  const squash = Object.keys(s.Neuron.squash);
  return {
    name: 'synaptic', version: packageVersion(requirePeers, 'synaptic'),
    training: derived(typeof s.Trainer === 'function', 'synaptic.Trainer'), dnn: derived(typeof s.Architect.Perceptron === 'function', 'Architect.Perceptron'),
    cnn: derived(false, 'no convolution'), rnn: derived(typeof s.Architect.LSTM === 'function', 'Architect.LSTM'),
    layerTypes: derived(Object.keys(s.Architect).length, `architectures: ${Object.keys(s.Architect).join(', ')}; layers are of neurons`),
    activations: derived(squash.length, `Neuron.squash: ${squash.join(', ')}`),
    optimizers: derived(1, 'Trainer: SGD (rate, optionally a schedule)'),
    webgl: derived(false, 'none'), webgpu: derived(false, 'none'),
    importTensorFlow: derived(false, 'none'), importKeras: derived(false, 'none'), importOnnx: derived(false, 'none'),
    export: derived(typeof s.Network.prototype.standalone === 'function', 'network.standalone (a JS function)'),
    saveLoad: derived(typeof s.Network.fromJSON === 'function', 'network.toJSON / Network.fromJSON'),
    node: derived(true, 'imported and run in Node here'),
    ...sizes([dir], [join(dir, 'dist/synaptic.min.js')], 'dist/synaptic.min.js'),
  };
}

function convnetjs() {
  const dir = join(ROOT, 'node_modules/convnetjs');
  const c = requireRoot('convnetjs');
  const layers = Object.keys(c).filter((n) => n.endsWith('Layer'));
  const src = readFileSync(join(dir, 'build/convnet.js'), 'utf8');
  const methods = [...src.matchAll(/this\.method\s*===?\s*'([a-z]+)'/g)].map((m) => m[1]).filter((a, i, all) => all.indexOf(a) === i);
  return {
    name: 'ConvNetJS', version: packageVersion(requireRoot, 'convnetjs'),
    training: derived(typeof c.Trainer === 'function', 'convnetjs.Trainer'), dnn: derived(layers.includes('FullyConnLayer'), 'FullyConnLayer'),
    cnn: derived(layers.includes('ConvLayer'), 'ConvLayer'), rnn: derived(false, 'no recurrent layer'),
    layerTypes: derived(layers.length, `*Layer exports: ${layers.join(', ')}`),
    activations: derived(['ReluLayer', 'SigmoidLayer', 'TanhLayer', 'MaxoutLayer'].filter((l) => layers.includes(l)).length, 'relu, sigmoid, tanh, maxout layers'),
    optimizers: derived(methods.length + 1, `Trainer methods: sgd, ${methods.join(', ')}`),
    webgl: derived(false, 'none'), webgpu: derived(false, 'none'),
    importTensorFlow: derived(false, 'none'), importKeras: derived(false, 'none'), importOnnx: derived(false, 'none'),
    export: derived(false, 'none'), saveLoad: derived(typeof c.Net.prototype.toJSON === 'function', 'net.toJSON / fromJSON'),
    node: derived(true, 'imported and run in Node here'),
    ...sizes([dir], [join(dir, 'build/convnet-min.js')], 'build/convnet-min.js'),
  };
}

function kerasjs() {
  const dir = join(PEERS, 'node_modules/keras-js');
  let k = null;
  try { k = requirePeers('keras-js'); } catch (e) { k = { error: e.message }; }
  const layers = k.layers ? Object.keys(k.layers) : [];
  const acts = k.activations ? Object.keys(k.activations) : [];
  return {
    name: 'Keras.js', version: packageVersion(requirePeers, 'keras-js'),
    training: derived(false, 'inference only (no fit)'), dnn: derived(layers.includes('Dense'), 'layers.Dense'),
    cnn: derived(layers.includes('Conv2D'), 'layers.Conv2D'), rnn: derived(layers.includes('LSTM'), 'layers.LSTM / GRU / SimpleRNN'),
    layerTypes: derived(layers.length, 'KerasJS.layers exports'), activations: derived(acts.length, `KerasJS.activations: ${acts.join(', ')}`),
    optimizers: derived(0, 'no training'),
    webgl: derived(k.GPU_SUPPORT !== undefined, 'KerasJS.GPU_SUPPORT: WebGL 2 in the browser'), webgpu: derived(false, 'none'),
    importTensorFlow: derived(false, 'none'), importKeras: judged(true, 'Keras HDF5 files after its Python encoder script'),
    importOnnx: derived(false, 'none'), export: derived(false, 'none'), saveLoad: derived(false, 'loads only'),
    node: derived(k.Model !== undefined, 'imported in Node here'),
    ...sizes([dir], [join(dir, 'dist/keras.min.js')], 'dist/keras.min.js'),
  };
}

async function main() {
  // stdout carries the JSON only (TF.js prints a hint about tfjs-node with console.log).
  console.log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
  const args = process.argv.slice(2);
  const kilnPath = resolve(ROOT, args.includes('--kiln') ? args[args.indexOf('--kiln') + 1] : 'lib/index.js');
  const frameworks = [];
  for (const f of [() => kiln(kilnPath), tfjs, ortWeb, brainjs, synaptic, convnetjs, kerasjs]) {
    try { frameworks.push(await f()); } catch (e) { frameworks.push({ name: f.name, error: String(e.stack ?? e) }); }
  }
  process.stdout.write(JSON.stringify({ generated: new Date().toISOString(), frameworks }, null, 1) + '\n');
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
