// A TF.js core-API program in the manner of tfjs-examples' mnist-core
// (written here, not copied): a two-convolution network held in variables,
// trained with the ops API (conv2d, relu, maxPool, matMul, logSoftmax) and
// Adam's minimize(). `tf` is the library under test; the program is the same.
export function run(tf, data, { steps = 60, batchSize = 32, learningRate = 0.01, seed = 1 } = {}) {
  // He-normal starting weights from the program's own generator, so every
  // library starts from the same values (their seeded generators differ).
  let state = seed;
  const uniform = () => ((state = (state * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const init = (shape, fanIn) => {
    const n = shape.reduce((a, b) => a * b, 1), scale = Math.sqrt(2 / fanIn);
    return tf.variable(tf.tensor(Float32Array.from({ length: n }, () => normal() * scale), shape));
  };
  const conv1 = init([5, 5, 1, 8], 25), conv2 = init([5, 5, 8, 16], 200);
  const dense = init([7 * 7 * 16, 10], 784), bias = tf.variable(tf.zeros([10]));
  const model = (images) => tf.tidy(() => {
    const x = images.reshape([-1, 28, 28, 1]);
    const h1 = tf.maxPool(tf.relu(tf.conv2d(x, conv1, 1, 'same')), 2, 2, 'same');
    const h2 = tf.maxPool(tf.relu(tf.conv2d(h1, conv2, 1, 'same')), 2, 2, 'same');
    return tf.add(tf.matMul(h2.reshape([-1, 7 * 7 * 16]), dense), bias);
  });
  const crossEntropy = (logits, labels) => tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1)));
  const batch = (images, labels, start, n) => {
    const ids = Array.from({ length: n }, (_, i) => (start + i) % labels.length);
    const xs = new Float32Array(n * 784);
    ids.forEach((id, i) => xs.set(images.subarray(id * 784, (id + 1) * 784), i * 784));
    return { xs: tf.tensor2d(xs, [n, 784]), ys: tf.oneHot(tf.tensor1d(ids.map((id) => labels[id]), 'int32'), 10) };
  };
  const optimizer = tf.train.adam(learningRate);
  const losses = [];
  for (let step = 0; step < steps; step++) {
    const { xs, ys } = batch(data.train.images, data.train.labels, step * batchSize, batchSize);
    const cost = optimizer.minimize(() => crossEntropy(model(xs), ys), true);
    losses.push(cost.dataSync()[0]);
    tf.dispose([cost, xs, ys]);
  }
  // The small runs that only compare losses skip the test set.
  if (steps < 10) {
    tf.dispose([conv1, conv2, dense, bias]);
    return { losses, accuracy: NaN };
  }
  const test = batch(data.test.images, data.test.labels, 0, data.test.labels.length);
  const predicted = tf.tidy(() => tf.argMax(model(test.xs), 1));
  const truth = tf.argMax(test.ys, 1);
  const p = predicted.dataSync(), t = truth.dataSync();
  const accuracy = p.reduce((s, v, i) => s + (v === t[i] ? 1 : 0), 0) / p.length;
  tf.dispose([test.xs, test.ys, predicted, truth, conv1, conv2, dense, bias]);
  return { losses, accuracy };
}
