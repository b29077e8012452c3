// torchvision models (exported by scripts/make_torchvision_models.py into
// build/torchvision; `make test` does it first) through kiln.onnx in Node:
// PyTorch's outputs within 1e-4 relative (max abs diff / max abs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as kiln from 'kiln';
import { ready, relError } from './helpers.mjs';

await ready();
const dir = new URL('../../build/torchvision/', import.meta.url);
const MODELS = { mobilenet_v2: 224, resnet50: 224, densenet121: 224, inception_v3: 299 };

for (const [name, size] of Object.entries(MODELS)) {
  test(`${name} matches PyTorch`, async (t) => {
    const bytes = new Uint8Array(await readFile(new URL(`${name}.onnx`, dir)));
    const input = new Float32Array((await readFile(new URL(`${name}.in.f32`, dir))).buffer.slice(0));
    const want = new Float32Array((await readFile(new URL(`${name}.out.f32`, dir))).buffer.slice(0));
    const t0 = performance.now();
    const session = await kiln.onnx.load(bytes);
    const t1 = performance.now();
    const out = (await session.run({ input: kiln.tensor(input, [1, 3, size, size]) })).output;
    const t2 = performance.now();
    session.dispose();
    assert.deepEqual(out.shape, [1, 1000]);
    const rel = relError(out.dataSync(), want);
    t.diagnostic(`${name}: relative error ${rel.toExponential(2)}, load ${(t1 - t0).toFixed(0)} ms, first run ${(t2 - t1).toFixed(0)} ms (${kiln.backendInfo().variant})`);
    assert.ok(rel < 1e-4, `relative error ${rel}`);
  });
}
