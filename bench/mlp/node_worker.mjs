// Runs one engine of the MLP benchmark in this Node process and prints its
// result as the last stdout line, prefixed with RESULT_PREFIX. Progress goes
// to stderr. One engine per process: kiln.ready() loads one wasm variant per
// JS context, and separate processes keep the engines from disturbing
// each other.
//   node bench/mlp/node_worker.mjs <engine> [--quick] [--threads 2] [--kiln path/to/lib/index.js] [--budget-s S (peers)] [--grid 1,2x64,128]
//   engine: kiln-wasm-single | kiln-wasm-threaded | tfjs-cpu | tfjs-wasm | tfjs-webgpu | brainjs | synaptic | convnetjs | kerasjs
// The study's peers (brain.js, synaptic, and for tfjs-webgpu TF.js's WebGPU backend with the npm
// package `webgpu`, Dawn's Node bindings) come from bench/peers/node_modules (make peers).
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FULL_GRID, FULL_PROTOCOL, QUICK_GRID, QUICK_PROTOCOL, cellsOf } from './common.mjs';

export const RESULT_PREFIX = '__MLP_RESULT__ ';
export const NODE_ENGINES = ['kiln-wasm-single', 'kiln-wasm-threaded', 'tfjs-cpu', 'tfjs-wasm'];
export const PEER_ENGINES = ['brainjs', 'synaptic', 'convnetjs', 'kerasjs'];
/** Node engines that --engines may add (the study does). */
export const OTHER_NODE_ENGINES = ['tfjs-webgpu'];
const PEERS_REQUIRE = createRequire(new URL('../../bench/peers/package.json', import.meta.url));
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * TF.js with its WebGPU backend in Node: navigator.gpu from Dawn (the `webgpu` package). Dawn finds
 * GPUs through Vulkan; where the machine's Vulkan drivers give it no adapter (no GPU; Mesa's lavapipe
 * is rejected), it gets SwiftShader's software Vulkan (Debian's chromium ships it), and the adapter
 * says which it ran on. TF.js and the backend both come from bench/peers so that the backend
 * registers with the same tfjs-core.
 */
async function tfjsWithNodeWebGPU() {
  const { create, globals } = PEERS_REQUIRE('webgpu');
  Object.assign(globalThis, globals);
  let gpu = create([]);
  if (!(await gpu.requestAdapter()) && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;  // the Vulkan loader reads it when Dawn makes its next instance
    gpu = create([]);
  }
  if (!(await gpu.requestAdapter())) throw new Error(`no WebGPU adapter in Node (Dawn found no usable Vulkan device${process.env.VK_ICD_FILENAMES ? `; VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}` : ''}; is libvulkan1 installed?)`);
  Object.defineProperty(globalThis, 'navigator', { value: { ...(globalThis.navigator ?? {}), gpu }, configurable: true });
  const tf = PEERS_REQUIRE('@tensorflow/tfjs');
  PEERS_REQUIRE('@tensorflow/tfjs-backend-webgpu');
  return tf;
}
const PEER_PACKAGES = { brainjs: ['brain.js', 'bench/peers/'], synaptic: ['synaptic', 'bench/peers/'], convnetjs: ['convnetjs', ''],
  kerasjs: ['keras-js', 'bench/peers/'] };

/** Loads a peer with require() from its package folder; returns { namespace, version, importMs }. */
function requirePeer(engine) {
  const [pkg, where] = PEER_PACKAGES[engine];
  const require = createRequire(new URL(`../../${where}package.json`, import.meta.url));
  const t0 = performance.now();
  const namespace = require(pkg);
  const importMs = performance.now() - t0;
  return { namespace, importMs, version: require(`${pkg}/package.json`).version };
}

async function main() {
  const engine = process.argv[2];
  const quick = process.argv.includes('--quick');
  const threadsArg = process.argv.indexOf('--threads');
  const threads = threadsArg > 0 ? Number(process.argv[threadsArg + 1]) : 2;
  const argValue = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
  const kilnArg = process.argv.indexOf('--kiln');
  const kilnSpecifier = kilnArg > 0 ? pathToFileURL(process.argv[kilnArg + 1]).href : 'kiln';
  const gridArg = argValue('--grid', null)?.split('x').map((l) => l.split(',').map(Number));
  const cells = cellsOf(gridArg ? { depths: gridArg[0], widths: gridArg[1] } : quick ? QUICK_GRID : FULL_GRID);
  const protocol = quick ? QUICK_PROTOCOL : FULL_PROTOCOL;
  const log = (s) => process.stderr.write(`[node ${engine}] ${s}\n`);
  let out;
  const t0 = performance.now();
  if (engine === 'kiln-wasm-single' || engine === 'kiln-wasm-threaded') {
    const kiln = await import(kilnSpecifier);
    const importMs = performance.now() - t0;
    const { runKiln } = await import('./kiln_engine.mjs');
    const variant = engine === 'kiln-wasm-single' ? 'single' : 'threaded';
    out = await runKiln(kiln, { variant, threads: variant === 'single' ? 1 : threads, cells, protocol, log });
    out.info.module = kilnSpecifier;
    out.info.importMs = Math.round(importMs);
  } else if (engine === 'tfjs-cpu' || engine === 'tfjs-wasm' || engine === 'tfjs-webgpu') {
    // TF.js prints a hint about tfjs-node on import; keep stdout for the result.
    const origLog = console.log;
    console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
    const tf = engine === 'tfjs-webgpu' ? await tfjsWithNodeWebGPU() : await import('@tensorflow/tfjs');
    const backend = engine.slice('tfjs-'.length);
    let wasm = null;
    if (backend === 'wasm') wasm = await import('@tensorflow/tfjs-backend-wasm');
    const importMs = performance.now() - t0;
    const { runTfjs } = await import('./tfjs_engine.mjs');
    const wasmPaths = fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));
    const budgetMs = backend === 'webgpu' ? Number(argValue('--budget-s', 'Infinity')) * 1000 : Infinity;
    out = await runTfjs(tf, { backend, wasm, wasmPaths, threads, cells, protocol, log, budgetMs });
    console.log = origLog;
    out.info.importMs = Math.round(importMs);
  } else if (PEER_ENGINES.includes(engine)) {
    const { namespace, version, importMs } = requirePeer(engine);
    const { runPeer } = await import('./peer_engines.mjs');
    let modelFile;
    if (engine === 'kerasjs') {
      // Keras.js reads its model file from disk in Node.
      const { writeKerasJsMlps, mlpReference } = await import('./kerasjs_files.mjs');
      const { kerasJsFileName } = await import('./peer_engines.mjs');
      const dir = mkdtempSync(join(os.tmpdir(), 'kiln-kerasjs-'));
      process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
      modelFile = (cell) => {
        writeKerasJsMlps(dir, [cell]);
        const filepath = join(dir, kerasJsFileName(cell));
        return { filepath, filesystem: true, bytes: statSync(filepath).size, reference: (x) => mlpReference(cell, x) };
      };
    }
    out = await runPeer(engine, namespace, { version, cells, protocol, log, budgetMs: Number(argValue('--budget-s', 'Infinity')) * 1000, modelFile });
    out.info.importMs = Math.round(importMs);
  } else {
    throw new Error(`unknown engine '${engine}' (expected one of ${[...NODE_ENGINES, ...OTHER_NODE_ENGINES, ...PEER_ENGINES].join(', ')})`);
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
