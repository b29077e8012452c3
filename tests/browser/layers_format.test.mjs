// TF.js layers models in headless Chromium (cross-origin isolated, threaded
// wasm): the models of tests/js/tfjs_layers_models.mjs, saved by TF.js 4.22 in
// Node, load over HTTP with kiln.loadLayersModel and predict what TF.js (cpu)
// predicts; kiln.io.browserFiles reads them from File objects; and models
// move between Kiln and TF.js (loaded in the same page) through
// localstorage:// and indexeddb:// either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { demoPage } from '../../scripts/browser.mjs';
import { TFJS_MODELS, perturb, saveTfjs } from '../js/tfjs_layers_models.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIR = join(ROOT, 'build', 'tfjs-layers-models');

test('TF.js layers models load and predict as TF.js does in Chromium; storage round trips with TF.js', { timeout: 120_000 }, async (t) => {
  await tf.setBackend('cpu');
  const cases = {};
  for (const [name, make] of Object.entries(TFJS_MODELS)) {
    const { model, inputs } = make();
    perturb(model);
    await saveTfjs(model, DIR, name);
    const out = model.predict(inputs.map((x) => tf.tensor(x.values, x.shape)));
    cases[name] = {
      inputs: inputs.map((x) => ({ values: Array.from(x.values), shape: x.shape })),
      want: (Array.isArray(out) ? out : [out]).map((o) => Array.from(o.dataSync())),
    };
  }
  const { server, page, errors } = await demoPage(t);
  await page.goto(`${server.url}web/index.html`);  // any page of the site: the test imports the library itself

  const results = await page.evaluate(async (cases) => {
    const kiln = await import('/lib/index.js');
    await kiln.ready({ quiet: true });
    const rel = (got, want) => {
      let diff = 0, scale = 0;
      for (let i = 0; i < want.length; i++) { diff = Math.max(diff, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
      return diff / scale;
    };
    const run = (model, inputs) => {
      const xs = inputs.map((x) => kiln.tensor(Float32Array.from(x.values), x.shape));
      const out = model.predict(xs.length === 1 ? xs[0] : xs);
      return (Array.isArray(out) ? out : [out]).map((o) => o.dataSync());
    };
    const r = {};
    for (const [name, c] of Object.entries(cases)) {
      const fromUrl = await kiln.loadLayersModel(`/build/tfjs-layers-models/${name}/model.json`);
      const got = run(fromUrl, c.inputs);
      // The same files as a file input would give them.
      const files = await Promise.all(['model.json', 'weights.bin'].map(async (f) =>
        new File([await (await fetch(`/build/tfjs-layers-models/${name}/${f}`)).arrayBuffer()], f)));
      const fromFiles = run(await kiln.loadLayersModel(kiln.io.browserFiles(files)), c.inputs);
      r[name] = { errors: c.want.map((w, k) => rel(got[k], w)), filesErrors: c.want.map((w, k) => rel(fromFiles[k], w)) };
    }
    return r;
  }, cases);
  for (const [name, r] of Object.entries(results)) {
    t.diagnostic(`${name}: relative error ${r.errors.map((e) => e.toExponential(2)).join(', ')}`);
    for (const e of [...r.errors, ...r.filesErrors]) assert.ok(e < 1e-4, `${name}: relative error ${e}`);
  }

  // Storage: TF.js (its own bundle in the page) and Kiln read what the other wrote.
  await page.addScriptTag({ url: '/node_modules/@tensorflow/tfjs/dist/tf.min.js' });
  const storage = await page.evaluate(async () => {
    const kiln = await import('/lib/index.js');
    await window.tf.setBackend('cpu');
    const x = [[0.5, -1, 2, 0.25], [1, 1, -0.5, 0]];
    const out = {};
    for (const scheme of ['localstorage', 'indexeddb']) {
      const km = kiln.sequential({ seed: 3, layers: [kiln.layers.dense({ units: 5, activation: 'relu', inputShape: [4] }), kiln.layers.dense({ units: 2 })] });
      await km.save(`${scheme}://kiln-model`);
      const tm = await window.tf.loadLayersModel(`${scheme}://kiln-model`);
      const kPred = Array.from(km.predict(kiln.tensor(x)).dataSync()), tPred = Array.from(tm.predict(window.tf.tensor(x)).dataSync());
      const tfModel = window.tf.sequential({ layers: [window.tf.layers.dense({ units: 3, activation: 'tanh', inputShape: [4] })] });
      await tfModel.save(`${scheme}://tfjs-model`);
      const back = await kiln.loadLayersModel(`${scheme}://tfjs-model`);
      out[scheme] = { kPred, tPred, tfBack: Array.from(tfModel.predict(window.tf.tensor(x)).dataSync()),
        kBack: Array.from(back.predict(kiln.tensor(x)).dataSync()) };
    }
    return out;
  });
  for (const [scheme, s] of Object.entries(storage)) {
    s.tPred.forEach((v, i) => assert.ok(Math.abs(s.kPred[i] - v) < 1e-5, `${scheme}: Kiln-saved model in TF.js`));
    s.tfBack.forEach((v, i) => assert.ok(Math.abs(s.kBack[i] - v) < 1e-5, `${scheme}: TF.js-saved model in Kiln`));
  }
  assert.deepEqual(errors, []);
});
