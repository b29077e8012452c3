// kiln/worker in headless Chromium (issue #17): the engine, threaded build and
// its pthread pool included, runs in a module Web Worker of a cross-origin
// isolated page, and the page's main thread stays free while it trains: the
// longest main-thread task (PerformanceObserver 'longtask', which reports
// tasks over 50 ms) and the longest gap of a 5 ms heartbeat timer are
// measured during an MLP fit, in worker mode and, for comparison, with the
// engine on the main thread. Target: no long task in worker mode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../scripts/serve.mjs';
import { launchBrowser } from '../../scripts/browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
let site, browser, server;

before(async () => {
  site = mkdtempSync(join(tmpdir(), 'kiln-worker-'));
  const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', site], { cwd: ROOT }).toString().trim().split('\n').pop();
  mkdirSync(join(site, 'node_modules', 'kiln'), { recursive: true });
  execFileSync('tar', ['xzf', join(site, tgz), '-C', join(site, 'node_modules', 'kiln'), '--strip-components=1']);
  writeFileSync(join(site, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{"imports": {"kiln": "/node_modules/kiln/lib/index.js", "kiln/worker": "/node_modules/kiln/lib/worker.js"}}</script>
<script type="module">
  import { startWorker } from 'kiln/worker';
  // One MLP fit (784-256-128-10, 4096 samples, batch 64, 2 epochs) while the
  // main thread's long tasks and timer gaps are recorded.
  async function measuredFit(kiln) {
    const n = 4096, x = new Float32Array(n * 784), y = new Float32Array(n * 10);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37);
    for (let i = 0; i < n; i++) y[i * 10 + (i % 10)] = 1;
    const model = await kiln.sequential({ seed: 1, layers: [
      await kiln.layers.dense({ units: 256, activation: 'relu', inputShape: [784] }),
      await kiln.layers.dense({ units: 128, activation: 'relu' }),
      await kiln.layers.dense({ units: 10, activation: 'softmax' }),
    ] });
    await model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const xs = await kiln.tensor(x, [n, 784]), ys = await kiln.tensor(y, [n, 10]);
    const longTasks = [];
    const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e.duration); });
    observer.observe({ type: 'longtask' });
    let last = performance.now(), maxGap = 0;
    const beat = setInterval(() => { const now = performance.now(); maxGap = Math.max(maxGap, now - last); last = now; }, 5);
    const t0 = performance.now();
    const h = await model.fit(xs, ys, { epochs: 2, batchSize: 64 });
    const ms = performance.now() - t0;
    clearInterval(beat);
    await new Promise((r) => setTimeout(r, 100));  // let the observer deliver
    observer.disconnect();
    return { ms, longestTask: Math.max(0, ...longTasks), longTasks: longTasks.length, maxGap, loss: h.history.loss };
  }
  window.inWorker = async () => {
    const kiln = await startWorker({ quiet: true });
    const r = await measuredFit(kiln);
    r.backend = kiln.backend;
    kiln.terminate();
    return r;
  };
  window.onMainThread = async () => {
    const kiln = await import('kiln');
    const backend = await kiln.ready({ quiet: true });
    // The same program: awaiting a plain value is harmless.
    return { ...(await measuredFit(kiln)), backend };
  };
  window.pageReady = true;
</script>`);
  server = await serve({ isolated: true, root: site });
  browser = await launchBrowser();
});

after(async () => { await browser?.close(); await server?.close(); });

test('training in worker mode leaves the main thread free (no task over 50 ms); on the main thread it does not', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 15000 });
  // Each once to warm the browser (the page's first fit runs slower, whichever
  // goes first), then the pair that is reported.
  await page.evaluate(() => window.inWorker());
  await page.evaluate(() => window.onMainThread());
  const worker = await page.evaluate(() => window.inWorker());
  const main = await page.evaluate(() => window.onMainThread());
  await page.close();
  console.log(`worker mode: fit ${worker.ms.toFixed(0)} ms, longest main-thread task ${worker.longestTask.toFixed(0)} ms ` +
    `(${worker.longTasks} over 50 ms), longest timer gap ${worker.maxGap.toFixed(1)} ms; ` +
    `main thread: fit ${main.ms.toFixed(0)} ms, longest task ${main.longestTask.toFixed(0)} ms (${main.longTasks} over 50 ms), ` +
    `longest timer gap ${main.maxGap.toFixed(1)} ms`);
  assert.deepEqual(errors, []);
  assert.equal(worker.backend.environment, 'worker');
  assert.equal(worker.backend.variant, 'wasm-simd128-threads');
  assert.equal(worker.longTasks, 0, `worker mode had main-thread tasks of ${worker.longestTask} ms`);
  // The timer gap is reported, not asserted: on a loaded machine the OS can
  // delay a timer whatever the page does.
  // The same training either way.
  assert.deepEqual(worker.loss, main.loss);
});
