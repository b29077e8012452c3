// The bar: the MNIST MLP reaches >= 97% test accuracy within three
// epochs on the full data set (Node; the browser run is in tests/browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';
import { loadMnistNode } from '../../web/mnist.js';
import { trainMnist } from '../../web/train_mnist.js';

test('MNIST 784-128-10 reaches >= 97% test accuracy in 3 epochs', async () => {
  await ready();
  const data = await loadMnistNode();
  assert.equal(data.train.n, 60000);
  assert.equal(data.test.n, 10000);
  const r = await trainMnist(kiln, data, { epochs: 3 });
  assert.ok(r.testAccuracy >= 0.97, `test accuracy ${r.testAccuracy}`);
  assert.equal(r.history.epoch.length, 3);
});
