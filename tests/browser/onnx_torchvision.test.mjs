// torchvision models (build/torchvision, from scripts/make_torchvision_models.py)
// through kiln.onnx in headless Chromium, cross-origin isolated (threaded
// wasm): PyTorch's outputs within 1e-4 relative (max abs diff / max abs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../../scripts/serve.mjs';
import { launchBrowser } from '../../scripts/browser.mjs';

const MODELS = { mobilenet_v2: 224, resnet50: 224, densenet121: 224, inception_v3: 299 };

test('torchvision models match PyTorch in Chromium', { timeout: 180_000 }, async (t) => {
  const server = await serve({ isolated: true });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.close(); });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.goto(`${server.url}web/index.html`);  // any page of the site: the test imports the library itself
  for (const [name, size] of Object.entries(MODELS)) {
    const r = await page.evaluate(async ({ name, size }) => {
      const kiln = await import('/lib/index.js');
      await kiln.ready({ quiet: true });
      const get = async (f) => new Uint8Array(await (await fetch(`/build/torchvision/${f}`)).arrayBuffer());
      const [bytes, inBytes, outBytes] = await Promise.all([get(`${name}.onnx`), get(`${name}.in.f32`), get(`${name}.out.f32`)]);
      const input = new Float32Array(inBytes.buffer), want = new Float32Array(outBytes.buffer);
      const t0 = performance.now();
      const session = await kiln.onnx.load(bytes);
      const t1 = performance.now();
      const out = (await session.run({ input: kiln.tensor(input, [1, 3, size, size]) })).output;
      const t2 = performance.now();
      session.dispose();
      const got = out.dataSync();
      let diff = 0, scale = 0;
      for (let i = 0; i < want.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - want[i]));
        scale = Math.max(scale, Math.abs(want[i]));
      }
      return { shape: out.shape, rel: diff / scale, loadMs: t1 - t0, runMs: t2 - t1, variant: kiln.backendInfo().variant };
    }, { name, size });
    t.diagnostic(`${name}: relative error ${r.rel.toExponential(2)}, load ${r.loadMs.toFixed(0)} ms, first run ${r.runMs.toFixed(0)} ms (${r.variant})`);
    assert.deepEqual(r.shape, [1, 1000]);
    assert.ok(r.rel < 1e-4, `${name}: relative error ${r.rel}`);
  }
  assert.deepEqual(errors, []);
});
