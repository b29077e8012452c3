// `kiln run` and `kiln train` (tools/kiln_cli.cc) on NumPy files. NumPy itself
// (Debian's python3-numpy) writes the inputs and reads the outputs, so Kiln's
// .npy reader and writer are checked against the format's own implementation;
// the numbers against PyTorch (torchvision's MobileNetV2 fixture) and
// onnxruntime-node (the zoo's BERT-like encoder with int64 ids and mask, and
// a Loop decoder that returns int64 tokens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import * as kiln from 'kiln';
import { randomFloats, ready, relError } from './helpers.mjs';

await ready();
const cli = fileURLToPath(new URL('../../build/kiln', import.meta.url));
const build = (p) => fileURLToPath(new URL(`../../build/${p}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kiln-npy-'));
const at = (name) => join(dir, name);

// numpy: writes {file: {dtype, shape, values}} and returns, for each file to
// read, {dtype, shape, values} (values as strings, so int64 stays exact).
function numpy({ write = {}, read = [], code = '' }) {
  const script = `
import json, sys, numpy as np
spec = json.load(sys.stdin)
for f, a in spec['write'].items():
    arr = np.array([int(v) if a['dtype'] in ('int64', 'uint64') else v for v in a['values']], dtype=a['dtype']).reshape(a['shape'])
    if a.get('fortran'): arr = np.asfortranarray(arr)
    np.save(f, arr)
${code}
out = {}
for f in spec['read']:
    arr = np.load(f)
    out[f] = {'dtype': str(arr.dtype), 'shape': list(arr.shape), 'values': [repr(v) for v in arr.ravel(order='C').tolist()]}
print(json.dumps(out))
`;
  const json = execFileSync('/usr/bin/python3', ['-c', script], {
    input: JSON.stringify({ write, read }),
    maxBuffer: 1 << 28,
  });
  return JSON.parse(json);
}

function kilnCli(args) {
  const r = spawnSync(cli, args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function run(args) {
  const r = kilnCli(args);
  assert.equal(r.status, 0, r.out);
  return r.out;
}

test('kiln run: torchvision MobileNetV2 on a float32 .npy gives PyTorch\'s output in a .npy NumPy reads', () => {
  const model = build('torchvision/mobilenet_v2.onnx');
  const f32 = (suffix) => {
    const b = readFileSync(model.replace('.onnx', suffix));
    return Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
  };
  const want = f32('.out.f32');
  numpy({ write: { [at('image.npy')]: { dtype: 'float32', shape: [1, 3, 224, 224], values: f32('.in.f32') } } });
  run(['run', model, at('image.npy'), '-o', at('logits.npy')]);
  const got = numpy({ read: [at('logits.npy')] })[at('logits.npy')];
  assert.equal(got.dtype, 'float32');
  assert.deepEqual(got.shape, [1, 1000]);
  assert.ok(relError(got.values.map(Number), want) < 1e-4);
});

test('kiln run: int64 token ids and mask into the BERT-like encoder, both outputs as onnxruntime-node gives them', async () => {
  const model = build('zoo/bert.onnx');
  const shape = [2, 7];
  const ids = Array.from({ length: 14 }, (_, i) => (i * 37 + 11) % 1000);
  const mask = Array.from({ length: 14 }, (_, i) => (i % 7 < 5 || i < 7 ? 1 : 0));
  numpy({
    write: {
      [at('ids.npy')]: { dtype: 'int64', shape, values: ids },
      [at('mask.npy')]: { dtype: 'int64', shape, values: mask, fortran: true },  // read back in C order
    },
  });
  const printed = run(['run', model, at('ids.npy'), at('mask.npy'), '-o', at('hidden.npy'), '-o', at('pooled.npy')]);
  assert.match(printed, /wrote .*hidden\.npy: last_hidden_state float32\[2, 7, 128\]/);
  const got = numpy({ read: [at('hidden.npy'), at('pooled.npy')] });
  const session = await ort.InferenceSession.create(readFileSync(model));
  const want = await session.run({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), shape),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.map(BigInt)), shape),
  });
  for (const [file, name] of [['hidden.npy', 'last_hidden_state'], ['pooled.npy', 'pooler_output']]) {
    const g = got[at(file)];
    assert.deepEqual(g.shape, want[name].dims.map(Number), name);
    assert.ok(relError(g.values.map(Number), want[name].data) < 1e-4, name);
  }
});

test('kiln run: a Loop decoder with a rank-0 int64 input returns int64 tokens exactly', async () => {
  const model = build('zoo/greedy.onnx');
  const h = Array.from(randomFloats(3 * 16, 5));
  numpy({
    write: {
      [at('h.npy')]: { dtype: 'float32', shape: [3, 16], values: h },
      [at('max_len.npy')]: { dtype: 'int64', shape: [], values: [6] },
    },
  });
  run(['run', model, at('h.npy'), at('max_len.npy'), '-o', at('tokens.npy'), '-o', at('h_out.npy')]);
  const got = numpy({ read: [at('tokens.npy'), at('h_out.npy')] });
  const session = await ort.InferenceSession.create(readFileSync(model));
  const want = await session.run({
    h: new ort.Tensor('float32', Float32Array.from(h), [3, 16]),
    max_len: new ort.Tensor('int64', BigInt64Array.from([6n]), []),
  });
  const tokens = got[at('tokens.npy')];
  assert.equal(tokens.dtype, 'int64');
  assert.deepEqual(tokens.shape, want.tokens.dims.map(Number));
  assert.deepEqual(tokens.values, Array.from(want.tokens.data, String));
  assert.ok(relError(got[at('h_out.npy')].values.map(Number), want.h_out.data) < 1e-4);
});

test('kiln run on a Kiln model: float64 and int32 arrays are taken as float32, as TF.js casts', async () => {
  run(['init', at('mlp.kiln'), '3', '5:relu', '2:softmax', '--seed', '9']);
  const x = [0.5, -1.25, 2, 3, 0, -0.75];
  numpy({
    write: {
      [at('x64.npy')]: { dtype: 'float64', shape: [2, 3], values: x },
      [at('xi.npy')]: { dtype: 'int32', shape: [2, 3], values: [1, 2, 3, -4, 5, 0] },
    },
  });
  run(['run', at('mlp.kiln'), at('x64.npy'), '-o', at('y64.npy')]);
  run(['run', at('mlp.kiln'), at('xi.npy'), '-o', at('yi.npy')]);
  const got = numpy({ read: [at('y64.npy'), at('yi.npy')] });
  // Reference: the dense layers computed here from the model's weights.
  const m = await kiln.loadModel(new Uint8Array(readFileSync(at('mlp.kiln'))));
  const [k1, b1, k2, b2] = m.getWeights().map((t) => Array.from(t.dataSync()));
  const forward = (row) => {
    const h = [0, 1, 2, 3, 4].map((j) => Math.max(0, b1[j] + row.reduce((s, v, i) => s + v * k1[i * 5 + j], 0)));
    const z = [0, 1].map((j) => b2[j] + h.reduce((s, v, i) => s + v * k2[i * 2 + j], 0));
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    return e.map((v) => v / (e[0] + e[1]));
  };
  for (const [file, rows] of [['y64.npy', [x.slice(0, 3), x.slice(3)]], ['yi.npy', [[1, 2, 3], [-4, 5, 0]]]]) {
    assert.equal(got[at(file)].dtype, 'float32');
    assert.deepEqual(got[at(file)].shape, [2, 2]);
    assert.ok(relError(got[at(file)].values.map(Number), rows.flatMap(forward)) < 1e-5, file);
  }
  m.dispose();
});

test('kiln train: fits a Kiln model on .npy data with progress, saves it, and the trained model separates the classes', () => {
  run(['init', at('clf.kiln'), '2', '16:relu', '2:softmax', '--seed', '3']);
  // Two classes on either side of the line x0 + x1 = 0, labels as int64 class indices.
  const n = 256, xs = Array.from(randomFloats(2 * n, 21)), labels = [];
  for (let i = 0; i < n; i++) labels.push(xs[2 * i] + xs[2 * i + 1] > 0 ? 1 : 0);
  numpy({
    write: {
      [at('X.npy')]: { dtype: 'float32', shape: [n, 2], values: xs },
      [at('Y.npy')]: { dtype: 'int64', shape: [n], values: labels },
    },
  });
  const log = run(['train', at('clf.kiln'), at('X.npy'), at('Y.npy'), '-o', at('trained.kiln'), '--epochs', '40',
    '--batch-size', '32', '--loss', 'sparseCategoricalCrossentropy', '--optimizer', 'adam', '--learning-rate', '0.05',
    '--validation-split', '0.25']);
  const epochs = log.split('\n').filter((l) => l.startsWith('epoch '));
  assert.equal(epochs.length, 40, log);
  assert.match(epochs[0], /^epoch 1\/40: loss [\d.]+ acc [\d.]+ val_loss [\d.]+ val_acc [\d.]+ \(/);
  const valAcc = Number(epochs[39].match(/val_acc ([\d.]+)/)[1]);
  assert.ok(valAcc > 0.9, log);
  // The saved model predicts the held-out quarter as the log says.
  run(['run', at('trained.kiln'), at('X.npy'), '-o', at('P.npy')]);
  const p = numpy({ read: [at('P.npy')] })[at('P.npy')].values.map(Number);
  let right = 0;
  for (let i = n * 0.75; i < n; i++) right += (p[2 * i + 1] > p[2 * i] ? 1 : 0) === labels[i];
  assert.ok(Math.abs(right / (n / 4) - valAcc) < 1e-6, `${right} of ${n / 4} against ${valAcc}`);
  // Training again continues from the saved optimizer state without --loss.
  const more = run(['train', at('trained.kiln'), at('X.npy'), at('Y.npy'), '-o', at('trained2.kiln')]);
  assert.match(more, /epoch 1\/1: loss/);
});

test('kiln run and train: bad files and arguments are messages with a non-zero status', () => {
  const bert = build('zoo/bert.onnx');
  numpy({
    write: {
      [at('f64.npy')]: { dtype: 'float64', shape: [1, 4], values: [1, 2, 3, 4] },
      [at('i64.npy')]: { dtype: 'int64', shape: [1, 4], values: [1, 2, 3, 4] },
      [at('x3.npy')]: { dtype: 'float32', shape: [1, 3], values: [1, 2, 3] },
      [at('y2.npy')]: { dtype: 'float32', shape: [1, 2], values: [0, 1] },
    },
    code: `
np.save('${at('big.npy')}', np.arange(4, dtype='>i8').reshape(1, 4))
np.save('${at('rec.npy')}', np.zeros(2, dtype=[('a', '<f4'), ('b', '<i4')]))
`,
  });
  const ok = readFileSync(at('i64.npy'));
  writeFileSync(at('short.npy'), ok.subarray(0, ok.length - 3));
  writeFileSync(at('text.npy'), 'not numpy');
  const cases = [
    [['run', bert, at('f64.npy'), at('i64.npy')], /f64\.npy holds float64 values; input 'input_ids' takes int64 \(save it with \.astype\('int64'\)\)/],
    [['run', bert, at('i64.npy')], /the model takes 2 input\(s\): input_ids \(int64\), attention_mask \(int64\); 1 \.npy file\(s\) were given/],
    [['run', bert, at('i64.npy'), at('big.npy')], /big-endian dtype >i8 is not supported/],
    [['run', bert, at('i64.npy'), at('rec.npy')], /rec\.npy: unsupported dtype/],
    [['run', bert, at('i64.npy'), at('short.npy')], /short\.npy: holds 29 bytes of data; its shape and dtype need 32/],
    [['run', bert, at('i64.npy'), at('text.npy')], /text\.npy: not a \.npy file/],
    [['run', bert, at('i64.npy'), at('i64.npy'), '-o', at('one.npy')], /the model has 2 output\(s\), 1 -o file\(s\) were given/],
    [['run', bert, at('i64.npy'), at('i64.npy'), '-o', join(dir, 'missing', 'x.npy'), '-o', at('b.npy')], /cannot write .*missing\/x\.npy/],
    [['run', bert, at('nope.npy'), at('i64.npy')], /nope\.npy: cannot open/],
    [['run', bert, at('i64.npy'), at('i64.npy'), '--threads', 'many'], /--threads must be an integer/],
    [['train', at('mlp.kiln'), at('x3.npy'), at('y2.npy'), '-o', at('t.kiln')], /no training configuration; give --loss/],
    [['train', bert, at('f64.npy'), at('f64.npy'), '-o', at('t.kiln')], /is not a Kiln model file/],
    [['train', at('mlp.kiln'), at('x3.npy'), at('y2.npy'), '-o', at('t.kiln'), '--loss', 'meanSquaredError', '--epochs', '0'], /--epochs must be an integer in \[1,/],
    [['train', at('mlp.kiln'), at('x3.npy'), at('y2.npy'), '-o', at('t.kiln'), '--loss', 'meanSquaredError', '--learning-rate', 'fast'], /--learning-rate must be a number/],
    [['train', at('mlp.kiln'), at('x3.npy'), at('y2.npy')], /train: give one -o OUT\.kiln/],
    [['train', at('mlp.kiln'), at('x3.npy'), at('y2.npy'), '-o', at('t.kiln'), '--loss', 'meanSquaredError', '--momentum', '1'], /train: unknown option --momentum/],
  ];
  for (const [args, message] of cases) {
    const r = kilnCli(args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.out}`);
    assert.match(r.out, message, args.join(' '));
    assert.doesNotMatch(r.out, /terminate|Aborted|Segmentation/);
  }
});
