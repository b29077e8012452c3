// Both wasm variants compute the same bits; the npm tarball installs and
// imports as 'kiln'; model files move between the JS and native APIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kiln from 'kiln';
import { ready, randomFloats } from './helpers.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const probe = (variant) => JSON.parse(execFileSync('node', [join(ROOT, 'tests/js/variant_probe.mjs'), variant], { cwd: ROOT }).toString());

test('single-threaded and threaded variants train to bit-identical weights', () => {
  const st = probe('single'), mt = probe('threaded');
  assert.equal(st.variant, 'wasm-simd128');
  assert.equal(mt.variant, 'wasm-simd128-threads');
  assert.equal(mt.threads, 2);
  assert.deepEqual(st.out, mt.out);
});

test('a file saved from JS loads natively, and one made natively loads in JS, with the same outputs', async () => {
  await ready();
  const cli = join(ROOT, 'build/kiln');
  assert.ok(existsSync(cli), 'native CLI missing: run make native');
  const dir = mkdtempSync(join(tmpdir(), 'kiln-'));
  const x = randomFloats(7 * 6, 3);
  writeFileSync(join(dir, 'x.f32'), Buffer.from(x.buffer));
  const compare = (jsOut, file) => {
    const nat = new Float32Array(new Uint8Array(readFileSync(file)).buffer);
    assert.equal(nat.length, jsOut.length);
    // Native uses FMA (AVX2/AVX-512), wasm mul+add: equal to float rounding.
    for (let i = 0; i < nat.length; i++) assert.ok(Math.abs(nat[i] - jsOut[i]) <= 1e-6 * (1 + Math.abs(jsOut[i])), `${i}: ${nat[i]} vs ${jsOut[i]}`);
  };
  // JS -> native
  const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 9, activation: 'tanh', inputShape: [6] }), kiln.layers.dense({ units: 4, activation: 'softmax' })] });
  writeFileSync(join(dir, 'js.kiln'), await m.save());
  execFileSync(cli, ['predict', join(dir, 'js.kiln'), join(dir, 'x.f32'), '7', join(dir, 'y.f32')]);
  compare(m.predict(kiln.tensor(x, [7, 6])).dataSync(), join(dir, 'y.f32'));
  // native -> JS
  execFileSync(cli, ['init', join(dir, 'native.kiln'), '6', '11:relu', '5:sigmoid', '3:softmax', '--seed', '9']);
  const loaded = await kiln.loadModel(new Uint8Array(readFileSync(join(dir, 'native.kiln'))));
  assert.deepEqual(loaded.layers.map((l) => [l.getConfig().units, l.getConfig().activation]), [[11, 'relu'], [5, 'sigmoid'], [3, 'softmax']]);
  execFileSync(cli, ['predict', join(dir, 'native.kiln'), join(dir, 'x.f32'), '7', join(dir, 'y2.f32')]);
  compare(loaded.predict(kiln.tensor(x, [7, 6])).dataSync(), join(dir, 'y2.f32'));
  // The native CLI rejects a corrupted file with a clear message.
  const bad = readFileSync(join(dir, 'native.kiln')).subarray(0, 100);
  writeFileSync(join(dir, 'bad.kiln'), bad);
  assert.throws(() => execFileSync(cli, ['inspect', join(dir, 'bad.kiln')], { stdio: 'pipe' }), (e) => /truncated or padded/.test(e.stderr.toString()));
});

test('the npm tarball installs and works as `import * as kiln from "kiln"`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-pack-'));
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT }).toString().trim().split('\n').pop();
  const app = join(dir, 'app');
  mkdirSync(join(app, 'node_modules', 'kiln'), { recursive: true });
  execFileSync('tar', ['xzf', join(dir, name), '-C', join(app, 'node_modules', 'kiln'), '--strip-components=1']);
  for (const f of ['lib/index.js', 'lib/index.d.ts', 'lib/wasm/kiln-st.wasm', 'lib/wasm/kiln-mt.wasm', 'lib/wasm/kiln-mt.worker.js',
    'lib/wasm/kiln-st-relaxed.wasm', 'lib/wasm/kiln-mt-relaxed.wasm', 'lib/wasm/kiln-mt-relaxed.worker.js'])
    assert.ok(existsSync(join(app, 'node_modules', 'kiln', f)), `tarball lacks ${f}`);
  writeFileSync(join(app, 'package.json'), '{"type":"module"}');
  writeFileSync(join(app, 'main.js'), `import * as kiln from 'kiln';
const info = await kiln.ready({ quiet: true });
const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 2, inputShape: [3] })] });
console.log(info.variant, m.countParams());`);
  const out = execFileSync('node', ['main.js'], { cwd: app }).toString().trim();
  assert.equal(out, 'wasm-simd128-threads 8');
});
