// TF.js graph models in headless Chromium (cross-origin isolated, threaded
// wasm): @vladmandic/human's face detector, face mesh and body-pose models
// load over HTTP with kiln.loadGraphModel and give what TensorFlow.js 4.22
// (its own bundle in the same page, cpu backend) gives on the same input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoPage } from '../../scripts/browser.mjs';

const MODELS = ['blazeface', 'facemesh', 'movenet-lightning'];

test('TF.js graph models load over HTTP and match TF.js in Chromium', { timeout: 180_000 }, async (t) => {
  const { server, page, errors } = await demoPage(t);
  await page.goto(`${server.url}web/index.html`);  // any page of the site: the test imports the library itself
  await page.addScriptTag({ url: '/node_modules/@tensorflow/tfjs/dist/tf.min.js' });
  const results = await page.evaluate(async (models) => {
    const kiln = await import('/lib/index.js');
    await kiln.ready({ quiet: true });
    const tf = window.tf;
    await tf.setBackend('cpu');
    const rel = (got, want) => {
      let diff = 0, scale = 0;
      for (let i = 0; i < want.length; i++) { diff = Math.max(diff, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
      return diff / scale;
    };
    const out = {};
    for (const name of models) {
      const url = `/node_modules/@vladmandic/human/models/${name}.json`;
      const [km, tm] = await Promise.all([kiln.loadGraphModel(url), tf.loadGraphModel(url)]);
      const info = tm.inputs[0];
      const shape = info.shape.map((d) => (d < 0 ? 1 : d));
      const n = shape.reduce((a, b) => a * b, 1);
      // A smooth image-like input, 0..1 (0..255 for integer inputs).
      const f = Float32Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i / 97) * Math.cos(i / 1013));
      const values = info.dtype === 'int32' ? Int32Array.from(f, (v) => Math.round(255 * v)) : f;
      const want = tm.predict(tf.tensor(values, shape, info.dtype));
      const got = km.predict(kiln.tensor(values, shape, info.dtype));
      const w = want instanceof tf.Tensor ? [want] : want, g = got instanceof kiln.Tensor ? [got] : got;
      out[name] = {
        names: [km.inputNodes, km.outputNodes, tm.inputNodes, tm.outputNodes],
        shapes: g.map((x, i) => [x.shape, w[i].shape]),
        errors: w.map((x, i) => rel(g[i].dataSync(), x.dataSync())),
      };
    }
    return out;
  }, MODELS);
  for (const [name, r] of Object.entries(results)) {
    t.diagnostic(`${name}: relative error ${r.errors.map((e) => e.toExponential(2)).join(', ')}`);
    assert.deepEqual(r.names[0], r.names[2], `${name}: input names`);
    assert.deepEqual(r.names[1], r.names[3], `${name}: output names`);
    for (const [a, b] of r.shapes) assert.deepEqual(a, b, `${name}: output shape`);
    for (const e of r.errors) assert.ok(e < 1e-4, `${name}: relative error ${e}`);
  }
  assert.deepEqual(errors, []);
});
