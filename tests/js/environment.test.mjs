// kiln.env(), kiln.nextFrame() and kiln.util against TensorFlow.js 4.22: the
// util helpers give what TF.js's give; flags Kiln has are honoured (DEBUG
// makes a NaN result an error naming the op), others are refused as TF.js
// refuses unregistered flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';

await ready();

test('util helpers match TF.js', () => {
  for (const shape of [[], [3], [2, 0, 4], [2, 3, 4]]) assert.equal(kiln.util.sizeFromShape(shape), tf.util.sizeFromShape(shape));
  for (const [a, b] of [[[1, 2], [1, 2]], [[1, 2], [2, 1]], [[1], [1, 1]], [new Float32Array([1, 2]), [1, 2]]])
    assert.equal(kiln.util.arraysEqual(a, b), tf.util.arraysEqual(a, b));
  const nested = [1, [2, [3, 4]], [[5]]];
  assert.deepEqual(kiln.util.flatten(nested), tf.util.flatten(nested));
  assert.deepEqual(Array.from(kiln.util.encodeString('héllo')), Array.from(tf.util.encodeString('héllo')));
  assert.equal(kiln.util.decodeString(kiln.util.encodeString('héllo')), 'héllo');
  assert.throws(() => kiln.util.assert(false, () => 'the message'), /the message/);
  const idx = kiln.util.createShuffledIndices(50);
  assert.deepEqual([...idx].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  const a = Array.from({ length: 30 }, (_, i) => i), b = a.map((v) => -v);
  kiln.util.shuffleCombo(a, b);
  a.forEach((v, i) => assert.equal(b[i], -v));
  assert.ok(kiln.util.isTypedArray(new Uint8Array(1)) && !kiln.util.isTypedArray([1]));
});

test('env flags: the ones Kiln has, honoured; others refused', () => {
  const env = kiln.env();
  assert.equal(env.get('IS_NODE'), true);
  assert.equal(env.get('IS_BROWSER'), false);
  assert.equal(env.getBool('DEBUG'), false);
  assert.throws(() => env.set('WEBGL_PACK', true), /'WEBGL_PACK' is not a flag Kiln has/);
  assert.throws(() => env.set('IS_NODE', false), /cannot be set/);
  assert.throws(() => env.set('DEBUG', 1), /takes a boolean/);
  const x = kiln.tensor([-1, 4]);
  kiln.sqrt(x).dispose();  // NaN, unchecked
  env.set('DEBUG', true);
  try {
    assert.throws(() => kiln.sqrt(x), /kiln\.sqrt: the result of 'Sqrt' is NaN/);
    assert.deepEqual(Array.from(kiln.sqrt(kiln.abs(x)).dataSync()), [1, 2]);
  } finally {
    env.reset();
  }
  assert.equal(env.getBool('DEBUG'), false);
  assert.deepEqual(Object.keys(env.getFlags()).sort(), ['DEBUG', 'IS_BROWSER', 'IS_NODE']);
});

test('nextFrame resolves', async () => {
  let done = false;
  await kiln.nextFrame().then(() => { done = true; });
  assert.ok(done);
});
