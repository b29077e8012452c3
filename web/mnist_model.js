// The MNIST MLP 784-128-10 (ReLU, softmax, Adam) with Kiln's Layers API:
// its construction and data preparation (shared with train_mnist.js), and the
// demo page's training loop, which validates on the test set so every epoch
// reports its test accuracy. Callers pass [0, 1] pixels; the model sees them
// standardized, in training and in predict. Every call is awaited, so `kiln`
// may be the module itself or kiln/worker's engine in a worker (the demo page).

// The usual MNIST pixel mean and std: standardized pixels train faster than raw [0, 1].
export const MNIST_MEAN = 0.1307, MNIST_STD = 0.3081;
export const standardize = (images) => images.map((v) => (v - MNIST_MEAN) / MNIST_STD);

export async function buildModel(kiln, { learningRate = 0.001, seed } = {}) {
  const model = await kiln.sequential({
    seed,
    layers: [
      await kiln.layers.dense({ units: 128, activation: 'relu', inputShape: [784], kernelInitializer: 'heNormal' }),
      await kiln.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  await model.compile({ optimizer: await kiln.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

export async function toTensors(kiln, { n, images, labels }) {
  const oneHot = new Float32Array(n * 10);
  labels.forEach((l, i) => { oneHot[i * 10 + l] = 1; });
  return { x: await kiln.tensor(standardize(images), [n, 784]), y: await kiln.tensor(oneHot, [n, 10]) };
}

/** Class probabilities (Float32Array n*10) for n images of [0, 1] pixels. */
export async function predict(kiln, model, images, n = images.length / 784) {
  const x = await kiln.tensor(standardize(images), [n, 784]);
  const y = await model.predict(x);
  const probs = await y.data();
  await x.dispose();
  await y.dispose();
  return probs;
}

/**
 * Trains `model`. onBatch({step, loss, acc, msPerBatch}) after every batch
 * (msPerBatch so far), onEpoch({epoch, step, loss, acc, testAccuracy,
 * msPerBatch}) after every epoch (that epoch's msPerBatch).
 * Resolves to {testAccuracy, msPerBatch, batches}.
 */
export async function trainModel(kiln, model, data, { epochs, batchSize = 32, onBatch, onEpoch }) {
  const train = await toTensors(kiln, data.train);
  const test = await toTensors(kiln, data.test);
  await model.warmup(batchSize);
  let step = 0, trainMs = 0, epochStart = 0, epochFirstStep = 0, lastBatchEnd = 0;
  await model.fit(train.x, train.y, {
    epochs, batchSize, shuffle: true, validationData: [test.x, test.y],
    callbacks: {
      onEpochBegin: () => { epochStart = lastBatchEnd = performance.now(); epochFirstStep = step; },
      onBatchEnd: (_, logs) => {
        step++;
        lastBatchEnd = performance.now();
        onBatch?.({ step, loss: logs.loss, acc: logs.acc, msPerBatch: (trainMs + lastBatchEnd - epochStart) / step });
      },
      onEpochEnd: (epoch, logs) => {
        // The test pass ran after the last batch: leave it out of the training time.
        const epochMs = lastBatchEnd - epochStart;
        trainMs += epochMs;
        const msPerBatch = epochMs / Math.max(1, step - epochFirstStep);
        onEpoch?.({ epoch, step, loss: logs.loss, acc: logs.acc, testAccuracy: logs.val_acc, msPerBatch });
      },
    },
  });
  const [, acc] = await model.evaluate(test.x, test.y);
  return { testAccuracy: (await acc.data())[0], msPerBatch: trainMs / Math.max(1, step), batches: step };
}
