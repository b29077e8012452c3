// Child process for variants.test.mjs: loads one wasm variant, trains a fixed
// model a few steps and prints predictions as JSON (bits kept via hex floats).
import * as kiln from 'kiln';
import { randomFloats, oneHotRows } from './helpers.mjs';

const variant = process.argv[2];
const info = await kiln.ready({ variant, threads: variant === 'threaded' ? 2 : undefined, quiet: true });
const m = kiln.sequential({ layers: [
  kiln.layers.dense({ units: 37, activation: 'relu', inputShape: [19] }),
  kiln.layers.dense({ units: 5, activation: 'softmax' }),
] });
// Fixed weights so both processes start equal (the initializer seed is random per model).
m.setWeights(m.getWeights().map((w, i) => kiln.tensor(randomFloats(w.size, 100 + i).map((v) => v * 0.3), w.shape)));
m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
const x = kiln.tensor(randomFloats(64 * 19, 5), [64, 19]);
const y = kiln.tensor(oneHotRows(64, 5, 6), [64, 5]);
for (let i = 0; i < 10; i++) await m.trainOnBatch(x, y);
const out = Array.from(new Uint32Array(m.predict(x).dataSync().buffer));
console.log(JSON.stringify({ variant: info.variant, threads: info.threads, out }));
