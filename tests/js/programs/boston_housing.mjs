// A TF.js program in the manner of tfjs-examples' boston-housing (written
// here, not copied; the data is generated: 13 features on different scales
// and a price that depends on them linearly plus a nonlinear term and
// noise): features normalized with moments(), a two-hidden-layer network
// fit with validationSplit, evaluated on held-out rows against the
// predict-the-mean baseline. `tf` is the library under test.
export async function run(tf, { epochs = 40 } = {}) {
  const row = (i) => Array.from({ length: 13 }, (_, k) => Math.sin(i * 1.37 + k * 0.71) * (k + 1) * 3 + (k % 4) * 10);
  const price = (x, i) => 22 + x.reduce((s, v, k) => s + v * ((k % 5) - 2) * 0.05, 0) + 2 * Math.tanh(x[0] / 3) + Math.sin(i * 7.1);
  const rows = Array.from({ length: 500 }, (_, i) => row(i));
  const prices = rows.map((x, i) => [price(x, i)]);
  const trainX = tf.tensor2d(rows.slice(0, 400)), trainY = tf.tensor2d(prices.slice(0, 400));
  const testX = tf.tensor2d(rows.slice(400)), testY = tf.tensor2d(prices.slice(400));
  const { mean, variance } = tf.moments(trainX, 0);
  const std = tf.sqrt(variance);
  const normalize = (x) => x.sub(mean).div(std);
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [13], units: 50, activation: 'sigmoid', kernelInitializer: 'leCunNormal' }));
  model.add(tf.layers.dense({ units: 50, activation: 'sigmoid', kernelInitializer: 'leCunNormal' }));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
  const history = await model.fit(normalize(trainX), trainY, { batchSize: 40, epochs, validationSplit: 0.2, verbose: 0 });
  const testLoss = model.evaluate(normalize(testX), testY, { batchSize: 40 }).dataSync()[0];
  const baseline = tf.mean(tf.square(tf.sub(testY, tf.mean(trainY)))).dataSync()[0];
  return { testLoss, baseline, history: history.history };
}
