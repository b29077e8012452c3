// TF.js's rnn({cell}) with simpleRNNCell, lstmCell and gruCell (also as a
// one-cell stack) against TensorFlow.js 4.22 building the same layer:
// predictions and training steps with the same weights, and a TF.js file
// holding an RNN over a cell loads. Stacks of several cells are refused.
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

test('a TF.js file with an RNN over a GRU cell loads; stacked cells and unknown arguments are refused', async () => {
  const t = tf.sequential({ layers: [tf.layers.rnn({ cell: tf.layers.gruCell({ units: 3 }), inputShape: [T, D] }), tf.layers.dense({ units: 1 })] });
  let artifacts;
  await t.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const k = await kiln.loadLayersModel(kiln.io.fromMemory(artifacts.modelTopology, artifacts.weightSpecs, artifacts.weightData));
  assert.ok(relError(k.predict(kiln.tensor(xs, [N, T, D])).dataSync(), t.predict(tf.tensor(xs, [N, T, D])).dataSync()) < 1e-5);
  const cells = [kiln.layers.lstmCell({ units: 2 }), kiln.layers.lstmCell({ units: 2 })];
  assert.throws(() => kiln.layers.rnn({ cell: cells }), /2 stacked cells are not supported; stack recurrent layers instead/);
  assert.throws(() => kiln.layers.rnn({ cell: kiln.layers.lstmCell({ units: 2 }), unitz: 3 }), /rnn: unknown argument 'unitz'/);
  assert.throws(() => kiln.layers.rnn({ cell: {} }), /cell must be kiln.layers.simpleRNNCell, lstmCell or gruCell/);
});
