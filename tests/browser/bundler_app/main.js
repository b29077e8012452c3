// A small app that uses Kiln as an installed npm package, built unchanged by
// Vite and by webpack (tests/browser/bundlers.test.mjs): it loads the engine,
// trains a dense layer a few steps, and runs the same model through the ONNX
// runtime after exporting it, so the Layers API and kiln.onnx both run from
// the bundle; then it predicts with the same weights in worker mode
// (kiln/worker: the bundler must also bundle the worker and its imports).
import * as kiln from 'kiln';
import { startWorker } from 'kiln/worker';

async function main() {
  const info = await kiln.ready();
  const model = kiln.sequential({
    layers: [kiln.layers.dense({ units: 2, inputShape: [3], kernelInitializer: 'ones', biasInitializer: 'zeros' })],
  });
  const x = kiln.tensor([[1, 2, 3], [0, -1, 4]], [2, 3]);
  const before = Array.from(model.predict(x).dataSync());
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const history = await model.fit(x, kiln.tensor([[0, 1], [1, 0]], [2, 2]), { epochs: 5, batchSize: 2 });
  const session = await kiln.onnx.load(await kiln.onnx.export(model));
  const onnx = await session.run({ [session.inputNames[0]]: x });
  const remote = await startWorker();
  const copy = await remote.loadModel(await model.save());
  const inWorker = await (await copy.predict(await remote.tensor(await x.data(), [2, 3]))).data();
  const workerBackend = remote.backend;
  remote.terminate();
  return {
    worker: { variant: workerBackend.variant, environment: workerBackend.environment, y: Array.from(inWorker) },
    variant: info.variant,
    threads: info.threads,
    before,
    losses: history.history.loss,
    layers: Array.from(model.predict(x).dataSync()),
    onnx: Array.from(onnx[session.outputNames[0]].dataSync()),
  };
}

main().then(
  (r) => { window.result = r; },
  (e) => { window.result = { error: String(e && e.stack || e) }; },
);
