// Fine-tuning imported ONNX models through the public JS API (Node):
// kiln.onnx.loadModel on a PyTorch CNN (scripts/make_finetune_fixtures.py,
// written into build/finetune by `make fixtures`) matches PyTorch's outputs,
// and its losses and weights over 10 steps of SGD and of Adam, within 1e-5
// relative; a frozen layer (layer.trainable = false) does not move. Then
// transfer learning: torchvision's MobileNetV2 (build/torchvision) frozen,
// with a new head, learns three Fashion-MNIST classes from 300 images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as kiln from 'kiln';
import { ready, relError } from './helpers.mjs';
import { bytes, x, y, expected, IMAGE } from './finetune_fixture.mjs';
import { loadFashionMnistNode } from '../../web/fashion_mnist.js';
import { fashionTransferData, TRANSFER_CLASSES } from '../../web/transfer_data.js';
import { transferModel } from '../../web/transfer_learning.js';

await ready();

// Largest |got - want| / max(1e-3, |want|), elementwise.
function worstRelative(got, want) {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1e-3, Math.abs(want[i])));
  return worst;
}

test('an imported PyTorch CNN predicts what PyTorch does', async () => {
  const model = await kiln.onnx.loadModel(bytes);
  assert.deepEqual(model.inputs[0].shape, [null, 3, 12, 12]);
  assert.deepEqual(model.outputs[0].shape, [null, 10]);
  const out = model.predict(kiln.tensor(x.subarray(0, 8 * IMAGE), [8, 3, 12, 12]));
  assert.ok(worstRelative(out.dataSync(), expected.forward) < 1e-5);
  assert.deepEqual(model.layers.filter((l) => ['Conv2D', 'DepthwiseConv2D', 'Dense'].includes(l.className)).map((l) => l.name),
    ['c1', 'dw', 'pw', 'fc']);
  model.dispose();
});

for (const run of expected.runs) {
  test(`10 steps of ${run.name} match PyTorch`, async (t) => {
    const model = await kiln.onnx.loadModel(bytes);
    for (const name of run.frozen) model.getLayer(name).trainable = false;
    const frozenBefore = run.frozen.map((name) => model.getLayer(name).getWeights().map((w) => w.dataSync().slice()));
    const optimizer = run.optimizer === 'adam' ? kiln.train.adam(0.001) : kiln.train.sgd(0.1);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    let worstLoss = 0;
    for (let step = 0; step < 10; step++) {
      const xb = kiln.tensor(x.subarray(step * 8 * IMAGE, (step + 1) * 8 * IMAGE), [8, 3, 12, 12]);
      const yb = kiln.tensor(y.subarray(step * 80, (step + 1) * 80), [8, 10]);
      const loss = await model.trainOnBatch(xb, yb);
      worstLoss = Math.max(worstLoss, Math.abs(loss - run.losses[step]) / Math.abs(run.losses[step]));
    }
    let worstWeight = 0;
    for (const layer of ['c1', 'dw', 'pw', 'fc']) {
      const [kernel, bias] = model.getLayer(layer).getWeights();
      const kernelName = layer === 'dw' ? 'depthwise_kernel' : 'kernel';
      // Relative to each tensor's scale: Adam's steps are scale-free, so a weight whose gradient is ~0 moves by float noise.
      worstWeight = Math.max(worstWeight, relError(kernel.dataSync(), run.weights[`${layer}/${kernelName}`]),
        relError(bias.dataSync(), run.weights[`${layer}/bias`]));
    }
    t.diagnostic(`${run.name}: worst relative error, losses ${worstLoss.toExponential(2)}, weights ${worstWeight.toExponential(2)}`);
    assert.ok(worstLoss < 1e-5, `loss error ${worstLoss}`);
    assert.ok(worstWeight < 1e-5, `weight error ${worstWeight}`);
    run.frozen.forEach((name, i) => {
      const after = model.getLayer(name).getWeights().map((w) => w.dataSync());
      after.forEach((w, k) => assert.deepEqual(w, frozenBefore[i][k], `${name} moved while frozen`));
    });
    model.dispose();
  });
}

test('loadModel rejects what it cannot translate, naming it, and stays usable', async () => {
  const gather = new Uint8Array(await readFile('/usr/share/libonnx-testdata/data/node/test_gather_0/model.onnx'));
  await assert.rejects(kiln.onnx.loadModel(gather), /Gather.*kiln\.onnx\.load/);
  await assert.rejects(kiln.onnx.loadModel(bytes.subarray(0, 100)), /onnx\.loadModel/);
  await assert.rejects(kiln.onnx.loadModel(bytes, { inputShape: [3, 12, 12] }), /unknown option 'inputShape'/);
  await assert.rejects(kiln.onnx.loadModel(bytes, { inputShapes: [[3, 20, 20]] }), /fc\/kernel/);
  const model = await kiln.onnx.loadModel(bytes);
  assert.equal(model.predict(kiln.tensor(x.subarray(0, IMAGE), [1, 3, 12, 12])).shape[1], 10);
  model.dispose();
});

test('a frozen layer stays frozen through save and load', async () => {
  const model = await kiln.onnx.loadModel(bytes);
  model.getLayer('c1').trainable = false;
  const again = await kiln.loadModel(await model.save());
  assert.equal(again.getLayer('c1').trainable, false);
  assert.equal(again.getLayer('fc').trainable, true);
  model.dispose();
  again.dispose();
});

test('transfer learning: frozen MobileNetV2 with a new head learns three Fashion-MNIST classes', async (t) => {
  const onnx = new Uint8Array(await readFile(new URL('../../build/torchvision/mobilenet_v2.onnx', import.meta.url)));
  const data = fashionTransferData(kiln, await loadFashionMnistNode({ trainLimit: 2000, testLimit: 1000 }), { perClass: 100, testPerClass: 50, size: 64 });
  const model = await transferModel(kiln, onnx, { size: 64, classes: TRANSFER_CLASSES.length });
  const frozen = model.getLayer(model.layers.find((l) => l.className === 'Conv2D').name).getWeights()[0].dataSync().slice();
  const t0 = performance.now();
  const history = await model.fit(data.xTrain, data.yTrain, { epochs: 6, batchSize: 32, shuffle: true });
  const seconds = (performance.now() - t0) / 1000;
  const [, acc] = model.evaluate(data.xTest, data.yTest);
  const accuracy = acc.dataSync()[0];
  t.diagnostic(`loss ${history.history.loss.map((v) => v.toFixed(3)).join(' ')}; held-out accuracy ${(100 * accuracy).toFixed(1)}% (${data.yTest.shape[0]} images), fit ${seconds.toFixed(1)} s`);
  assert.ok(accuracy >= 0.8, `accuracy ${accuracy}`);
  assert.deepEqual(model.getLayer(model.layers.find((l) => l.className === 'Conv2D').name).getWeights()[0].dataSync(), frozen);
  model.dispose();
});
