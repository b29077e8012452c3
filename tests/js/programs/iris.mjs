// A TF.js program in the manner of tfjs-examples' iris (written here, not
// copied): the 150 flowers (scikit-learn's copy of the data set, read by the
// caller), a test split of 15% taken per class so every class is in it, a
// two-layer network fit with validationData and an onEpochEnd callback that
// keeps the logs, then predictions, argMax and the confusion matrix on the
// test split, and one flower typed in by hand. `tf` is the library under test.
export const IRIS_CLASSES = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];

export async function run(tf, rows, { testSplit = 0.15, epochs = 40, learningRate = 0.01, startFrom = null } = {}) {
  // Per class: the first rows to the test split, the rest to training (the data is sorted by class).
  const test = [], trainByClass = [];
  for (let c = 0; c < IRIS_CLASSES.length; c++) {
    const ofClass = rows.filter((r) => r[4] === c);
    const nTest = Math.round(ofClass.length * testSplit);
    test.push(...ofClass.slice(0, nTest));
    trainByClass.push(ofClass.slice(nTest));
  }
  // The classes interleaved, so every batch holds all three.
  const train = [];
  for (let i = 0; trainByClass.some((list) => i < list.length); i++)
    for (const list of trainByClass) if (i < list.length) train.push(list[i]);
  const tensors = (set) => [
    tf.tensor2d(set.map((r) => r.slice(0, 4)), [set.length, 4]),
    tf.oneHot(tf.tensor1d(set.map((r) => r[4]), 'int32'), IRIS_CLASSES.length),
  ];
  const [xTrain, yTrain] = tensors(train);
  const [xTest, yTest] = tensors(test);

  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 10, activation: 'sigmoid', inputShape: [xTrain.shape[1]] }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  if (startFrom) startFrom(model);
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  const logs = [];
  const history = await model.fit(xTrain, yTrain, {
    epochs,
    shuffle: false,
    validationData: [xTest, yTest],
    callbacks: { onEpochEnd: async (epoch, l) => { logs.push({ epoch, ...l }); } },
  });

  const [predicted, truth] = tf.tidy(() => [model.predict(xTest).argMax(-1), yTest.argMax(-1)]);
  const confusion = tf.math.confusionMatrix(truth, predicted, IRIS_CLASSES.length);
  const matrix = confusion.arraySync();
  const accuracy = matrix.reduce((s, row, i) => s + row[i], 0) / test.length;
  // A flower typed in by hand: a large virginica.
  const manual = tf.tidy(() => {
    const out = model.predict(tf.tensor2d([[7.2, 3.0, 6.1, 2.2]], [1, 4]));
    return { probabilities: Array.from(out.dataSync()), winner: IRIS_CLASSES[out.argMax(-1).dataSync()[0]] };
  });
  tf.dispose([xTrain, yTrain, xTest, yTest, predicted, truth, confusion]);
  model.dispose();
  return { history: history.history, logs, matrix, accuracy, manual, testSize: test.length };
}
