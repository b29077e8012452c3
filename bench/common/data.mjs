// Seeded synthetic data for any sample shape: the generalized form of
// bench/mlp/common.mjs's makeData (same PRNG, same draw order), so that
// makeData({ batch: 64, sampleSize: 784 }) gives exactly the MLP benchmark's
// data. No Node or DOM imports (used in Node and in pages).
import { rng, SEED } from '../mlp/common.mjs';

export { SEED };

/**
 * One training batch (x in [0, 1), one-hot y), `distinctBatches` batches that
 * predict() cycles through (the first is x) and `distinctSamples` single
 * samples (taken from the second batch) it cycles through at batch 1. All
 * arrays are flat Float32Arrays in row-major (NHWC / [batch, steps, features])
 * order; `labels` holds the class indices of y.
 */
export function makeData({ batch, sampleSize, classes = 10, seed = SEED, distinctBatches = 2, distinctSamples = 16 }) {
  if (distinctBatches < 2) throw new Error('makeData: distinctBatches must be >= 2 (the samples come from the second batch)');
  if (distinctSamples > batch) throw new Error('makeData: distinctSamples must be <= batch');
  const r = rng(seed);
  const batches = [];
  for (let b = 0; b < distinctBatches; b++) {
    const xb = new Float32Array(batch * sampleSize);
    for (let i = 0; i < xb.length; i++) xb[i] = r();
    batches.push(xb);
  }
  const y = new Float32Array(batch * classes);
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    labels[i] = Math.floor(r() * classes);
    y[i * classes + labels[i]] = 1;
  }
  const samples = [];
  for (let k = 0; k < distinctSamples; k++) samples.push(batches[1].slice(k * sampleSize, (k + 1) * sampleSize));
  return { x: batches[0], y, labels, batches, samples, batch, sampleSize, classes };
}
