// The relaxed-SIMD builds: the opcode rewrite decodes instructions (a constant
// holding the same bytes is left alone), both variants validate and compute
// what the scalar reference and PyTorch do, and an engine without relaxed SIMD
// gets the SIMD128 build by default and a clear error when it is forced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as kiln from 'kiln';
import { standardizeRelaxedSimd } from '../../scripts/wasm_standard_relaxed_simd.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;

// (func (param v128 v128 v128) (result v128)): i32.const whose LEB is fd af 01 then drop,
// then the three params and the pre-standard f32x4.fma.
function moduleWithFma(fmaBytes) {
  const body = [0x00, 0x41, 0xfd, 0xaf, 0x01, 0x1a, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, ...fmaBytes, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
    0x03, 0x02, 0x01, 0x00,
    0x0a, body.length + 2, 0x01, body.length, ...body,
  ]);
}

test('the opcode rewrite changes the f32x4.fma instruction and not a constant with the same bytes', () => {
  const { bytes, changed } = standardizeRelaxedSimd(moduleWithFma([0xfd, 0xaf, 0x01]));
  assert.equal(changed, 1);
  assert.deepEqual(Array.from(bytes), Array.from(moduleWithFma([0xfd, 0x85, 0x02])));
  assert.throws(() => standardizeRelaxedSimd(new Uint8Array([1, 2, 3, 4])), /not a WebAssembly module/);
  const truncated = moduleWithFma([0xfd, 0xaf, 0x01]).slice(0, -3);
  assert.throws(() => standardizeRelaxedSimd(truncated), /read past the end/);
});

test('the shipped relaxed builds hold only standard opcodes and validate where relaxed SIMD is on', () => {
  for (const name of ['kiln-st-relaxed', 'kiln-mt-relaxed']) {
    const bytes = readFileSync(join(ROOT, 'lib/wasm', `${name}.wasm`));
    assert.equal(standardizeRelaxedSimd(bytes).changed, 0, `${name} still has pre-standard opcodes`);
  }
  const check = `const fs = require('fs'); const ok = ['kiln-st-relaxed', 'kiln-mt-relaxed'].map((n) => WebAssembly.validate(fs.readFileSync('lib/wasm/' + n + '.wasm'))); console.log(JSON.stringify(ok));`;
  assert.equal(execFileSync('node', ['--experimental-wasm-relaxed-simd', '-e', check], { cwd: ROOT }).toString().trim(), '[true,true]');
});

for (const variant of ['single', 'threaded']) {
  test(`relaxed-SIMD ${variant} build: every GEMM kernel matches the reference, MobileNetV2 matches PyTorch`, () => {
    const out = execFileSync('node', ['--experimental-wasm-relaxed-simd', join(ROOT, 'tests/js/relaxed_simd_probe.mjs'), variant], { cwd: ROOT });
    const r = JSON.parse(out.toString());
    assert.equal(r.info.relaxedSimd, true);
    assert.equal(r.info.variant, variant === 'threaded' ? 'wasm-simd128-threads' : 'wasm-simd128');
    assert.equal(r.info.gemmKernel, 'wasm_relaxed_simd_4x8');
    assert.ok(r.kernels.includes('wasm_relaxed_simd_4x8') && r.kernels.includes('wasm_simd128_4x8'), r.kernels.join());
    assert.ok(r.gemmWorst <= 1, `GEMM error ${r.gemmWorst} x the tolerance`);
    assert.ok(r.mobilenetRelError < 1e-4, `MobileNetV2 relative error ${r.mobilenetRelError}`);
  });
}

test('without relaxed SIMD (plain Node 20) the SIMD128 build loads, and forcing relaxed fails clearly', async () => {
  assert.equal(kiln.relaxedSimdSupported(), false);
  const info = await kiln.ready({ quiet: true });
  assert.equal(info.relaxedSimd, false);
  assert.match(info.gemmKernel, /^wasm_simd128/);
  await assert.rejects(kiln.ready({ relaxedSimd: true }), /the SIMD128 build is already loaded/);
  const fresh = `import('kiln').then((k) => k.ready({ relaxedSimd: true, quiet: true })).then(() => console.log('loaded'), (e) => console.log(e.message));`;
  assert.match(execFileSync('node', ['-e', fresh], { cwd: ROOT }).toString(), /relaxedSimd was requested but this engine does not support relaxed SIMD/);
});
