// The model zoo beyond torchvision (scripts/make_zoo_models.py, exported by
// PyTorch into build/zoo): a BERT-like encoder and a GPT-2-like decoder with
// a KV cache (int64 token ids, attention masks), a detector (Conv, BatchNorm,
// LeakyRelu, Max, Upsample) and a speech-embedding model (Conv1d, a
// bidirectional GRU) run through kiln.onnx with their real input dtypes and
// give what onnxruntime-node gives, within 1e-4, at several shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import * as kiln from 'kiln';
import { randomFloats, ready, relError } from './helpers.mjs';
import { mulberry32 } from '../../web/random.js';

await ready();
const ZOO = new URL('../../build/zoo/', import.meta.url);
const HEADS = 4, HEAD_DIM = 32;

/** Feeds as {name: {dtype, shape, values}}; both engines get the same values. */
async function compare(name, feeds) {
  const bytes = readFileSync(new URL(`${name}.onnx`, ZOO));
  const [session, ref] = await Promise.all([kiln.onnx.load(bytes), ort.InferenceSession.create(bytes)]);
  const got = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, kiln.tensor(f.values, f.shape, f.dtype)])));
  const want = await ref.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.dtype, f.values, f.shape)])));
  assert.deepEqual(session.outputNames, ref.outputNames);
  for (const out of ref.outputNames) {
    assert.deepEqual(got[out].shape, want[out].dims.map(Number), `${name} ${out}: shape`);
    const err = relError(got[out].dataSync(), want[out].data);
    assert.ok(err < 1e-4, `${name} ${out}: relative error ${err}`);
  }
  session.dispose();
  return got;
}

const ids = (shape, seed) => {
  const next = mulberry32(seed);
  return { dtype: 'int64', shape, values: BigInt64Array.from({ length: shape[0] * shape[1] }, () => BigInt(Math.floor(next() * 1000))) };
};
const floats = (shape, seed) => ({ dtype: 'float32', shape, values: randomFloats(shape.reduce((a, b) => a * b, 1), seed) });

test('BERT-like encoder: int64 ids and attention mask, padded batch', async () => {
  for (const [batch, seq] of [[2, 16], [1, 7], [3, 33]]) {
    const mask = BigInt64Array.from({ length: batch * seq }, (_, i) => ((i % seq) < seq - (i / seq | 0) * 3 ? 1n : 0n));
    await compare('bert', { input_ids: ids([batch, seq], seq), attention_mask: { dtype: 'int64', shape: [batch, seq], values: mask } });
  }
});

test('GPT-2-like decoder with a KV cache: prompt, then one token at a time', async () => {
  const past = (len, seed, batch = 1) => Object.fromEntries([0, 1].flatMap((l) => ['key', 'value'].map((k, j) =>
    [`past_${k}_${l}`, floats([batch, HEADS, len, HEAD_DIM], seed + 2 * l + j)])));
  await compare('gpt2', { input_ids: ids([1, 6], 1), ...past(0, 10) });   // the prompt: no past
  await compare('gpt2', { input_ids: ids([1, 1], 2), ...past(6, 20) });   // one new token
  await compare('gpt2', { input_ids: ids([2, 3], 3), ...past(9, 30, 2) });   // a batch of continuations
});

test('detector: Conv + BatchNorm + LeakyRelu, Max, nearest Upsample, Concat', async () => {
  for (const shape of [[1, 3, 96, 128], [2, 3, 64, 64]]) await compare('detector', { image: floats(shape, shape[2]) });
});

test('speech embedding: Conv1d and a bidirectional GRU over any number of frames', async () => {
  for (const shape of [[1, 40, 100], [2, 40, 37]]) await compare('speech', { features: floats(shape, shape[2]) });
});
