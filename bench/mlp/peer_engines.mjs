// The MLP benchmark's pure-JavaScript peers, as the study (Ma et al., WWW 2019)
// ran them: brain.js 1.6.1, synaptic 1.1.4 and ConvNetJS 0.3.0. None of them
// has batched tensors; each works one sample at a time, so where their
// algorithm differs from Kiln's and TF.js's it is said in `algorithm`:
//   brain.js   one activation for every layer (sigmoid: its default and the
//              only one that suits a 0/1 target), mean squared error, one
//              weight update per sample (net.train(batch, {iterations: 1})
//              is one online pass over the 64 samples; momentum 0.1, its
//              default, as it refuses 0)
//   synaptic   logistic neurons (its Architect.Perceptron), mean squared
//              error, one update per sample (Trainer.train, one iteration)
//   ConvNetJS  relu hidden layers and a softmax output with cross-entropy,
//              as Kiln's; gradients summed over 64 samples and one SGD step
//              per batch (Trainer batch_size 64), forward/backward per sample
//   Keras.js   inference only (it cannot train): the same relu/softmax MLP,
//              loaded from its own protobuf format (bench/mlp/kerasjs_files.mjs
//              writes it) and run one sample at a time on its CPU path
// Each namespace is passed in (Node: loaded with require by node_worker.mjs).
import { BATCH, CLASSES, INPUT, LEARNING_RATE, SEED, rng, runGrid } from './common.mjs';

/** Runs `fn` with Math.random seeded (the peers initialize their weights with it). */
function seeded(fn) {
  const random = Math.random;
  Math.random = rng(SEED);
  try { return fn(); } finally { Math.random = random; }
}

const rows = (flat, n, width) => Array.from({ length: n }, (_, i) => Array.from(flat.subarray(i * width, (i + 1) * width)));
const labelOf = (y, i) => y.subarray(i * CLASSES, (i + 1) * CLASSES).indexOf(1);

/** Per-sample predict over a batch: `run(row)` returns the row's CLASSES outputs. */
function predictRows(run, inputs, { batch, index }) {
  if (batch === 1) return Float32Array.from(run(inputs.samples[index]));
  const out = new Float32Array(BATCH * CLASSES);
  inputs.batches[index].forEach((row, i) => out.set(run(row), i * CLASSES));
  return out;
}

function inputsOf(data) {
  return { x: rows(data.x, BATCH, INPUT), y: rows(data.y, BATCH, CLASSES), batches: data.batches.map((b) => rows(b, BATCH, INPUT)),
    samples: data.samples.map((s) => Array.from(s)) };
}

const textBytes = (s) => new TextEncoder().encode(s).length;

/** The file name of the Keras.js model of one MLP cell (kerasjs_files.mjs writes it; Node and the page read it). */
export const kerasJsFileName = ({ depth, width }) => `mlp-d${depth}-w${width}.bin`;

export const PEERS = {
  brainjs: {
    algorithm: 'sigmoid in every layer, mean squared error, one update per sample (online SGD with momentum 0.1: brain.js refuses 0)',
    softmaxOutput: false,
    adapter(brain) {
      return {
        name: 'brainjs',
        build({ depth, width }, data) {
          const net = new brain.NeuralNetwork({ hiddenLayers: Array(depth).fill(width), activation: 'sigmoid' });
          const inputs = inputsOf(data);
          const set = inputs.x.map((input, i) => ({ input, output: inputs.y[i] }));
          // The first train() sizes and initializes the network (Math.random).
          seeded(() => net.train(set, { iterations: 1, learningRate: LEARNING_RATE, log: false }));
          return { net, inputs, set };
        },
        train({ net, set }) {
          return net.train(set, { iterations: 1, learningRate: LEARNING_RATE, log: false }).error;
        },
        predict({ net, inputs }, which) {
          return predictRows((row) => net.run(row), inputs, which);
        },
        save({ net }) {
          return { 'brain.js JSON (net.toJSON)': textBytes(JSON.stringify(net.toJSON())) };
        },
        dispose() {},
      };
    },
  },
  synaptic: {
    algorithm: 'logistic neurons in every layer, mean squared error, one update per sample (online SGD)',
    softmaxOutput: false,
    adapter(synaptic) {
      return {
        name: 'synaptic',
        build({ depth, width }, data) {
          const net = seeded(() => new synaptic.Architect.Perceptron(INPUT, ...Array(depth).fill(width), CLASSES));
          const trainer = new synaptic.Trainer(net);
          const inputs = inputsOf(data);
          const set = inputs.x.map((input, i) => ({ input, output: inputs.y[i] }));
          return { net, trainer, inputs, set };
        },
        train({ trainer, set }) {
          return trainer.train(set, { iterations: 1, rate: LEARNING_RATE, error: 0, shuffle: false, cost: undefined }).error;
        },
        predict({ net, inputs }, which) {
          return predictRows((row) => net.activate(row), inputs, which);
        },
        save({ net }) {
          return { 'synaptic JSON (network.toJSON)': textBytes(JSON.stringify(net.toJSON())) };
        },
        dispose() {},
      };
    },
  },
  convnetjs: {
    algorithm: 'relu hidden layers, softmax + cross-entropy; gradients of 64 samples summed, one SGD step per batch, computed per sample in Float64Array volumes',
    softmaxOutput: true,
    adapter(convnetjs) {
      const vol = (values) => {
        const v = new convnetjs.Vol(1, 1, INPUT, 0.0);
        v.w.set(values);
        return v;
      };
      return {
        name: 'convnetjs',
        build({ depth, width }, data) {
          const defs = [{ type: 'input', out_sx: 1, out_sy: 1, out_depth: INPUT }];
          for (let d = 0; d < depth; d++) defs.push({ type: 'fc', num_neurons: width, activation: 'relu' });
          defs.push({ type: 'softmax', num_classes: CLASSES });
          const net = new convnetjs.Net();
          seeded(() => net.makeLayers(defs));
          const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: LEARNING_RATE, batch_size: BATCH, momentum: 0, l2_decay: 0 });
          const xs = Array.from({ length: BATCH }, (_, i) => vol(data.x.subarray(i * INPUT, (i + 1) * INPUT)));
          const labels = Array.from({ length: BATCH }, (_, i) => labelOf(data.y, i));
          const inputs = { batches: data.batches.map((b) => Array.from({ length: BATCH }, (_, i) => vol(b.subarray(i * INPUT, (i + 1) * INPUT)))),
            samples: data.samples.map(vol) };
          return { net, trainer, xs, labels, inputs };
        },
        train({ trainer, xs, labels }) {
          let loss = 0;
          for (let i = 0; i < BATCH; i++) loss += trainer.train(xs[i], labels[i]).cost_loss;
          return loss / BATCH;
        },
        predict({ net, inputs }, which) {
          return predictRows((v) => net.forward(v, false).w, inputs, which);
        },
        save({ net }) {
          return { 'ConvNetJS JSON (net.toJSON)': textBytes(JSON.stringify(net.toJSON())) };
        },
        dispose() {},
      };
    },
  },
  kerasjs: {
    algorithm: 'inference only (Keras.js cannot train): relu hidden layers and a softmax output, one sample per predict(), on its CPU path',
    softmaxOutput: true,
    // modelFile(cell) -> { filepath, filesystem, bytes, reference? }: a file (Node) or URL (page) of
    // kerasjs_files.mjs's format; reference(x), where given, is the model's output computed without Keras.js.
    adapter(KerasJS, { modelFile }) {
      return {
        name: 'kerasjs',
        async build(cell, data) {
          const file = modelFile(cell);
          const model = new KerasJS.Model({ filepath: file.filepath, filesystem: file.filesystem, gpu: false });
          await model.ready();
          if (file.reference) {
            const got = (await model.predict({ input: data.samples[0] })).output, want = file.reference(data.samples[0]);
            const err = Math.max(...want.map((w, i) => Math.abs(w - got[i])));
            if (!(err < 1e-5)) throw new Error(`Keras.js's output differs from the reference forward pass by ${err}`);
          }
          return { model, file, inputs: { samples: data.samples, batches: data.batches } };
        },
        async predict({ model, inputs }, { batch, index }) {
          const run = async (x) => (await model.predict({ input: x })).output;
          if (batch === 1) return Float32Array.from(await run(inputs.samples[index]));
          const out = new Float32Array(BATCH * CLASSES);
          const b = inputs.batches[index];
          for (let i = 0; i < BATCH; i++) out.set(await run(b.subarray(i * INPUT, (i + 1) * INPUT)), i * CLASSES);
          return out;
        },
        // The file's size where it is known (Node); the page fetches it by URL and does not know it.
        save({ file }) {
          return file.bytes === null ? {} : { 'Keras.js protobuf (model.bin)': file.bytes };
        },
        dispose() {},
      };
    },
  },
};

/**
 * @param name      'brainjs' | 'synaptic' | 'convnetjs' | 'kerasjs'
 * @param namespace the peer's module
 * @param options   { version, cells, protocol, log, budgetMs (see runGrid), modelFile (Keras.js: see its adapter) }
 */
export async function runPeer(name, namespace, { version = null, cells, protocol, log = () => {}, budgetMs, modelFile }) {
  const peer = PEERS[name];
  const results = await runGrid(peer.adapter(namespace, { modelFile }), { cells, protocol, log, budgetMs });
  return { engine: name, info: { version, threads: 1, algorithm: peer.algorithm, softmaxOutput: peer.softmaxOutput }, results };
}
