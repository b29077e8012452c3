// ONNX control flow and quantization in models PyTorch exported
// (scripts/make_control_flow_models.py, into build/zoo): a VAD model with an
// If on its int64 sample rate and a Loop over frames, greedy decoding with a
// data-dependent while loop that appends to a sequence, a statically
// quantized CNN in QDQ form and an MLP in onnxruntime's dynamic-quantization
// form. Kiln through kiln.onnx must give what onnxruntime-node gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import * as kiln from 'kiln';
import { randomFloats, ready, relError } from './helpers.mjs';

await ready();
const ZOO = new URL('../../build/zoo/', import.meta.url);

const f32 = (shape, seed) => ({ dtype: 'float32', shape, values: randomFloats(shape.reduce((a, b) => a * b, 1), seed) });
const i64 = (values, shape = []) => ({ dtype: 'int64', shape, values: BigInt64Array.from(values.map(BigInt)) });

/** Runs both engines on the same feeds; returns {got, want} by output name. `ortOptions`: the reference session's options. */
async function runBoth(name, feeds, ortOptions = {}) {
  const bytes = readFileSync(new URL(`${name}.onnx`, ZOO));
  const [session, ref] = await Promise.all([kiln.onnx.load(bytes), ort.InferenceSession.create(bytes, ortOptions)]);
  const got = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, kiln.tensor(f.values, f.shape, f.dtype)])));
  const want = await ref.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.dtype, f.values, f.shape)])));
  assert.deepEqual(session.outputNames, ref.outputNames);
  const out = {};
  for (const n of ref.outputNames) {
    assert.deepEqual(got[n].shape, want[n].dims.map(Number), `${name} ${n}: shape`);
    assert.equal(got[n].dtype, want[n].type, `${name} ${n}: dtype`);
    out[n] = { got: got[n].dataSync(), want: want[n].data };
  }
  session.dispose();
  return out;
}

async function expectClose(name, feeds, tolerance = 1e-4, ortOptions = {}) {
  const out = await runBoth(name, feeds, ortOptions);
  for (const [n, { got, want }] of Object.entries(out)) {
    if (typeof want[0] === 'bigint') assert.deepEqual(Array.from(got), Array.from(want), `${name} ${n}`);
    else assert.ok(relError(got, want) < tolerance, `${name} ${n}: relative error ${relError(got, want)}`);
  }
  return out;
}

test('VAD: If on the int64 sample rate picks the front end, Loop runs the GRU over the frames', async () => {
  for (const [batch, samples, sr] of [[1, 512, 16000], [1, 512, 8000], [2, 1536, 16000], [2, 256, 8000]]) {
    await expectClose('vad', { audio: f32([batch, samples], samples + batch), state: f32([batch, 32], 7), sr: i64([sr]) });
  }
});

test('greedy decoding: a while loop the body ends, tokens appended to a sequence', async () => {
  const lengths = new Set();
  for (const [batch, maxLen, seed] of [[2, 10, 1], [3, 4, 2], [1, 25, 3], [4, 25, 4]]) {
    const { tokens } = await expectClose('greedy', { h: f32([batch, 16], seed), max_len: i64([maxLen]) });
    lengths.add(tokens.got.length / batch);
  }
  assert.ok(lengths.size > 1, 'the runs should stop after different numbers of steps');
});

test('QDQ CNN (torch static quantization): matches onnxruntime running the graph as written', async () => {
  for (const batch of [1, 3]) {
    const image = f32([batch, 3, 32, 32], batch);
    // As written (no fusion): the reference arithmetic of the QDQ ops.
    await expectClose('qdq_cnn', { image }, 1e-4, { graphOptimizationLevel: 'disabled' });
    // onnxruntime's own int8 kernels requantize with their own rounding: a few quantization steps apart.
    await expectClose('qdq_cnn', { image }, 0.05);
  }
});

test('float CNN and its QDQ version agree to within quantization error', async () => {
  const image = f32([2, 3, 32, 32], 11);
  const float = await runBoth('cnn_float', { image });
  const quant = await runBoth('qdq_cnn', { image });
  assert.ok(relError(float.logits.got, float.logits.want) < 1e-4);
  const err = relError(quant.logits.got, float.logits.got);
  assert.ok(err > 0 && err < 0.1, `quantized vs float relative difference ${err}`);
});

test('dynamic quantization: DynamicQuantizeLinear, MatMulInteger, scales in float', async () => {
  for (const batch of [1, 4, 9]) await expectClose('dynquant_mlp', { x: f32([batch, 256], batch + 20) });
});
