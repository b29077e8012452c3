// TF.js's tensor memory management: tidy, keep, dispose and memory()'s
// numTensors / numBytes, run side by side with TF.js 4.22 on the same
// programs: the counts move the same way. Library calls (predict, getWeights,
// save, loading) leave no tensor of their own behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

// The same program for both libraries; returns the numTensors deltas it saw.
function program(lib) {
  const start = lib.memory().numTensors;
  const seen = [];
  const note = () => seen.push(lib.memory().numTensors - start);
  const a = lib.tensor([1, 2, 3, 4], [2, 2]);
  note();
  const kept = lib.tidy(() => {
    const b = lib.tensor([5, 6, 7, 8], [2, 2]);
    const c = lib.tensor([9, 10], [2]);
    lib.keep(c);
    note();
    const inner = lib.tidy('inner', () => [lib.tensor([1], [1]), lib.tensor([2], [1])][1]);
    note();
    return { b, list: [inner] };
  });
  note();
  assert.equal(kept.b.isDisposed, false);
  lib.dispose(kept);
  note();
  assert.equal(kept.b.isDisposed, true);
  assert.throws(() => kept.b.dataSync(), /disposed/i);
  a.dispose();
  a.dispose();  // twice is fine
  note();
  assert.throws(() => lib.tidy(() => { lib.tensor([1], [1]); throw new Error('inside'); }), /inside/);
  note();
  return seen;
}

test('tidy, keep, dispose and memory().numTensors behave as TF.js\'s', () => {
  assert.deepEqual(program(kiln), program(tf));
});

test('tidy of an async function warns and returns its promise, disposing nothing it made', async () => {
  const warnings = [];
  const warn = console.warn;
  console.warn = (m) => warnings.push(m);
  try {
    let made;
    const p = kiln.tidy(async () => { made = kiln.tensor([1], [1]); await null; return made; });
    assert.ok(p instanceof Promise);
    assert.equal((await p).isDisposed, false);
    made.dispose();
  } finally {
    console.warn = warn;
  }
  assert.match(warnings.join(' '), /returned a Promise/);
});

test('memory().numBytes counts the bytes of the live tensors', () => {
  const before = kiln.memory().numBytes;
  const t = kiln.tensor(new Float32Array(10), [10]);
  const b = kiln.tensor(new BigInt64Array(3), [3], 'int64');
  assert.equal(kiln.memory().numBytes - before, 40 + 24);
  kiln.dispose([t, b]);
  assert.equal(kiln.memory().numBytes, before);
});

test('library calls leave no tensors of their own behind', async () => {
  const m = kiln.sequential({ layers: [kiln.layers.dense({ units: 3, inputShape: [4] }), kiln.layers.batchNormalization()] });
  m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const x = kiln.tensor(new Float32Array(8 * 4).fill(0.5), [8, 4]), y = kiln.tensor(new Float32Array(8 * 3), [8, 3]);
  const start = kiln.memory().numTensors;
  await m.fit(x, y, { epochs: 2, validationSplit: 0.25 });
  kiln.tidy(() => {
    m.predict(x);
    m.getWeights();
    m.evaluate(x, y);
    m.setWeights(m.getWeights());
    m.weights[0].write(m.weights[0].read());
  });
  const saved = await m.save(kiln.io.withSaveHandler(async (artifacts) => { return { modelArtifactsInfo: {}, artifacts }; }));
  assert.ok(saved);
  assert.equal(kiln.memory().numTensors, start);
});
