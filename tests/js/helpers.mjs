// Shared helpers for the Node tests.
import * as kiln from 'kiln';
import { mulberry32 } from '../../web/random.js';

let readyPromise;
export function ready() {
  readyPromise ??= kiln.ready({ quiet: true });
  return readyPromise;
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
export function randomFloats(n, seed = 1) {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * next() - 1);
}

/** Relative error max |got - want| / max |want|, the measure the ONNX tests hold to 1e-4. */
export function relError(got, want) {
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

export function oneHotRows(n, classes, seed = 2) {
  const r = randomFloats(n, seed);
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) y[i * classes + Math.floor((r[i] + 1) / 2 * classes) % classes] = 1;
  return y;
}

export function smallModel(hidden = 8, inputs = 5, outputs = 3, activation = 'relu') {
  return kiln.sequential({
    seed: 17,
    layers: [
      kiln.layers.dense({ units: hidden, activation, inputShape: [inputs] }),
      kiln.layers.dense({ units: outputs, activation: 'softmax' }),
    ],
  });
}
