// Soak (issue #15): 10,000 training steps, 1,000 model builds and disposals
// and 1,000 ONNX session loads and disposals, with hostile calls mixed in,
// through the public API in Node. The core's heap (kiln.memory().heapBytes)
// must come back to its level after each phase: nothing leaks per call (a few
// hundred bytes may stay: the longest error message kept, one-time caches;
// a leak of even one byte per call would pass 4 KiB here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';

await ready();

const x = kiln.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [16, 4]);
const y = kiln.tensor(Float32Array.from({ length: 48 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)), [16, 3]);
const build = (seed) => {
  const m = kiln.sequential({ seed, layers: [
    kiln.layers.dense({ units: 16, activation: 'relu', inputShape: [4] }),
    kiln.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return m;
};

test('10,000 training steps hold the heap level', async () => {
  const m = build(1);
  for (let i = 0; i < 100; i++) await m.trainOnBatch(x, y);  // plans and optimizer state exist
  const start = kiln.memory().heapBytes;
  let refused = 0;
  for (let i = 0; i < 10_000; i++) {
    await m.trainOnBatch(x, y);
    if (i % 100 === 0) {
      // A hostile call now and then: refused, nothing kept.
      try { await m.trainOnBatch(x, kiln.tensor(new Float32Array(48).fill(NaN), [16, 3])); } catch { refused++; }
    }
  }
  assert.equal(refused, 100);
  const grown = kiln.memory().heapBytes - start;
  assert.ok(grown < 4096, `the heap grew by ${grown} bytes over 10,000 steps`);
  m.dispose();
});

test('1,000 models and 1,000 ONNX sessions built and disposed hold the heap level', async () => {
  const bytes = new Uint8Array(readFileSync(new URL('../fixtures/onnx_models/cnn.onnx', import.meta.url)));
  const warm = async () => {
    const m = build(2);
    m.predict(x);
    m.dispose();
    const s = await kiln.onnx.load(bytes);
    s.dispose();
  };
  await warm();
  const start = kiln.memory().heapBytes;
  for (let i = 0; i < 1000; i++) {
    const m = build(3 + i);
    await m.fit(x, y, { epochs: 1, batchSize: 8 });
    m.dispose();
    const s = await kiln.onnx.load(bytes);
    const input = s.inputs[0];
    const shape = input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    await s.run({ [input.name]: kiln.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape) });
    s.dispose();
    try { await kiln.onnx.load(bytes.subarray(0, 100 + (i % 500))); } catch { /* truncated: refused */ }
  }
  const grown = kiln.memory().heapBytes - start;
  assert.ok(grown < 4096, `the heap grew by ${grown} bytes over 1,000 builds and loads`);
});
