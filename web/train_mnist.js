// The main job, shared by `make demo` (Node and headless Chromium), the tests
// and the demo page: an MLP 784-128-10 (ReLU, softmax, Adam) trained on MNIST.

export async function trainMnist(kiln, data, { epochs = 3, batchSize = 64, learningRate = 0.001, seed, onEpochEnd, onBatchEnd } = {}) {
  const xTrain = kiln.tensor(data.train.images, [data.train.n, 784]);
  const yTrain = kiln.tensor(oneHotLabels(data.train.labels), [data.train.n, 10]);
  const xTest = kiln.tensor(data.test.images, [data.test.n, 784]);
  const yTest = kiln.tensor(oneHotLabels(data.test.labels), [data.test.n, 10]);
  const model = kiln.sequential({
    layers: [
      kiln.layers.dense({ units: 128, activation: 'relu', inputShape: [784], kernelInitializer: 'heNormal' }),
      kiln.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: kiln.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  model.warmup(batchSize);
  let batches = 0;
  const t0 = performance.now();
  const history = await model.fit(xTrain, yTrain, {
    epochs, batchSize, shuffle: true,
    callbacks: {
      onBatchEnd: async (b, logs) => { batches++; if (onBatchEnd) await onBatchEnd(b, logs); },
      onEpochEnd: async (e, logs) => { if (onEpochEnd) await onEpochEnd(e, logs); },
    },
  });
  const trainMs = performance.now() - t0;
  const [loss, acc] = model.evaluate(xTest, yTest);
  return {
    model, history,
    testLoss: (await loss.data())[0],
    testAccuracy: (await acc.data())[0],
    msPerBatch: trainMs / batches,
    batches,
    backend: kiln.backendInfo(),
  };
}

function oneHotLabels(labels) {
  const out = new Float32Array(labels.length * 10);
  labels.forEach((l, i) => { out[i * 10 + l] = 1; });
  return out;
}
