// TF.js's rnn({cell}) with simpleRNNCell, lstmCell and gruCell, alone and
// stacked (stackedRNNCells, or a list), against TensorFlow.js 4.22 building
// the same layer: predictions, states and training steps with the same
// weights, and TF.js files holding such RNNs load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

const N = 5, T = 4, D = 3;
const xs = randomFloats(N * T * D, 81);

for (const [cellName, units] of [['simpleRNNCell', 4], ['lstmCell', 3], ['gruCell', 5]]) {
  test(`rnn({cell: ${cellName}}) predicts and trains as TF.js's`, async () => {
    for (const [returnSequences, stacked] of [[false, false], [true, true]]) {
      const make = (lib) => {
        const cell = lib.layers[cellName]({ units, activation: 'tanh' });
        return lib.sequential({ layers: [lib.layers.rnn({ cell: stacked ? lib.layers.stackedRNNCells({ cells: [cell] }) : cell, returnSequences, inputShape: [T, D] }),
          lib.layers.dense({ units: 2 })] });
      };
      const k = make(kiln), t = make(tf);
      // TF.js's stacked cells name the weights per cell; the order and shapes are the same.
      t.setWeights(k.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
      const x = kiln.tensor(xs, [N, T, D]), tx = tf.tensor(xs, [N, T, D]);
      assert.ok(relError(k.predict(x).dataSync(), t.predict(tx).dataSync()) < 1e-5, `${cellName} predict`);
      const outShape = returnSequences ? [N, T, 2] : [N, 2];
      const ys = randomFloats(outShape.reduce((a, b) => a * b), 82);
      k.compile({ optimizer: kiln.train.sgd(0.3), loss: 'meanSquaredError' });
      t.compile({ optimizer: tf.train.sgd(0.3), loss: 'meanSquaredError' });
      await k.fit(x, kiln.tensor(ys, outShape), { epochs: 2, batchSize: N });
      await t.fit(tx, tf.tensor(ys, outShape), { epochs: 2, batchSize: N });
      const tw = t.getWeights();
      k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < 1e-4, `${cellName} weight ${i}`));
    }
  });
}

test('stacked cells (lstm, gru, simpleRNN) predict, return states and train as TF.js\'s', async () => {
  for (const [returnSequences, goBackwards] of [[false, false], [true, true]]) {
    const build = (lib) => {
      const x = lib.input({ shape: [T, D] });
      const cells = [lib.layers.lstmCell({ units: 3 }), lib.layers.gruCell({ units: 4 }), lib.layers.simpleRNNCell({ units: 2 })];
      const [out, ...states] = lib.layers.rnn({ cell: lib.layers.stackedRNNCells({ cells }), returnSequences, returnState: true, goBackwards }).apply(x);
      return lib.model({ inputs: x, outputs: [lib.layers.dense({ units: 2 }).apply(out), ...states] });
    };
    const k = build(kiln), t = build(tf);
    t.setWeights(k.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
    const kp = k.predict(kiln.tensor(xs, [N, T, D])), tp = t.predict(tf.tensor(xs, [N, T, D]));
    assert.equal(kp.length, 5);  // the output, LSTM's h and c, GRU's h, SimpleRNN's h
    kp.forEach((p, i) => { assert.deepEqual(p.shape, tp[i].shape); assert.ok(relError(p.dataSync(), tp[i].dataSync()) < 1e-5, `output ${i}`); });
  }
  const make = (lib) => lib.sequential({ layers: [lib.layers.rnn({ cell: [lib.layers.gruCell({ units: 3 }), lib.layers.lstmCell({ units: 2 })], inputShape: [T, D] }),
    lib.layers.dense({ units: 1 })] });
  const k = make(kiln), t = make(tf);
  t.setWeights(k.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
  const ys = randomFloats(N, 83);
  k.compile({ optimizer: kiln.train.sgd(0.3), loss: 'meanSquaredError' });
  t.compile({ optimizer: tf.train.sgd(0.3), loss: 'meanSquaredError' });
  await k.fit(kiln.tensor(xs, [N, T, D]), kiln.tensor(ys, [N, 1]), { epochs: 2, batchSize: N });
  await t.fit(tf.tensor(xs, [N, T, D]), tf.tensor(ys, [N, 1]), { epochs: 2, batchSize: N });
  const tw = t.getWeights();
  k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < 1e-4, `weight ${i}`));
  // TF.js's file of it loads.
  let artifacts;
  await t.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const back = await kiln.loadLayersModel(kiln.io.fromMemory(artifacts.modelTopology, artifacts.weightSpecs, artifacts.weightData));
  assert.ok(relError(back.predict(kiln.tensor(xs, [N, T, D])).dataSync(), t.predict(tf.tensor(xs, [N, T, D])).dataSync()) < 1e-5);
});

test('a TF.js file with an RNN over a GRU cell loads; unknown arguments and cells are refused', async () => {
  const t = tf.sequential({ layers: [tf.layers.rnn({ cell: tf.layers.gruCell({ units: 3 }), inputShape: [T, D] }), tf.layers.dense({ units: 1 })] });
  let artifacts;
  await t.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const k = await kiln.loadLayersModel(kiln.io.fromMemory(artifacts.modelTopology, artifacts.weightSpecs, artifacts.weightData));
  assert.ok(relError(k.predict(kiln.tensor(xs, [N, T, D])).dataSync(), t.predict(tf.tensor(xs, [N, T, D])).dataSync()) < 1e-5);
  assert.throws(() => kiln.layers.rnn({ cell: kiln.layers.lstmCell({ units: 2 }), unitz: 3 }), /rnn: unknown argument 'unitz'/);
  assert.throws(() => kiln.layers.rnn({ cell: {} }), /cell must be kiln.layers.simpleRNNCell, lstmCell, gruCell, convLstm2dCell or a class extending kiln.layers.RNNCell/);
});
