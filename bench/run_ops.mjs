// Per-op overhead of the tensor-ops API (issue #14) in Node: Kiln's wasm
// against TF.js 4.22's wasm and cpu backends, side by side in one process
// each, on one thread: a small elementwise add ([8] + [8]), a 256x256 matMul,
// a 64x64 softmax and a [32, 128] sum over the last axis. Each op's result is
// read back (dataSync) and disposed, as a program's eager step would.
//
//   node bench/run_ops.mjs [--repeats N]
//
// Prints a markdown table of microseconds per call (median of the repeats,
// each the mean of a timed loop after a warm-up) and the ratios to TF.js.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { handleUsage } from './common/usage.mjs';
import { median } from './common/stats.mjs';
import { fmt, fmtRatio, table } from './common/markdown.mjs';

const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--repeats', '--engine']);
const repeats = Number(args.includes('--repeats') ? args[args.indexOf('--repeats') + 1] : 5);
const ENGINES = ['kiln-wasm', 'tfjs-wasm', 'tfjs-cpu'];
const OPS = {
  'add [8]': { make: (lib) => [lib.tensor(Float32Array.from({ length: 8 }, (_, i) => i)), lib.tensor(Float32Array.from({ length: 8 }, (_, i) => -i))], run: (lib, [a, b]) => lib.add(a, b), loops: 20000 },
  'matMul 256x256': { make: (lib) => [lib.tensor(Float32Array.from({ length: 65536 }, (_, i) => Math.sin(i)), [256, 256])], run: (lib, [a]) => lib.matMul(a, a), loops: 40 },
  'softmax 64x64': { make: (lib) => [lib.tensor(Float32Array.from({ length: 4096 }, (_, i) => Math.cos(i)), [64, 64])], run: (lib, [a]) => lib.softmax(a), loops: 2000 },
  'sum [32,128] axis -1': { make: (lib) => [lib.tensor(Float32Array.from({ length: 4096 }, (_, i) => i % 7), [32, 128])], run: (lib, [a]) => lib.sum(a, -1), loops: 2000 },
};

async function child(engine) {
  let lib;
  if (engine === 'kiln-wasm') {
    lib = await import('kiln');
    await lib.ready({ threads: 1, quiet: true });
  } else {
    lib = await import('@tensorflow/tfjs');
    if (engine === 'tfjs-wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url).pathname);
    }
    await lib.setBackend(engine.slice(5));
    await lib.ready();
  }
  const out = {};
  for (const [name, op] of Object.entries(OPS)) {
    const inputs = op.make(lib);
    const step = () => { const y = op.run(lib, inputs); y.dataSync(); y.dispose(); };
    for (let i = 0; i < Math.max(10, op.loops / 10); i++) step();
    const t0 = performance.now();
    for (let i = 0; i < op.loops; i++) step();
    out[name] = ((performance.now() - t0) * 1000) / op.loops;
  }
  process.stdout.write(JSON.stringify(out));
}

if (args.includes('--engine')) {
  await child(args[args.indexOf('--engine') + 1]);
} else {
  const runs = Object.fromEntries(ENGINES.map((e) => [e, []]));
  for (let r = 0; r < repeats; r++)
    for (const engine of r % 2 ? [...ENGINES].reverse() : ENGINES) {
      const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--engine', engine], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${engine}: ${p.stderr}`);
      runs[engine].push(JSON.parse(p.stdout.slice(p.stdout.indexOf('{'))));
    }
  const med = (engine, op) => median(runs[engine].map((x) => x[op]));
  const rows = Object.keys(OPS).map((op) => [op, ...ENGINES.map((e) => fmt(med(e, op))),
    fmtRatio(med('kiln-wasm', op) / med('tfjs-wasm', op)), fmtRatio(med('kiln-wasm', op) / med('tfjs-cpu', op))]);
  console.log(`Per call, microseconds (median of ${repeats}, Node ${process.version}, 1 thread):\n`);
  console.log(table(['op', ...ENGINES, 'Kiln / TF.js wasm', 'Kiln / TF.js cpu'], rows));
}
