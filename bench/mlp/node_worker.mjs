// Runs one engine of the MLP benchmark in this Node process and prints its
// result as the last stdout line, prefixed with RESULT_PREFIX. Progress goes
// to stderr. One engine per process: kiln.ready() loads one wasm variant per
// JS context, and separate processes keep the engines from disturbing
// each other.
//   node bench/mlp/node_worker.mjs <engine> [--quick] [--threads 2] [--kiln path/to/lib/index.js]
//   engine: kiln-wasm-single | kiln-wasm-threaded | tfjs-cpu | tfjs-wasm
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FULL_GRID, FULL_PROTOCOL, QUICK_GRID, QUICK_PROTOCOL, cellsOf } from './common.mjs';

export const RESULT_PREFIX = '__MLP_RESULT__ ';
export const NODE_ENGINES = ['kiln-wasm-single', 'kiln-wasm-threaded', 'tfjs-cpu', 'tfjs-wasm'];

async function main() {
  const engine = process.argv[2];
  const quick = process.argv.includes('--quick');
  const threadsArg = process.argv.indexOf('--threads');
  const threads = threadsArg > 0 ? Number(process.argv[threadsArg + 1]) : 2;
  const kilnArg = process.argv.indexOf('--kiln');
  const kilnSpecifier = kilnArg > 0 ? pathToFileURL(process.argv[kilnArg + 1]).href : 'kiln';
  const cells = cellsOf(quick ? QUICK_GRID : FULL_GRID);
  const protocol = quick ? QUICK_PROTOCOL : FULL_PROTOCOL;
  const log = (s) => process.stderr.write(`[node ${engine}] ${s}\n`);
  let out;
  if (engine === 'kiln-wasm-single' || engine === 'kiln-wasm-threaded') {
    const kiln = await import(kilnSpecifier);
    const { runKiln } = await import('./kiln_engine.mjs');
    const variant = engine === 'kiln-wasm-single' ? 'single' : 'threaded';
    out = await runKiln(kiln, { variant, threads: variant === 'single' ? 1 : threads, cells, protocol, log });
    out.info.module = kilnSpecifier;
  } else if (engine === 'tfjs-cpu' || engine === 'tfjs-wasm') {
    // TF.js prints a hint about tfjs-node on import; keep stdout for the result.
    const origLog = console.log;
    console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
    const tf = await import('@tensorflow/tfjs');
    const { runTfjs } = await import('./tfjs_engine.mjs');
    const backend = engine.slice('tfjs-'.length);
    let wasm = null;
    if (backend === 'wasm') wasm = await import('@tensorflow/tfjs-backend-wasm');
    const wasmPaths = fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));
    out = await runTfjs(tf, { backend, wasm, wasmPaths, threads, cells, protocol, log });
    console.log = origLog;
  } else {
    throw new Error(`unknown engine '${engine}' (expected one of ${NODE_ENGINES.join(', ')})`);
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(out)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`[node] fatal: ${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    },
  );
}
