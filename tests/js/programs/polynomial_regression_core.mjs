// A TF.js core-API program in the manner of tfjs-examples'
// polynomial-regression-core (written here, not copied): fit
// y = a x^3 + b x^2 + c x + d to noisy samples of a known cubic with four
// scalar variables, a mean-squared loss and SGD's minimize(). `tf` is the
// library under test: @tensorflow/tfjs or kiln, the program is the same.
export function run(tf, { iterations = 75, learningRate = 0.5 } = {}) {
  const truth = { a: -0.8, b: -0.2, c: 0.9, d: 0.5 };
  // Deterministic "noise" so both libraries see the same data.
  const xs = Array.from({ length: 100 }, (_, i) => -1 + (2 * i) / 99);
  const ys = xs.map((x, i) => truth.a * x ** 3 + truth.b * x ** 2 + truth.c * x + truth.d + 0.04 * Math.sin(i * 12.9898));
  const a = tf.variable(tf.scalar(0.3)), b = tf.variable(tf.scalar(-0.4)), c = tf.variable(tf.scalar(0.1)), d = tf.variable(tf.scalar(0.2));
  const predict = (x) => tf.tidy(() => a.mul(x.pow(tf.scalar(3, 'int32')))
    .add(b.mul(x.square()))
    .add(c.mul(x))
    .add(d));
  const loss = (prediction, labels) => prediction.sub(labels).square().mean();
  const optimizer = tf.train.sgd(learningRate);
  const x = tf.tensor1d(xs), y = tf.tensor1d(ys);
  const losses = [];
  for (let i = 0; i < iterations; i++) {
    const cost = optimizer.minimize(() => loss(predict(x), y), true);
    losses.push(cost.dataSync()[0]);
    cost.dispose();
  }
  const coefficients = { a: a.dataSync()[0], b: b.dataSync()[0], c: c.dataSync()[0], d: d.dataSync()[0] };
  const tensorsLeft = tf.memory().numTensors;
  for (const t of [a, b, c, d, x, y]) t.dispose();
  return { losses, coefficients, truth, tensorsLeft };
}
