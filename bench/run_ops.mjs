// Per-op overhead of the tensor-ops API (issue #14): Kiln's wasm against
// TF.js 4.22's wasm and cpu backends, side by side, on one thread, in Node
// (a process per engine) or with --browser in headless Chromium (a page per
// engine): the ops of bench/ops/ops.mjs (a small elementwise add, a 256x256
// matMul, a 64x64 softmax, a [32, 128] sum, elementwise ops on 4096 values,
// a transpose, a max pool and a conv2d on a small image), each read back
// and disposed.
//
//   node bench/run_ops.mjs [--repeats N] [--browser]
//
// Prints a markdown table of microseconds per call (median of the repeats,
// each the mean of a timed loop after a warm-up) and the ratios to TF.js.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { handleUsage } from './common/usage.mjs';
import { median } from './common/stats.mjs';
import { fmt, fmtRatio, table } from './common/markdown.mjs';
import { runPagesInChromium } from './common/browser_runner.mjs';
import { OPS, timeOps } from './ops/ops.mjs';

const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--repeats', '--engine', '--browser']);
const repeats = Number(args.includes('--repeats') ? args[args.indexOf('--repeats') + 1] : 5);
const ENGINES = ['kiln-wasm', 'tfjs-wasm', 'tfjs-cpu'];
const browser = args.includes('--browser');

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
  const out = timeOps(lib);
  process.stdout.write(JSON.stringify(out));
}

if (args.includes('--engine')) {
  await child(args[args.indexOf('--engine') + 1]);
} else {
  const runs = Object.fromEntries(ENGINES.map((e) => [e, []]));
  let where = `Node ${process.version}`;
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 ? [...ENGINES].reverse() : ENGINES;
    if (browser) {
      const br = await runPagesInChromium({ pagePath: 'bench/ops/page.html', engines: order });
      where = `headless Chromium ${br.chromium}`;
      for (const res of br.results) {
        if (res.error) throw new Error(`${res.engine}: ${res.error}`);
        runs[res.engine].push(res.ops);
      }
      continue;
    }
    for (const engine of order) {
      const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--engine', engine], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${engine}: ${p.stderr}`);
      runs[engine].push(JSON.parse(p.stdout.slice(p.stdout.indexOf('{'))));
    }
  }
  const med = (engine, op) => median(runs[engine].map((x) => x[op]));
  const rows = Object.keys(OPS).map((op) => [op, ...ENGINES.map((e) => fmt(med(e, op))),
    fmtRatio(med('kiln-wasm', op) / med('tfjs-wasm', op)), fmtRatio(med('kiln-wasm', op) / med('tfjs-cpu', op))]);
  console.log(`Per call, microseconds (median of ${repeats}, ${where}, 1 thread):\n`);
  console.log(table(['op', ...ENGINES, 'Kiln / TF.js wasm', 'Kiln / TF.js cpu'], rows));
}
