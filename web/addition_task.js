// A sequence task for recurrent networks: adding two numbers given as digit
// sequences. Step t of a sample holds digit t of each number (least
// significant first, one-hot: 10 + 10 features); the target at step t is
// digit t of the sum, so the network must carry from step to step. One extra
// step (both digits zero) takes the final carry. Works in Node and browsers.
import { mulberry32 } from './random.js';

/**
 * `count` random pairs of `digits`-digit numbers: x [count, digits + 1, 20],
 * y [count, digits + 1, 10] (one-hot), and the pairs themselves.
 */
export function makeAdditionData(count, digits, seed) {
  const next = mulberry32(seed), steps = digits + 1;
  const x = new Float32Array(count * steps * 20), y = new Float32Array(count * steps * 10), pairs = [];
  for (let n = 0; n < count; n++) {
    const a = Math.floor(next() * 10 ** digits), b = Math.floor(next() * 10 ** digits);
    pairs.push([a, b]);
    const sum = a + b;
    for (let t = 0; t < steps; t++) {
      const da = Math.floor(a / 10 ** t) % 10, db = Math.floor(b / 10 ** t) % 10, ds = Math.floor(sum / 10 ** t) % 10;
      const row = (n * steps + t);
      if (t < digits) {
        x[row * 20 + da] = 1;
        x[row * 20 + 10 + db] = 1;
      }
      y[row * 10 + ds] = 1;
    }
  }
  return { x, y, pairs, steps };
}

/** The sums a model's per-step probabilities [count, steps, 10] spell out. */
export function decodeSums(probs, count, steps) {
  const sums = [];
  for (let n = 0; n < count; n++) {
    let s = 0;
    for (let t = steps - 1; t >= 0; t--) {
      const row = probs.subarray((n * steps + t) * 10, (n * steps + t + 1) * 10);
      s = s * 10 + row.indexOf(Math.max(...row));
    }
    sums.push(s);
  }
  return sums;
}

/**
 * Trains a recurrent model (`cell`: 'lstm', 'gru' or 'simpleRNN') on the task
 * and returns the share of held-out pairs whose whole sum is right.
 */
export async function trainAddition(kiln, { cell = 'lstm', digits = 4, units = 32, trainCount = 3000, testCount = 1000,
                                             epochs = 10, batchSize = 32, learningRate = 0.01, seed = 1 } = {}) {
  const train = makeAdditionData(trainCount, digits, seed), held = makeAdditionData(testCount, digits, seed + 1000);
  const steps = train.steps;
  const model = kiln.sequential({ seed, layers: [
    kiln.layers[cell]({ units, returnSequences: true, inputShape: [steps, 20] }),
    kiln.layers.timeDistributed({ layer: kiln.layers.dense({ units: 10, activation: 'softmax' }) }),
  ] });
  model.compile({ optimizer: kiln.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const start = performance.now();
  const history = await model.fit(kiln.tensor(train.x, [trainCount, steps, 20]), kiln.tensor(train.y, [trainCount, steps, 10]),
                                  { epochs, batchSize, shuffle: true });
  const seconds = (performance.now() - start) / 1000;
  const probs = model.predict(kiln.tensor(held.x, [testCount, steps, 20])).dataSync();
  const sums = decodeSums(probs, testCount, steps);
  let right = 0;
  sums.forEach((s, n) => { if (s === held.pairs[n][0] + held.pairs[n][1]) right++; });
  return { accuracy: right / testCount, seconds, loss: history.history.loss, model, example: { pair: held.pairs[0], predicted: sums[0] } };
}
