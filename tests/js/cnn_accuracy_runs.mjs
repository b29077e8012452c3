// The CNN accuracy runs shared by tests/js/cnn_accuracy.test.mjs (Node) and
// tests/browser/cnn_accuracy.test.mjs (Chromium): the network of
// web/cnn_model.js, seeded, on the full training and test sets. The run
// lengths are chosen to pass with margin in about two minutes each on a
// 2-core machine (threaded wasm, 2 threads):
//   MNIST 3 epochs: 99.13% in Node and Chromium (bar 99.0%)
//   Fashion-MNIST 3 epochs: 90.9% (bar 90%)
export const RUNS = [
  { dataset: 'mnist', name: 'MNIST', target: 0.99,
    options: { dataset: 'mnist', epochs: 3, batchSize: 64, learningRate: 0.002, finalRate: 0.05, seed: 1 } },
  { dataset: 'fashion', name: 'Fashion-MNIST', target: 0.90,
    options: { dataset: 'fashion', epochs: 3, batchSize: 64, learningRate: 0.002, finalRate: 0.05, seed: 1 } },
];

export function describeRun({ options: o }) {
  return `${o.epochs} epochs, batch ${o.batchSize}, Adam ${o.learningRate} decaying to ${o.learningRate * o.finalRate}, seed ${o.seed}`;
}
