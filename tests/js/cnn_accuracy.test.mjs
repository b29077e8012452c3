// The accuracy bars for convolutional networks, in Node through the
// public JS API (threaded wasm, all cores): the CNN of web/cnn_model.js
// reaches >= 99.0% test accuracy on the full MNIST (60k train / 10k test)
// and >= 90% on the full Fashion-MNIST. The same runs in headless Chromium:
// tests/browser/cnn_accuracy.test.mjs. Settings: cnn_accuracy_runs.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';
import { loadMnistNode } from '../../web/mnist.js';
import { loadFashionMnistNode } from '../../web/fashion_mnist.js';
import { trainCnn, predictCnn, misclassified } from '../../web/cnn_model.js';
import { RUNS, describeRun } from './cnn_accuracy_runs.mjs';

const LOADERS = { mnist: loadMnistNode, fashion: loadFashionMnistNode };

for (const run of RUNS) {
  test(`CNN on the full ${run.name} reaches >= ${100 * run.target}% test accuracy (Node)`, async (t) => {
    const info = await ready();
    const t0 = performance.now();
    const data = await LOADERS[run.dataset]();
    assert.equal(data.train.n, 60000);
    assert.equal(data.test.n, 10000);
    const r = await trainCnn(kiln, data, run.options);
    const seconds = (performance.now() - t0) / 1000;
    // evaluate's accuracy against the predictions' argmax, counted here.
    const wrong = misclassified(await predictCnn(kiln, r.model, data.test.images, run.dataset), data.test.labels).length;
    r.model.dispose();
    t.diagnostic(`${run.name}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}% (loss ${r.testLoss.toFixed(4)}, ` +
      `${wrong} of 10000 wrong); ${describeRun(run)}; training ${(r.trainMs / 1000).toFixed(1)} s ` +
      `(${r.msPerBatch.toFixed(1)} ms/batch), ${seconds.toFixed(1)} s in all; ${info.variant}, ${info.threads} thread(s)`);
    assert.equal(r.batches, run.options.epochs * Math.ceil(60000 / run.options.batchSize));
    assert.ok(Math.abs(r.testAccuracy - (1 - wrong / 10000)) < 1e-4, `evaluate ${r.testAccuracy} vs argmax ${1 - wrong / 10000}`);
    assert.ok(r.testAccuracy >= run.target, `${run.name} test accuracy ${r.testAccuracy} < ${run.target}`);
  });
}
