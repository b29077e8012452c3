// ConvNetJS 0.3.0 engine of the CNN / RNN benchmark (CNN only: ConvNetJS has
// no recurrent layers). ConvNetJS works one sample at a time on Float64Array
// volumes ([y][x][depth] order, the same as NHWC), so:
//   training step  = 32 trainer.train(vol, label) calls with a Trainer
//                    { method: 'sgd', batch_size: 32, learning_rate: 0.01,
//                    momentum: 0, l2_decay: 0 } (the 32nd call applies the
//                    averaged gradient: one SGD step per batch, as the others)
//   inference      = net.forward(vol) per sample (batch 32: 32 calls)
// The caller passes the convnetjs namespace (Node: require('convnetjs');
// page: the global from build/convnet.js).
import { rng } from '../mlp/common.mjs';
import { runModels } from '../common/run_models.mjs';
import { BATCH, CLASSES, LEARNING_RATE, SEED, dataFor } from './models.mjs';

/** The spec's layers as ConvNetJS layer definitions, or throws naming the first it cannot express. */
export function convnetDefs(spec) {
  const [sy, sx, depth] = spec.inputShape.length === 3 ? spec.inputShape : [null];
  if (sy === null) throw new Error(`ConvNetJS needs an [h, w, c] input, got [${spec.inputShape}]`);
  const defs = [{ type: 'input', out_sx: sx, out_sy: sy, out_depth: depth }];
  for (const l of spec.layers) {
    if (l.type === 'conv2d') {
      if (l.padding !== 'same' && l.padding !== 'valid') throw new Error(`ConvNetJS: padding ${l.padding}`);
      defs.push({ type: 'conv', sx: l.kernelSize, filters: l.filters, stride: 1, pad: l.padding === 'same' ? (l.kernelSize - 1) / 2 : 0,
        activation: l.activation });
    } else if (l.type === 'maxPooling2d') {
      defs.push({ type: 'pool', sx: l.poolSize, stride: l.poolSize });
    } else if (l.type === 'flatten') {
      // ConvNetJS's fc layer reads its input volume flat.
    } else if (l.type === 'dense' && l.activation === 'softmax') {
      defs.push({ type: 'softmax', num_classes: l.units }); // ConvNetJS adds the fc layer in front of it
    } else if (l.type === 'dense') {
      defs.push({ type: 'fc', num_neurons: l.units, activation: l.activation });
    } else {
      throw new Error(`ConvNetJS has no ${l.type} layer`);
    }
  }
  return defs;
}

/**
 * @param convnetjs the ConvNetJS namespace
 * @param options   { version (the package's), specs, protocol, log, onRecord }
 * @returns         { engine, info, results }
 */
export async function runConvnetjs(convnetjs, { version = null, specs, protocol, log = () => {}, onRecord }) {
  const info = { version, threads: 1, precision: 'float64 (Float64Array volumes)', params: {} };
  const toVol = (values, [sy, sx, depth]) => {
    const v = new convnetjs.Vol(sx, sy, depth, 0.0);
    v.w.set(values);
    return v;
  };
  const adapter = {
    name: 'convnetjs',
    check(spec) {
      if (spec.layers.some((l) => l.type === 'lstm')) return { skipped: 'ConvNetJS has no recurrent (LSTM) layers' };
      try { convnetDefs(spec); } catch (e) { return { skipped: e.message }; }
      return null;
    },
    build(spec, data) {
      const n = data.sampleSize;
      const xs = Array.from({ length: BATCH }, (_, i) => toVol(data.x.subarray(i * n, (i + 1) * n), spec.inputShape));
      const batches = data.batches.map((b) => Array.from({ length: BATCH }, (_, i) => toVol(b.subarray(i * n, (i + 1) * n), spec.inputShape)));
      const samples = data.samples.map((s) => toVol(s, spec.inputShape));
      const net = new convnetjs.Net();
      // ConvNetJS initializes weights with Math.random: seed it for the build.
      const random = Math.random;
      Math.random = rng(SEED);
      try { net.makeLayers(convnetDefs(spec)); } finally { Math.random = random; }
      const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: LEARNING_RATE, batch_size: BATCH, momentum: 0, l2_decay: 0 });
      let params = 0;
      for (const pg of net.getParamsAndGrads()) params += pg.params.length;
      info.params[spec.id] = params;
      return { net, trainer, xs, labels: Array.from(data.labels), batches, samples };
    },
    train({ trainer, xs, labels }) {
      let loss = 0;
      for (let i = 0; i < BATCH; i++) loss += trainer.train(xs[i], labels[i]).cost_loss;
      return loss / BATCH;
    },
    predict({ net, batches, samples }, { batch, index }) {
      if (batch === 1) return Float32Array.from(net.forward(samples[index], false).w);
      const out = new Float32Array(BATCH * CLASSES);
      const vols = batches[index];
      for (let i = 0; i < BATCH; i++) out.set(net.forward(vols[i], false).w, i * CLASSES);
      return out;
    },
    dispose() {},
  };
  const results = await runModels(adapter, { specs, dataFor, protocol, log, onRecord });
  return { engine: 'convnetjs', info, results };
}
