// TF.js layers models built with @tensorflow/tfjs 4.22 itself, saved as
// tfjs-node's file:// handler saves them (model.json + weights.bin), for the
// loader tests in Node (tests/js/layers_format.test.mjs) and Chromium
// (tests/browser/layers_format.test.mjs).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { randomFloats } from './helpers.mjs';

export const sample = (shape, seed) => ({ values: randomFloats(shape.reduce((a, b) => a * b, 1), seed), shape });

/** Each model with the inputs it is checked on. */
export const TFJS_MODELS = {
  mlp: () => ({
    model: tf.sequential({ layers: [
      tf.layers.dense({ units: 16, activation: 'relu', inputShape: [20] }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.dense({ units: 8, activation: 'elu', kernelInitializer: 'heNormal' }),
      tf.layers.dense({ units: 4, activation: 'softmax' }),
    ] }),
    inputs: [sample([5, 20], 1)],
  }),
  cnn: () => ({
    model: tf.sequential({ layers: [
      tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [12, 12, 3] }),
      tf.layers.batchNormalization({ axis: 3 }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }),
      tf.layers.separableConv2d({ filters: 5, kernelSize: 3, activation: 'relu6' }),
      tf.layers.conv2dTranspose({ filters: 4, kernelSize: 2, strides: 2 }),
      tf.layers.zeroPadding2d({ padding: 1 }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3 }),
    ] }),
    inputs: [sample([2, 12, 12, 3], 2)],
  }),
  rnn: () => ({
    model: tf.sequential({ layers: [
      tf.layers.conv1d({ filters: 4, kernelSize: 2, inputShape: [9, 3] }),
      tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 5, returnSequences: true }) }),
      tf.layers.gru({ units: 6, returnSequences: true }),
      tf.layers.simpleRNN({ units: 3 }),
      tf.layers.dense({ units: 2, activation: 'sigmoid' }),
    ] }),
    inputs: [sample([3, 9, 3], 3)],
  }),
  functional: () => {
    const a = tf.input({ shape: [6], name: 'left' }), b = tf.input({ shape: [6], name: 'right' });
    const shared = tf.layers.dense({ units: 5, activation: 'tanh', name: 'shared' });
    const sa = shared.apply(a), sb = shared.apply(b);
    const merged = tf.layers.concatenate().apply([sa, sb, tf.layers.add().apply([sa, sb])]);
    const out1 = tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(merged);
    const out2 = tf.layers.dense({ units: 1, name: 'score' }).apply(tf.layers.multiply().apply([sa, sb]));
    return { model: tf.model({ inputs: [a, b], outputs: [out1, out2] }), inputs: [sample([4, 6], 4), sample([4, 6], 5)] };
  },
};

/** Random weights instead of TF.js's initial ones, with moving variances and gammas above 0. */
export function perturb(model, seed = 9) {
  model.layers.forEach((layer, li) => {
    const ws = layer.getWeights();
    if (!ws.length) return;
    layer.setWeights(ws.map((w, k) => {
      const r = randomFloats(w.size, seed + 31 * li + k);
      const values = /moving_variance|gamma/.test(layer.weights[k].name) ? r.map((v) => 0.5 + Math.abs(v)) : r.map((v) => 0.5 * v);
      return tf.tensor(values, w.shape);
    }));
  });
}

/** Saves `model` under dir/name as model.json + weights.bin (`transform` may rewrite the artifacts); returns model.json's path. */
export async function saveTfjs(model, dir, name, transform = (a) => a) {
  const path = join(dir, name);
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const a = transform(artifacts);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'weights.bin'), Buffer.from(a.weightData));
    writeFileSync(join(path, 'model.json'), JSON.stringify({
      modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy,
      weightsManifest: [{ paths: ['./weights.bin'], weights: a.weightSpecs }],
    }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return join(path, 'model.json');
}
