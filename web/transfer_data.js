// A small transfer-learning task from Fashion-MNIST: a few hundred images of
// three classes, resized to the network's input. For the tests; the demo page
// takes the user's own drawings instead.
import { grayToNetworkInput } from './transfer_learning.js';

export const TRANSFER_CLASSES = [{ label: 0, name: 'T-shirt/top' }, { label: 1, name: 'Trouser' }, { label: 7, name: 'Sneaker' }];

function pick(split, perClass, size) {
  const counts = TRANSFER_CLASSES.map(() => 0);
  const chosen = [];
  for (let i = 0; i < split.n && chosen.length < perClass * TRANSFER_CLASSES.length; i++) {
    const k = TRANSFER_CLASSES.findIndex((c) => c.label === split.labels[i]);
    if (k >= 0 && counts[k] < perClass) {
      counts[k]++;
      chosen.push([i, k]);
    }
  }
  if (chosen.length < perClass * TRANSFER_CLASSES.length) throw new Error('transfer data: too few images of the chosen classes');
  const image = 3 * size * size;
  const x = new Float32Array(chosen.length * image);
  const y = new Float32Array(chosen.length * TRANSFER_CLASSES.length);
  chosen.forEach(([i, k], row) => {
    grayToNetworkInput(split.images.subarray(i * 784, (i + 1) * 784), 28, 28, size, x, row * image);
    y[row * TRANSFER_CLASSES.length + k] = 1;
  });
  return { x, y, n: chosen.length };
}

/** {xTrain, yTrain, xTest, yTest} as kiln tensors ([n, 3, size, size] and one-hot). */
export function fashionTransferData(kiln, dataset, { perClass, testPerClass, size }) {
  const train = pick(dataset.train, perClass, size), test = pick(dataset.test, testPerClass, size);
  const k = TRANSFER_CLASSES.length;
  return {
    xTrain: kiln.tensor(train.x, [train.n, 3, size, size]), yTrain: kiln.tensor(train.y, [train.n, k]),
    xTest: kiln.tensor(test.x, [test.n, 3, size, size]), yTest: kiln.tensor(test.y, [test.n, k]),
  };
}
