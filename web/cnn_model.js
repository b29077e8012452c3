// A small CNN for 28x28 grayscale images (MNIST, Fashion-MNIST) with Kiln's
// Layers API: its construction, data preparation and training loop, shared by
// the CNN demo page (cnn.html) and the accuracy tests (Node and Chromium).
//
//   conv 3x3x32 'same', relu - max pool 2                      28x28 -> 14x14x32
//   conv 3x3x64 'valid' - batch norm - relu - max pool 2       -> 12x12x64 -> 6x6x64
//   flatten - dense 128 relu - dense 10 softmax
//
// Adam whose learning rate decays exponentially over the whole run
// (kiln.train.schedules.exponentialDecay, decaySteps = every step of every
// epoch) from 0.002 to 0.0001. Batch-norm momentum 0.9 (Keras: 0.99), so the
// moving statistics are settled after short runs too. Callers pass [0, 1]
// pixels; the model sees them standardized with the data set's mean and
// standard deviation, in training and in predict.

export const DATASETS = {
  mnist: { name: 'MNIST', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], mean: 0.1307, std: 0.3081 },
  fashion: { name: 'Fashion-MNIST', classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
    'Sneaker', 'Bag', 'Ankle boot'], mean: 0.2860, std: 0.3530 },
};

const statsOf = (dataset) => {
  const d = DATASETS[dataset];
  if (!d) throw new Error(`unknown data set '${dataset}' (use ${Object.keys(DATASETS).join(', ')})`);
  return d;
};

/**
 * The CNN, compiled. `steps` is the number of training steps the run will
 * take: the learning rate decays from `learningRate` to `learningRate *
 * finalRate` over them. Without `steps` the rate is constant.
 */
export async function buildCnn(kiln, { seed = 1, filters = [32, 64], units = 128, learningRate = 0.002, finalRate = 0.05,
  steps = 0, bnMomentum = 0.9 } = {}) {
  const model = await kiln.sequential({
    seed,
    layers: [
      await kiln.layers.conv2d({ inputShape: [28, 28, 1], filters: filters[0], kernelSize: 3, padding: 'same', activation: 'relu' }),
      await kiln.layers.maxPooling2d({ poolSize: 2 }),
      await kiln.layers.conv2d({ filters: filters[1], kernelSize: 3, useBias: false }),
      await kiln.layers.batchNormalization({ momentum: bnMomentum }),
      await kiln.layers.activation({ activation: 'relu' }),
      await kiln.layers.maxPooling2d({ poolSize: 2 }),
      await kiln.layers.flatten(),
      await kiln.layers.dense({ units, activation: 'relu' }),
      await kiln.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  const lr = steps > 0
    ? await kiln.train.schedules.exponentialDecay({ initialLearningRate: learningRate, decaySteps: steps, decayRate: finalRate })
    : learningRate;
  await model.compile({ optimizer: await kiln.train.adam(lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Standardized images as [n, 28, 28, 1] and one-hot labels [n, 10]. */
export async function toImageTensors(kiln, { n, images, labels }, dataset) {
  const { mean, std } = statsOf(dataset);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = (images[i] - mean) / std;
  const y = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) y[i * 10 + labels[i]] = 1;
  return { x: await kiln.tensor(x, [n, 28, 28, 1]), y: await kiln.tensor(y, [n, 10]) };
}

/** Class probabilities (Float32Array n*10) for n images of [0, 1] pixels. */
export async function predictCnn(kiln, model, images, dataset, n = images.length / 784) {
  const { mean, std } = statsOf(dataset);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = (images[i] - mean) / std;
  const input = await kiln.tensor(x, [n, 28, 28, 1]);
  const out = await model.predict(input);
  const probs = await out.data();
  await input.dispose();
  await out.dispose();
  return probs;
}

/**
 * Builds and trains the CNN on data = {train, test} (as loadMnist returns),
 * then evaluates it on the whole test set. onBatch({step, loss, acc,
 * msPerBatch}) after every batch, onEpoch({epoch, step, loss, acc,
 * testAccuracy, msPerBatch}) after every epoch; testAccuracy per epoch only
 * with `validate` (it costs a pass over the test set).
 * Resolves to {model, testAccuracy, testLoss, trainMs, msPerBatch, batches, backend}.
 */
export async function trainCnn(kiln, data, { dataset = 'mnist', epochs = 3, batchSize = 64, seed = 1, learningRate,
  finalRate, filters, units, bnMomentum, validate = false, onBatch, onEpoch, onModel } = {}) {
  const train = await toImageTensors(kiln, data.train, dataset);
  const test = await toImageTensors(kiln, data.test, dataset);
  const steps = epochs * Math.ceil(data.train.n / batchSize);
  const model = await buildCnn(kiln, { seed, learningRate, finalRate, steps, filters, units, bnMomentum });
  onModel?.(model);
  await model.warmup(batchSize);
  let step = 0, trainMs = 0, epochStart = 0, epochFirstStep = 0, lastBatchEnd = 0;
  await model.fit(train.x, train.y, {
    epochs, batchSize, shuffle: true, ...(validate ? { validationData: [test.x, test.y] } : {}),
    callbacks: {
      onEpochBegin: () => { epochStart = lastBatchEnd = performance.now(); epochFirstStep = step; },
      onBatchEnd: async (_, logs) => {
        step++;
        lastBatchEnd = performance.now();
        await onBatch?.({ step, loss: logs.loss, acc: logs.acc, msPerBatch: (trainMs + lastBatchEnd - epochStart) / step });
      },
      onEpochEnd: async (epoch, logs) => {
        // A validation pass ran after the last batch: leave it out of the training time.
        const epochMs = lastBatchEnd - epochStart;
        trainMs += epochMs;
        await onEpoch?.({ epoch, step, loss: logs.loss, acc: logs.acc, testAccuracy: logs.val_acc,
          msPerBatch: epochMs / Math.max(1, step - epochFirstStep) });
      },
    },
  });
  const [loss, acc] = await model.evaluate(test.x, test.y);
  const result = {
    model, testLoss: (await loss.data())[0], testAccuracy: (await acc.data())[0],
    trainMs, msPerBatch: trainMs / Math.max(1, step), batches: step, batchSize, backend: await kiln.backendInfo(),
  };
  for (const t of [train.x, train.y, test.x, test.y, loss, acc]) await t.dispose();
  return result;
}

/**
 * The misclassified examples among n images: [{index, label, prediction,
 * confidence}] (confidence: the predicted class's probability), most
 * confident mistakes first, at most `limit`.
 */
export function misclassified(probs, labels, limit = Infinity) {
  const wrong = [];
  for (let i = 0; i < labels.length; i++) {
    const row = probs.subarray(i * 10, i * 10 + 10);
    let best = 0;
    for (let c = 1; c < 10; c++) if (row[c] > row[best]) best = c;
    if (best !== labels[i]) wrong.push({ index: i, label: labels[i], prediction: best, confidence: row[best] });
  }
  wrong.sort((a, b) => b.confidence - a.confidence);
  return wrong.slice(0, limit);
}
