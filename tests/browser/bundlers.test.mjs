// The npm package in bundled apps (issue #17): tests/browser/bundler_app, with
// Kiln installed from the `npm pack` tarball, is built unchanged (no plugin,
// no config beyond the entry) by Vite and by webpack, offline, and each build
// runs in headless Chromium, cross-origin isolated (the threaded build and its
// pthread worker, renamed by the bundler) and not (the single-threaded build).
// Vite's dev server runs it too. The app predicts, trains and runs the
// exported model through kiln.onnx.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../scripts/serve.mjs';
import { launchBrowser } from '../../scripts/browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
let app, browser;

before(async () => {
  app = mkdtempSync(join(tmpdir(), 'kiln-bundled-'));
  cpSync(join(ROOT, 'tests/browser/bundler_app'), app, { recursive: true });
  const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', app], { cwd: ROOT }).toString().trim().split('\n').pop();
  mkdirSync(join(app, 'node_modules', 'kiln'), { recursive: true });
  execFileSync('tar', ['xzf', join(app, tgz), '-C', join(app, 'node_modules', 'kiln'), '--strip-components=1']);
  browser = await launchBrowser();
});

after(async () => { await browser?.close(); });

async function buildWithVite() {
  const { build } = await import('vite');
  const outDir = join(app, 'dist-vite');
  await build({ root: app, logLevel: 'silent', configFile: false, build: { outDir, emptyOutDir: true } });
  return outDir;
}

async function buildWithWebpack() {
  const webpack = (await import('webpack')).default;
  const outDir = join(app, 'dist-webpack');
  const stats = await new Promise((resolve, reject) => webpack({
    mode: 'production',
    context: app,
    entry: './main.js',
    output: { path: outDir, filename: 'main.js' },
  }, (err, s) => (err ? reject(err) : resolve(s))));
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  assert.deepEqual(info.errors, [], 'webpack errors');
  // Only the size notices: the .wasm builds are 1.9 MB each before compression.
  const warnings = info.warnings.map((w) => w.message).filter((m) => !/asset size limit|performance recommendations/.test(m));
  assert.deepEqual(warnings, [], 'webpack warnings');
  writeFileSync(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script src="main.js"></script>');
  return outDir;
}

async function runApp(root, isolated, url = null) {
  const server = url ? null : await serve({ isolated, root });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
  try {
    await page.goto(url ?? server.url);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 30000 })
      .catch((e) => { throw new Error(`the app never finished: ${errors.join('; ') || e.message}`); });
    const r = await page.evaluate(() => window.result);
    assert.deepEqual(errors, []);
    return r;
  } finally {
    await page.close();
    await server?.close();
  }
}

function checkResult(r, isolated) {
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.variant, isolated ? 'wasm-simd128-threads' : 'wasm-simd128');
  if (isolated) assert.ok(r.threads >= 2, `threads ${r.threads}`);
  assert.deepEqual(r.before, [6, 6, 3, 3]);  // kernel of ones: the row sums
  assert.equal(r.losses.length, 5);
  assert.ok(r.losses[4] < r.losses[0], `losses ${r.losses}`);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(r.onnx[i] - r.layers[i]) < 1e-5, `onnx ${r.onnx} layers ${r.layers}`);
  assert.equal(r.worker.environment, 'worker');
  assert.equal(r.worker.variant, r.variant);
  assert.deepEqual(r.worker.y, r.layers);
}

for (const [name, builder] of [['Vite', buildWithVite], ['webpack', buildWithWebpack]]) {
  test(`${name} builds the app unchanged and it runs threaded and single-threaded`, async () => {
    const dist = await builder();
    // The bundle carries the engine's four builds (names are the bundler's).
    const files = readdirSync(dist, { recursive: true }).map(String);
    assert.equal(files.filter((f) => f.endsWith('.wasm')).length, 4, files.join(', '));
    checkResult(await runApp(dist, true), true);
    checkResult(await runApp(dist, false), false);
  });
}

test("Vite's dev server (dependency pre-bundling on) serves the app unchanged", async () => {
  const { createServer } = await import('vite');
  const server = await createServer({ root: app, configFile: false, logLevel: 'silent', server: { host: '127.0.0.1', port: 0 } });
  await server.listen();
  try {
    checkResult(await runApp(null, false, server.resolvedUrls.local[0]), false);
  } finally {
    await server.close();
  }
});
