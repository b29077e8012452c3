// ONNX models through both of Kiln's paths, side by side in one Node process:
// kiln.onnx.load (the inference runtime, src/onnx) and kiln.onnx.loadModel (the
// trainable model the one core runs, src/frontends/onnx_to_layers.cc, with
// constants folded and filters packed once per weight change). Batch 1,
// torchvision models from `make torchvision-models`; median of several runs
// after warm-up, alternating the two paths so machine noise hits both.
//
//   node bench/run_onnx_layers.mjs [--models mobilenet_v2,resnet50,...] [--threads N] [--runs N]
//
// Prints one line per model: both medians and their ratio (layers / session).
import { readFileSync } from 'node:fs';
import * as kiln from '../lib/index.js';
import { handleUsage } from './common/usage.mjs';

const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--models', '--threads', '--runs']);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const models = opt('--models', 'mobilenet_v2,resnet50,densenet121,inception_v3').split(',');
const runs = Number(opt('--runs', '7'));
await kiln.ready({ threads: Number(opt('--threads', '2')), quiet: true });

const median = (t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
console.log(`kiln ${kiln.backendInfo().variant}, ${kiln.backendInfo().threads} thread(s), batch 1, median of ${runs}`);
for (const name of models) {
  const bytes = readFileSync(`build/torchvision/${name}.onnx`);
  const size = name === 'inception_v3' ? 299 : 224;
  const input = new Float32Array(readFileSync(`build/torchvision/${name}.in.f32`).buffer.slice(0));
  const x = kiln.tensor(input.slice(0, 3 * size * size), [1, 3, size, size]);
  const session = await kiln.onnx.load(bytes);
  const model = await kiln.onnx.loadModel(bytes, { inputShapes: [[3, size, size]] });
  const runSession = async () => (await session.run({ [session.inputNames[0]]: x }))[session.outputNames[0]].dataSync();
  const runLayers = () => model.predict(x).dataSync();
  await runSession();
  runLayers();
  const ts = [], tl = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await runSession();
    ts.push(performance.now() - t0);
    t0 = performance.now();
    runLayers();
    tl.push(performance.now() - t0);
  }
  const s = median(ts), l = median(tl);
  console.log(`${name.padEnd(14)} session ${s.toFixed(1).padStart(7)} ms   layers ${l.toFixed(1).padStart(7)} ms   layers/session ${(l / s).toFixed(2)}`);
  model.dispose?.();
}
