// Files written by `kiln convert` (a Kiln graph file: the ONNX graph with its
// weights in an aligned table, optionally float16 or int8) load through the
// same kiln.onnx.load as .onnx bytes, in the wasm build, and give PyTorch's
// outputs within the bounds of their weight rounding. The model is
// torchvision's MobileNetV2 (build/torchvision, from
// scripts/make_torchvision_models.py): its weights are large enough to be
// narrowed (tensors of >= 1024 elements are).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kiln from 'kiln';
import { ready, relError } from './helpers.mjs';

await ready();
const cli = fileURLToPath(new URL('../../build/kiln', import.meta.url));
const model = fileURLToPath(new URL('../../build/torchvision/mobilenet_v2.onnx', import.meta.url));
const floats = (f) => {
  const b = readFileSync(model.replace('.onnx', f));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};
const input = floats('.in.f32'), want = floats('.out.f32');
const out = mkdtempSync(join(tmpdir(), 'kiln-convert-'));
const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

async function converted(flag) {
  const file = join(out, `mobilenet${flag}.kiln`);
  execFileSync(cli, ['convert', model, file, ...(flag ? [flag] : [])]);
  const bytes = new Uint8Array(readFileSync(file));
  const session = await kiln.onnx.load(bytes);
  const y = (await session.run({ input: kiln.tensor(input, [1, 3, 224, 224]) })).output.dataSync();
  session.dispose();
  return { error: relError(y, want), bytes: bytes.length, top1: argmax(y) };
}

test('float32, float16 and int8 Kiln graph files run in wasm and match PyTorch within their rounding', async () => {
  const fp32 = await converted(''), fp16 = await converted('--fp16'), int8 = await converted('--int8');
  const seen = JSON.stringify({ fp32, fp16, int8 });
  assert.ok(fp32.error < 1e-4, seen);
  // This random-weight model amplifies rounding: PyTorch itself, its weights
  // rounded alike, moves by 6.2e-3 (float16) and 9.9e-2 (int8); see docs/ONNX.md.
  assert.ok(fp16.error > 0 && fp16.error < 1e-2 && fp16.top1 === argmax(want), seen);
  assert.ok(int8.error > fp16.error && int8.error < 0.15, seen);
  assert.ok(Math.abs(fp16.bytes / fp32.bytes - 0.5) < 0.02 && Math.abs(int8.bytes / fp32.bytes - 0.26) < 0.02, seen);
});

test('a damaged Kiln graph file is refused with a clear error and the module stays usable', async () => {
  const file = join(out, 'damaged.kiln');
  execFileSync(cli, ['convert', model, file, '--int8']);
  const bytes = new Uint8Array(readFileSync(file));
  bytes[bytes.length - 3] ^= 0x5a;
  await assert.rejects(kiln.onnx.load(bytes), /onnx\.load: invalid Kiln graph file/);
  assert.ok((await converted('')).error < 1e-4);
});
