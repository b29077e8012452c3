// ONNX import through the public JS API (kiln.onnx): PyTorch-exported models
// (tests/fixtures/onnx_models, written by scripts/make_onnx_test_models.py)
// give PyTorch's outputs, at any batch size; bad inputs and hostile files give
// clear errors and leave the module usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as kiln from 'kiln';
import { ready, relError } from './helpers.mjs';

await ready();
const dir = new URL('../fixtures/onnx_models/', import.meta.url);
const fixture = async (name) => ({
  bytes: new Uint8Array(await readFile(new URL(`${name}.onnx`, dir))),
  ref: JSON.parse(await readFile(new URL(`${name}.json`, dir), 'utf8')),
});

async function matchesTorch(name) {
  const { bytes, ref } = await fixture(name);
  const session = await kiln.onnx.load(bytes);
  assert.deepEqual(session.inputNames, ['input']);
  assert.deepEqual(session.outputNames, ['output']);
  assert.equal(session.inputs[0].shape[0], null);  // the exported dynamic batch
  const out = await session.run({ input: kiln.tensor(Float32Array.from(ref.input), ref.input_shape) });
  assert.deepEqual(out.output.shape, ref.output_shape);
  assert.ok(relError(out.output.dataSync(), ref.output) < 1e-4, `relative error ${relError(out.output.dataSync(), ref.output)}`);
  // One sample alone gives that sample's row.
  const per = ref.input.length / ref.input_shape[0], perOut = ref.output.length / ref.output_shape[0];
  const one = await session.run({ input: kiln.tensor(Float32Array.from(ref.input.slice(0, per)), [1, ...ref.input_shape.slice(1)]) });
  assert.ok(relError(one.output.dataSync(), ref.output.slice(0, perOut)) < 1e-4);
  session.dispose();
}

test('a PyTorch MLP (Gemm, Relu, Softmax) gives PyTorch\'s outputs at any batch size', () => matchesTorch('mlp'));

test('bad inputs and hostile files give clear errors, and the module stays usable', async () => {
  const { bytes, ref } = await fixture('mlp');
  const session = await kiln.onnx.load(bytes);
  await assert.rejects(session.run({ x: kiln.tensor([1], [1]) }), /no input 'x' \(inputs: input\)/);
  await assert.rejects(session.run({ input: kiln.tensor(new Float32Array(6), [2, 3]) }), /input 'input': dimension 1 must be 8, got shape \[2, 3\]/);
  await assert.rejects(kiln.onnx.load(bytes.slice(0, bytes.length - 7)), /onnx\.load: invalid ONNX model/);
  await assert.rejects(kiln.onnx.load(Uint8Array.from({ length: 300 }, (_, i) => (i * 73) & 255)), /onnx\.load: /);
  const out = await session.run({ input: kiln.tensor(Float32Array.from(ref.input), ref.input_shape) });
  assert.ok(relError(out.output.dataSync(), ref.output) < 1e-4);
});

test('seeded mutations of a model file (bytes and names) never abort the wasm instance', async () => {
  const { bytes, ref } = await fixture('cnn');
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  const x = kiln.tensor(Float32Array.from(ref.input), ref.input_shape);
  // The op and value names in the file, each a run of ASCII: mutations that rename them make
  // graphs with dangling inputs, ops of the wrong kind or arity, values written twice.
  const words = [];
  for (let i = 0, start = -1; i <= bytes.length; i++) {
    const printable = i < bytes.length && bytes[i] >= 0x30 && bytes[i] < 0x7b;
    if (printable && start < 0) start = i;
    if (!printable && start >= 0) { if (i - start >= 3) words.push([start, i]); start = -1; }
  }
  let refused = 0, ran = 0;
  for (let trial = 0; trial < 300; trial++) {
    const m = bytes.slice();
    for (let k = 0, n = 1 + (next() % 3); k < n; k++) {
      if (next() % 2) {
        m[next() % m.length] = next() & 255;  // any byte
      } else {  // one name copied over another of the same length
        const [a0, a1] = words[next() % words.length], same = words.filter(([b0, b1]) => b1 - b0 === a1 - a0);
        const [b0] = same[next() % same.length];
        m.copyWithin(a0, b0, b0 + (a1 - a0));
      }
    }
    try {
      const s = await kiln.onnx.load(m);
      try { await s.run({ [s.inputNames[0]]: x }); ran++; } catch (e) { assert.match(e.message, /onnx session.run: ./); }
      s.dispose();
    } catch (e) {
      assert.match(e.message, /onnx\.load: ./);
      refused++;
    }
  }
  assert.ok(refused > 50, `${refused} of 300 refused`);
  // The instance still runs the intact model.
  const session = await kiln.onnx.load(bytes);
  const out = await session.run({ input: x });
  assert.ok(relError(out.output.dataSync(), ref.output) < 1e-4);
});

test('startProfiling/endProfiling time every kernel call of the runs between them', async () => {
  const { bytes, ref } = await fixture('cnn');
  const session = await kiln.onnx.load(bytes);
  const x = kiln.tensor(Float32Array.from(ref.input), ref.input_shape);
  await session.run({ input: x });
  session.startProfiling();
  await session.run({ input: x });
  await session.run({ input: x });
  const runs = session.endProfiling();
  assert.equal(runs.length, 2);
  assert.ok(runs[0].length >= 5, `${runs[0].length} kernel calls`);
  assert.deepEqual(runs[0].map((c) => c.call), runs[1].map((c) => c.call));
  assert.ok(runs[0].some((c) => /^NhwcConv /.test(c.call)) && runs[0].some((c) => /^Gemm /.test(c.call)));
  for (const c of runs[0]) assert.ok(c.ms >= 0 && c.ms < 1000 && /^\[/.test(c.inputShapes), JSON.stringify(c));
  assert.match(runs[0][0].inputShapes, new RegExp(`^\\[${ref.input_shape.join(', ')}\\]`));
  // Off again: nothing is collected until the next startProfiling.
  await session.run({ input: x });
  session.startProfiling();
  assert.deepEqual(session.endProfiling(), []);
});

test('inputs and outputs declare their dtypes; an input of another dtype is refused, naming both', async () => {
  const { bytes, ref } = await fixture('mlp');
  const session = await kiln.onnx.load(bytes);
  assert.deepEqual(session.inputs, [{ name: 'input', kind: 'tensor', dtype: 'float32', shape: [null, 8] }]);
  assert.deepEqual(session.outputs, [{ name: 'output', kind: 'tensor', dtype: 'float32', shape: [null, 4] }]);
  const x = Float32Array.from(ref.input);
  for (const dtype of ['int32', 'float64', 'float16', 'int64'])
    await assert.rejects(session.run({ input: kiln.tensor(x, ref.input_shape, dtype) }), new RegExp(`input 'input' must be float32, got ${dtype}`));
  const out = await session.run({ input: kiln.tensor(x, ref.input_shape) });
  assert.equal(out.output.dtype, 'float32');
  assert.ok(relError(out.output.dataSync(), ref.output) < 1e-4);
});

test('a PyTorch CNN (Conv with groups and strides, BatchNormalization, MaxPool, adaptive pooling) gives PyTorch\'s outputs', () => matchesTorch('cnn'));
