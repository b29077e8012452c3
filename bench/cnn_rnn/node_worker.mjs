// Runs one engine of the CNN / RNN benchmark in this Node process and prints
// its result as the last stdout line, prefixed with RESULT_PREFIX. Progress
// goes to stderr. One engine per process (kiln.ready() loads one wasm variant
// per JS context; separate processes keep the engines from disturbing each
// other).
//   node bench/cnn_rnn/node_worker.mjs <engine> [--quick] [--threads 2] [--models cnn,lstm] [--kiln path/to/lib/index.js]
//   engine: one of NODE_ENGINES
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FULL_PROTOCOL, MODELS, MODEL_IDS, NODE_ENGINES, QUICK_PROTOCOL } from './models.mjs';

export const RESULT_PREFIX = '__CNN_RNN_RESULT__ ';
// One line per finished model, so the runner keeps them if the process is killed later.
export const PARTIAL_PREFIX = '__CNN_RNN_PARTIAL__ ';

async function main() {
  const argv = process.argv.slice(2);
  const engine = argv[0];
  const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
  const quick = argv.includes('--quick');
  const threads = Number(opt('--threads', '2'));
  const kilnSpecifier = argv.includes('--kiln') ? pathToFileURL(opt('--kiln')).href : 'kiln';
  const specs = opt('--models', MODEL_IDS.join(',')).split(',').map((id) => MODELS[id]);
  const protocol = quick ? QUICK_PROTOCOL : FULL_PROTOCOL;
  const log = (s) => process.stderr.write(`[node ${engine}] ${s}\n`);
  const onRecord = (rec) => process.stdout.write(`${PARTIAL_PREFIX}${JSON.stringify(rec)}\n`);
  const common = { specs, protocol, log, onRecord };
  let out;
  if (engine === 'kiln-wasm-single' || engine === 'kiln-wasm-threaded') {
    const kiln = await import(kilnSpecifier);
    const { runKiln } = await import('./kiln_engine.mjs');
    const variant = engine === 'kiln-wasm-single' ? 'single' : 'threaded';
    out = await runKiln(kiln, { variant, threads: variant === 'single' ? 1 : threads, ...common });
    out.info.module = kilnSpecifier;
  } else if (engine === 'tfjs-cpu' || engine === 'tfjs-wasm') {
    // TF.js prints a hint about tfjs-node on import; keep stdout for the result.
    const origLog = console.log;
    console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
    const tf = await import('@tensorflow/tfjs');
    const { runTfjs } = await import('./tfjs_engine.mjs');
    const backend = engine.slice('tfjs-'.length);
    const wasm = backend === 'wasm' ? await import('@tensorflow/tfjs-backend-wasm') : null;
    const wasmPaths = fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));
    out = await runTfjs(tf, { backend, wasm, wasmPaths, threads, ...common });
    console.log = origLog;
  } else if (engine === 'convnetjs') {
    const require = createRequire(import.meta.url);
    const convnetjs = require('convnetjs');
    const version = JSON.parse(readFileSync(require.resolve('convnetjs/package.json'), 'utf8')).version;
    const { runConvnetjs } = await import('./convnetjs_engine.mjs');
    out = await runConvnetjs(convnetjs, { version, ...common });
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
