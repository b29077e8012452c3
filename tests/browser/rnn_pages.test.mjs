// Recurrent networks in headless Chromium (cross-origin isolated, threaded
// wasm): the LSTM demo page (web/lstm.html) trains a character model with a
// live plot, beats the most-frequent-character baseline on held-out text and
// samples text from the vocabulary; then, in the same page, an LSTM and a GRU
// learn to add 4-digit numbers (web/addition_task.js) to >= 99% exact sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoPage } from '../../scripts/browser.mjs';

test('LSTM demo page trains, samples, and recurrent layers learn addition in Chromium', { timeout: 240_000 }, async (t) => {
  const { server, page, errors } = await demoPage(t);

  await page.goto(`${server.url}web/lstm.html?epochs=2&sampleLength=60`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state));
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', await page.textContent('#status'));
  assert.equal(await page.textContent('#variant'), 'wasm-simd128-threads');

  const t0 = Date.now();
  await page.click('#train');
  await page.waitForFunction(() => document.body.dataset.state === 'training' && Number(document.getElementById('plot').dataset.points) > 0);
  await page.waitForFunction(() => ['trained', 'error'].includes(document.body.dataset.state), null, { timeout: 150_000 });
  const trained = await page.evaluate(() => ({
    state: document.body.dataset.state,
    status: document.getElementById('status').textContent,
    points: Number(document.getElementById('plot').dataset.points),
    testAccuracy: Number(document.getElementById('test-acc').dataset.value),
    samples: [...document.querySelectorAll('#samples .sample-text')].map((p) => p.textContent),
  }));
  t.diagnostic(`char LSTM: ${Date.now() - t0} ms for 2 epochs, held-out accuracy ${trained.testAccuracy}`);
  assert.equal(trained.state, 'trained', trained.status);
  assert.ok(trained.points >= 90, `the plot got ${trained.points} points`);
  // The most frequent character (the space) is about 16% of the text.
  assert.ok(trained.testAccuracy > 0.3, `held-out next-character accuracy ${trained.testAccuracy}`);
  assert.equal(trained.samples.length, 2);  // one per epoch

  await page.click('#sample');
  const vocab = new Set(await page.evaluate(async () => {
    const text = await (await fetch('/debian/common-licenses/GPL-3')).text();
    return [...text.replace(/\s+/g, ' ')];
  }));
  const sample = await page.evaluate(() => document.querySelector('#samples .sample-text').textContent);
  assert.equal(sample.length, 40 + 60);
  for (const c of sample) assert.ok(vocab.has(c), `sampled '${c}', which is not in the text`);

  for (const cell of ['lstm', 'gru']) {
    const r = await page.evaluate(async (cell) => {
      // The page's engine is in its worker; this check uses the module on the main thread.
      const kiln = await import('/lib/index.js');
      await kiln.ready({ quiet: true });
      const { trainAddition } = await import('/web/addition_task.js');
      const { accuracy, seconds } = await trainAddition(kiln, { cell, epochs: 15 });
      return { accuracy, seconds };
    }, cell);
    t.diagnostic(`${cell} addition in Chromium: ${(100 * r.accuracy).toFixed(1)}% exact sums in ${r.seconds.toFixed(1)} s`);
    assert.ok(r.accuracy >= 0.99, `${cell}: ${r.accuracy}`);
  }
  await page.screenshot({ path: '/tmp/kiln-lstm-demo.png', fullPage: true });
  assert.deepEqual(errors, []);
});
