// Custom layers written in JavaScript (class X extends kiln.layers.Layer),
// through the public API, against TensorFlow.js 4.22 running the same
// classes: predictions, training steps (gradients through call(), weights
// from addWeight), save and load in both formats (TF.js loads Kiln's file),
// trainable flags, and the errors a broken layer gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

// tfjs-examples/custom-layer's Antirectifier, written once for either library.
function antirectifier(lib) {
  class Antirectifier extends lib.layers.Layer {
    constructor(config) { super(config ?? {}); }
    computeOutputShape(inputShape) { return [inputShape[0], 2 * inputShape[1]]; }
    call(inputs) {
      let x = Array.isArray(inputs) ? inputs[0] : inputs;
      this.invokeCallHook(inputs);
      const centered = lib.sub(x, lib.mean(x, 1, true));
      const norm = lib.div(centered, lib.norm(centered, 'euclidean', 1, true));
      return lib.concat([lib.relu(norm), lib.relu(lib.neg(norm))], 1);
    }
    static get className() { return 'Antirectifier'; }
  }
  lib.serialization.registerClass(Antirectifier);
  return Antirectifier;
}

// A layer with weights of its own: y = x W * scale + b, with W and b from addWeight.
function scaledDense(lib) {
  class ScaledDense extends lib.layers.Layer {
    constructor(config) {
      super(config);
      this.units = config.units;
      this.scale = config.scale ?? 1;
    }
    build(inputShape) {
      this.kernel = this.addWeight('kernel', [inputShape[inputShape.length - 1], this.units], 'float32', lib.initializers.glorotUniform({}));
      this.bias = this.addWeight('bias', [this.units], 'float32', lib.initializers.zeros());
      this.built = true;
    }
    computeOutputShape(inputShape) { return [inputShape[0], this.units]; }
    call(inputs) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return lib.tidy(() => lib.add(lib.mul(lib.matMul(x, this.kernel.read()), this.scale), this.bias.read()));
    }
    getConfig() { return { ...super.getConfig(), units: this.units, scale: this.scale }; }
    static get className() { return 'ScaledDense'; }
  }
  lib.serialization.registerClass(ScaledDense);
  return ScaledDense;
}

const KilnAnti = antirectifier(kiln), TfAnti = antirectifier(tf);
const KilnScaled = scaledDense(kiln), TfScaled = scaledDense(tf);

const N = 16, D = 5;
const xs = randomFloats(N * D, 11), ys = randomFloats(N * 3, 12);

// The same model in both libraries: dense -> Antirectifier -> ScaledDense, with Kiln's initial weights in TF.js.
function models() {
  const k = kiln.sequential({ seed: 3, layers: [
    kiln.layers.dense({ units: 4, inputShape: [D], activation: 'tanh' }),
    new KilnAnti(),
    new KilnScaled({ units: 3, scale: 0.5 }),
  ] });
  const t = tf.sequential({ layers: [
    tf.layers.dense({ units: 4, inputShape: [D], activation: 'tanh' }),
    new TfAnti(),
    new TfScaled({ units: 3, scale: 0.5 }),
  ] });
  t.setWeights(k.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
  return { k, t };
}

test('a model with custom layers predicts as TF.js does with the same classes', () => {
  const { k, t } = models();
  assert.deepEqual(k.layers.map((l) => l.getClassName()), ['Dense', 'Antirectifier', 'ScaledDense']);
  assert.deepEqual(k.getWeights().map((w) => w.shape), [[D, 4], [4], [8, 3], [3]]);
  const want = t.predict(tf.tensor(xs, [N, D])).dataSync();
  const got = k.predict(kiln.tensor(xs, [N, D])).dataSync();
  assert.ok(relError(got, want) < 1e-5, `relative error ${relError(got, want)}`);
});

test('training through custom layers matches TF.js step by step (SGD and Adam)', async () => {
  for (const [name, kOpt, tOpt] of [['sgd', kiln.train.sgd(0.1), tf.train.sgd(0.1)], ['adam', kiln.train.adam(0.01), tf.train.adam(0.01)]]) {
    const { k, t } = models();
    k.compile({ optimizer: kOpt, loss: 'meanSquaredError' });
    t.compile({ optimizer: tOpt, loss: 'meanSquaredError' });
    const kh = await k.fit(kiln.tensor(xs, [N, D]), kiln.tensor(ys, [N, 3]), { epochs: 5, batchSize: N, shuffle: false });
    const th = await t.fit(tf.tensor(xs, [N, D]), tf.tensor(ys, [N, 3]), { epochs: 5, batchSize: N, shuffle: false });
    kh.history.loss.forEach((l, i) => assert.ok(Math.abs(l - th.history.loss[i]) <= 1e-5 * Math.abs(th.history.loss[i]) + 1e-7,
      `${name} epoch ${i}: loss ${l} vs TF.js ${th.history.loss[i]}`));
    // Adam's step is about sign(gradient) where gradients are tiny, so float32
    // rounding in them shows a little more in a small bias after five steps.
    const tolerance = name === 'adam' ? 5e-5 : 1e-5;
    const tw = t.getWeights();
    k.getWeights().forEach((w, i) => {
      const e = relError(w.dataSync(), tw[i].dataSync());
      assert.ok(e < tolerance, `${name}: weight ${i} relative error ${e}`);
    });
    assert.notDeepEqual(Array.from(k.getWeights()[2].dataSync()), Array.from(models().k.getWeights()[2].dataSync()));
  }
});

test('a custom layer in a functional model, applied twice (shared weights), matches TF.js', async () => {
  const build = (lib, seed) => {
    const a = lib.input({ shape: [D] }), b = lib.input({ shape: [D] });
    const shared = new (lib === kiln ? KilnScaled : TfScaled)({ units: 3, scale: 2 });
    const sum = lib.layers.add().apply([shared.apply(a), shared.apply(b)]);
    const out = new (lib === kiln ? KilnAnti : TfAnti)().apply(sum);
    return lib.model({ inputs: [a, b], outputs: out, ...(seed ? { seed } : {}) });
  };
  const k = build(kiln, 9), t = build(tf);
  t.setWeights(k.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
  assert.equal(k.getWeights().length, 2);
  const x2 = randomFloats(N * D, 13);
  k.compile({ optimizer: kiln.train.sgd(0.2), loss: 'meanSquaredError' });
  t.compile({ optimizer: tf.train.sgd(0.2), loss: 'meanSquaredError' });
  const target = randomFloats(N * 6, 14);
  await k.fit([kiln.tensor(xs, [N, D]), kiln.tensor(x2, [N, D])], kiln.tensor(target, [N, 6]), { epochs: 3, batchSize: N });
  await t.fit([tf.tensor(xs, [N, D]), tf.tensor(x2, [N, D])], tf.tensor(target, [N, 6]), { epochs: 3, batchSize: N });
  const tw = t.getWeights();
  k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < 1e-5, `weight ${i}`));
  const want = t.predict([tf.tensor(xs, [N, D]), tf.tensor(x2, [N, D])]).dataSync();
  assert.ok(relError(k.predict([kiln.tensor(xs, [N, D]), kiln.tensor(x2, [N, D])]).dataSync(), want) < 1e-5);
});

test('custom layers leave no tensor behind in fit and predict', async () => {
  const { k } = models();
  k.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const x = kiln.tensor(xs, [N, D]), y = kiln.tensor(ys, [N, 3]);
  await k.fit(x, y, { epochs: 1, batchSize: 8 });  // plans compiled
  const before = kiln.memory().numTensors;
  await k.fit(x, y, { epochs: 2, batchSize: 8 });
  k.predict(x).dispose();
  assert.equal(kiln.memory().numTensors, before);
});

test('a frozen custom layer, and a weight declared non-trainable, do not move', async () => {
  const { k } = models();
  const scaled = k.layers[2];
  scaled.trainable = false;
  k.compile({ optimizer: kiln.train.sgd(0.5), loss: 'meanSquaredError' });
  const frozen = scaled.getWeights().map((w) => Array.from(w.dataSync()));
  const first = Array.from(k.layers[0].getWeights()[0].dataSync());
  await k.fit(kiln.tensor(xs, [N, D]), kiln.tensor(ys, [N, 3]), { epochs: 2, batchSize: N });
  assert.deepEqual(scaled.getWeights().map((w) => Array.from(w.dataSync())), frozen);
  assert.notDeepEqual(Array.from(k.layers[0].getWeights()[0].dataSync()), first);

  class Offset extends kiln.layers.Layer {
    build(shape) { this.offset = this.addWeight('offset', [shape[1]], 'float32', 'ones', null, false); }
    call(x) { return kiln.add(x, this.offset.read()); }
    static get className() { return 'Offset'; }
  }
  const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [D] }), new Offset()] });
  m.compile({ optimizer: kiln.train.sgd(0.5), loss: 'meanSquaredError' });
  await m.fit(kiln.tensor(xs, [N, D]), kiln.tensor(ys.slice(0, N * 2), [N, 2]), { epochs: 2, batchSize: N });
  assert.deepEqual(Array.from(m.layers[1].getWeights()[0].dataSync()), [1, 1]);
  assert.deepEqual(m.layers[1].weights.map((w) => [w.originalName, w.trainable]), [['offset', false]]);
  assert.deepEqual(m.layers[1].trainableWeights, []);
});

test('models with custom layers save and load: Kiln\'s format, and TF.js\'s (TF.js loads the files)', async () => {
  const { k } = models();
  const x = kiln.tensor(xs, [N, D]);
  const want = k.predict(x).dataSync();
  const loaded = await kiln.loadModel(await k.save());
  assert.ok(loaded.layers[1] instanceof KilnAnti && loaded.layers[2] instanceof KilnScaled);
  assert.equal(loaded.layers[2].scale, 0.5);
  assert.ok(relError(loaded.predict(x).dataSync(), want) < 1e-6);

  const dir = mkdtempSync(join(tmpdir(), 'kiln-custom-'));
  await k.save(`file://${dir}`);
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(join(dir, json.weightsManifest[0].paths[0]));
  const viaTf = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }));
  assert.ok(relError(viaTf.predict(tf.tensor(xs, [N, D])).dataSync(), want) < 1e-5);
  const back = await kiln.loadLayersModel(`file://${dir}/model.json`);
  assert.ok(back.layers[2] instanceof KilnScaled);
  assert.ok(relError(back.predict(x).dataSync(), want) < 1e-6);
});

test('a broken custom layer gets an error naming it, and the model is left as it was', async () => {
  class Broken extends kiln.layers.Layer {
    constructor(config) { super(config); this.failIn = config.failIn; }
    build(shape) { if (this.failIn === 'build') throw new Error('no build today'); this.w = this.addWeight('w', [shape[1]], 'float32', 'ones'); }
    computeOutputShape(shape) { return this.failIn === 'shape' ? [shape[0], shape[1] + 1] : shape; }
    call(x) {
      if (this.failIn === 'call' && !this.armed) return kiln.mul(x, this.w.read());
      if (this.failIn === 'call') throw new Error('call failed on purpose');
      return kiln.mul(x, this.w.read());
    }
    static get className() { return 'Broken'; }
  }
  const make = (failIn) => {
    const m = kiln.sequential({ seed: 1, layers: [kiln.layers.dense({ units: 3, inputShape: [D] }), new Broken({ failIn, name: `broken_${failIn}` })] });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    return m;
  };
  const x = kiln.tensor(xs, [N, D]), y = kiln.tensor(ys, [N, 3]);
  assert.throws(() => make('build').predict(x), /broken_build \(Broken\)\.build: no build today/);
  assert.throws(() => make('shape').predict(x), /broken_shape \(Broken\)\.call: call\(\)'s result has shape \[16,3\], but computeOutputShape\(\) gives \[16,4\]/);
  const m = make('call');
  await m.fit(x, y, { epochs: 1 });
  const before = m.getWeights().map((w) => Array.from(w.dataSync()));
  m.layers[1].armed = true;
  await assert.rejects(m.fit(x, y, { epochs: 1 }), /broken_call \(Broken\)\.call: call failed on purpose/);
  assert.deepEqual(m.getWeights().map((w) => Array.from(w.dataSync())), before);
  assert.throws(() => m.predict(x), /call failed on purpose/);
  m.layers[1].armed = false;
  assert.equal(m.predict(x).shape[1], 3);  // usable again
  // A custom class nobody registered cannot be loaded from a file.
  class Unregistered extends kiln.layers.Layer { static get className() { return 'Unregistered'; } }
  const u = kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [D] }), new Unregistered()] });
  await assert.rejects(async () => kiln.loadModel(await u.save()), /unknown layer class 'Unregistered'.*registerClass/);
  assert.throws(() => new KilnScaled({ units: 2 }).addWeight('r', [2], 'float32', 'zeros', 'l2'), /regularizers are not supported/);
});
