// onnxruntime-node side of the ONNX benchmark: one model, one thread count, in
// a fresh Node process (bench/run_onnx.mjs starts it); prints one JSON line.
//   node bench/onnx/node_ort.mjs MODEL.onnx INPUT.f32 N,C,H,W THREADS WARMUP ITERS [EXPECTED.f32]
// load_ms: from the model's bytes in memory to the first output (importing
// onnxruntime-node, InferenceSession.create, first run; the import is also
// reported alone as import_ms). Peak memory: this process's ru_maxrss (VmHWM).
import { readFileSync } from 'node:fs';
import { maxRelErr, median } from './models.mjs';

const [model, inputPath, shapeArg, threadsArg, warmupArg, itersArg, expectedPath] = process.argv.slice(2);
const threads = Number(threadsArg), warmup = Number(warmupArg), iters = Number(itersArg);
const shape = shapeArg.split(',').map(Number);
const f32 = (p) => { const b = readFileSync(p); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const rssBaseKiB = Math.round(process.memoryUsage().rss / 1024);
const bytes = readFileSync(model);
const input = f32(inputPath);
const now = () => performance.now();

const t0 = now();
const ort = await import('onnxruntime-node');
const tImported = now();
const session = await ort.InferenceSession.create(bytes, {
  executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1,
  executionMode: 'sequential',
});
const tCreated = now();
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, shape) };
const first = await session.run(feeds);
const tFirst = now();
const out = first[session.outputNames[0]].data;
for (let i = 0; i < warmup; i++) await session.run(feeds);
const samples = [];
for (let i = 0; i < iters; i++) {
  const t = now();
  await session.run(feeds);
  samples.push(now() - t);
}
console.log(JSON.stringify({
  threads, version: ort.env.versions?.common ?? null, import_ms: tImported - t0, session_ms: tCreated - tImported,
  first_run_ms: tFirst - tCreated, load_ms: tFirst - t0, median_ms: median(samples), samples,
  rss_base_kib: rssBaseKiB, peak_rss_kib: process.resourceUsage().maxRSS,
  max_rel_err: expectedPath ? maxRelErr(out, f32(expectedPath)) : null,
}));
