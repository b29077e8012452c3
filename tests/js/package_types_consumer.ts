// Type-checked by tests/js/package_types.test.mjs (never run): what a TypeScript
// application writes against the package: the ops API, layer factories and worker mode.
import * as kiln from 'kiln';
import { startWorker, transfer } from 'kiln/worker';
async function main() {
  await kiln.ready();
  const x = kiln.tensor([1, 2, 3]);
  const y: kiln.Tensor = x.add(1).relu().sum();
  const z = kiln.matMul(kiln.ones([2, 2]), kiln.eye(2)).softmax(-1);
  const v: kiln.Variable = kiln.variable(kiln.zeros([3]), true, 'v');
  const g: kiln.Tensor = kiln.grad((a: kiln.Tensor) => a.square().sum())(x);
  const cost: kiln.Tensor | null = kiln.train.adam(0.1).minimize(() => kiln.sum(kiln.mul(v, x)), true, [v]);
  const vg: { value: kiln.Tensor; grads: Record<string, kiln.Tensor> } = kiln.variableGrads(() => kiln.sum(v));
  console.log(g, cost, vg);
  // Layer factories with typed arguments (js/src/layer_args.ts).
  const cnn = kiln.sequential({ layers: [
    kiln.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [28, 28, 1] }),
    kiln.layers.batchNormalization({ momentum: 0.9 }),
    kiln.layers.maxPooling2d({ poolSize: [2, 2] }),
    kiln.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, depthwiseInitializer: 'heNormal' }),
    kiln.layers.globalAveragePooling2d(),
    kiln.layers.dropout({ rate: 0.25 }),
    kiln.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: { className: 'GlorotUniform', config: {} } }),
  ] });
  const seq = kiln.input({ shape: [12, 4] });
  const encoded = kiln.layers.bidirectional({ layer: kiln.layers.lstm({ units: 8, returnSequences: true }), mergeMode: 'ave' }).apply(seq);
  const steps = kiln.layers.timeDistributed({ layer: kiln.layers.dense({ units: 2 }) }).apply(kiln.layers.gru({ units: 4, returnSequences: true, resetAfter: true }).apply(encoded));
  const rnn = kiln.model({ inputs: seq, outputs: steps });
  const vocab = kiln.layers.embedding({ inputDim: 100, outputDim: 8, inputLength: 12 });
  console.log(cnn.name, rnn.name, vocab.name, kiln.layers.concatenate({ axis: -1 }).name, kiln.layers.flatten().name);
  const w = await startWorker({ threads: 2 });
  console.log(w.backend.variant);
  const d = await w.layers.dense({ units: 2, inputShape: [3] });
  const model = await w.sequential({ layers: [d] });
  await model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const xs = await w.tensor(transfer(new Float32Array(6)), [2, 3]);
  const h = await model.fit(xs, await w.zeros([2, 2]), { epochs: 1, callbacks: { onEpochEnd: (e: number) => console.log(e) } });
  const p = await model.predict(xs);
  const values = await p.data();
  d.trainable = false;
  w.terminate();
  console.log(y, z, values, h);
}
main();
