// rnn({cell}) over custom cells (class X extends kiln.layers.RNNCell), the
// same class written once for Kiln and for TensorFlow.js 4.22: predictions,
// and the weights after Adam training, agree; one and two states,
// returnSequences, goBackwards; the model saves and loads with the class
// registered. Kiln runs the cell's call() step by step inside its plans and
// trains it through the autograd tape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

const copyWeights = (from, to) => to.setWeights(from.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));

// TF.js's MinimalRNNCell pattern, and a two-state cell.
function cellClasses(lib) {
  class MinimalRNNCell extends lib.layers.RNNCell {
    static get className() { return 'MinimalRNNCell'; }
    constructor(args) { super(args); this.units = args.units; this.stateSize = args.units; }
    build(inputShape) {
      this.kernel = this.addWeight('kernel', [inputShape[inputShape.length - 1], this.units], 'float32', lib.initializers.glorotUniform({}));
      this.recurrentKernel = this.addWeight('recurrent_kernel', [this.units, this.units], 'float32', lib.initializers.glorotUniform({}));
      this.built = true;
    }
    call(inputs) {
      const [x, h] = inputs;
      const out = lib.tanh(lib.add(lib.matMul(x, this.kernel.read()), lib.matMul(h, this.recurrentKernel.read())));
      return [out, out];
    }
    getConfig() { return { ...super.getConfig(), units: this.units }; }
  }
  class GatedCell extends lib.layers.RNNCell {
    static get className() { return 'GatedCell'; }
    constructor(args) { super(args); this.units = args.units; }
    get stateSize() { return [this.units, this.units]; }
    build(inputShape) {
      this.w = this.addWeight('w', [inputShape[inputShape.length - 1], this.units], 'float32', lib.initializers.glorotUniform({}));
      this.u = this.addWeight('u', [this.units, this.units], 'float32', lib.initializers.glorotUniform({}));
      this.b = this.addWeight('b', [this.units], 'float32', lib.initializers.ones());
      this.built = true;
    }
    call([x, h, c]) {
      const z = lib.add(lib.add(lib.matMul(x, this.w.read()), lib.matMul(h, this.u.read())), this.b.read());
      const c2 = lib.add(lib.mul(c, lib.sigmoid(z)), lib.tanh(z));
      const h2 = lib.mul(lib.tanh(c2), lib.sigmoid(z));
      return [h2, h2, c2];
    }
    getConfig() { return { ...super.getConfig(), units: this.units }; }
  }
  lib.serialization.registerClass(MinimalRNNCell);
  lib.serialization.registerClass(GatedCell);
  return { MinimalRNNCell, GatedCell };
}
const kCells = cellClasses(kiln), tCells = cellClasses(tf);

for (const [what, cellName, rnnArgs] of [
  ['one state, last output', 'MinimalRNNCell', {}],
  ['two states (a stateSize getter), returnSequences', 'GatedCell', { returnSequences: true }],
  ['goBackwards', 'MinimalRNNCell', { goBackwards: true, returnSequences: true }],
])
  test(`a custom cell (${what}) predicts and trains as in TF.js`, async () => {
    const make = (lib, cells) => lib.sequential({ layers: [
      lib.layers.rnn({ cell: new cells[cellName]({ units: 3 }), inputShape: [5, 2], ...rnnArgs }),
      ...(rnnArgs.returnSequences ? [lib.layers.flatten()] : []), lib.layers.dense({ units: 2 }),
    ] });
    const k = make(kiln, kCells), t = make(tf, tCells);
    copyWeights(k, t);
    const xs = randomFloats(4 * 5 * 2, 111), ys = randomFloats(4 * 2, 112);
    assert.ok(relError(k.predict(kiln.tensor(xs, [4, 5, 2])).dataSync(), t.predict(tf.tensor(xs, [4, 5, 2])).dataSync()) < 1e-5);
    k.compile({ optimizer: kiln.train.adam(0.02), loss: 'meanSquaredError' });
    t.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
    await k.fit(kiln.tensor(xs, [4, 5, 2]), kiln.tensor(ys, [4, 2]), { epochs: 3, batchSize: 4 });
    await t.fit(tf.tensor(xs, [4, 5, 2]), tf.tensor(ys, [4, 2]), { epochs: 3, batchSize: 4 });
    const tw = t.getWeights();
    k.getWeights().forEach((w, i) => assert.ok(relError(w.dataSync(), tw[i].dataSync()) < 1e-4, `weight ${i} ${w.shape}: ${relError(w.dataSync(), tw[i].dataSync())}`));
    const back = await kiln.loadModel(await k.save());
    assert.deepEqual(Array.from(back.predict(kiln.tensor(xs, [4, 5, 2])).dataSync()), Array.from(k.predict(kiln.tensor(xs, [4, 5, 2])).dataSync()));
  });

test('custom cells: what rnn() cannot do with them is refused, naming it', () => {
  const cell = () => new kCells.MinimalRNNCell({ units: 2 });
  assert.throws(() => kiln.layers.rnn({ cell: cell(), returnState: true }), /'returnState' is not supported with a custom cell/);
  assert.throws(() => kiln.layers.rnn({ cell: [cell(), cell()] }), /a custom cell runs alone/);
  // The input arguments are a layer's: inputDim with inputLength is the input shape; dtype is checked.
  const byDim = kiln.sequential({ layers: [kiln.layers.rnn({ cell: cell(), inputDim: 2, inputLength: 4 })] });
  assert.deepEqual(byDim.predict(kiln.zeros([3, 4, 2])).shape, [3, 2]);
  assert.throws(() => kiln.layers.rnn({ cell: cell(), dtype: 'int32' }), /dtype 'int32' is not supported/);
  const x = kiln.input({ shape: [4, 2] });
  const masked = kiln.layers.masking().apply(x);
  assert.throws(() => kiln.model({ inputs: x, outputs: kiln.layers.rnn({ cell: cell() }).apply(masked) }).predict(kiln.zeros([1, 4, 2])),
    /RNN\): does not take masked inputs/);
});
