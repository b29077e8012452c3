// The MLP benchmark: Kiln (wasm single-threaded, wasm threaded, native) vs
// TensorFlow.js (cpu and wasm backends) on MNIST-shaped MLPs, in Node.js and
// in headless Chromium, side by side in one run.
//
//   node bench/run_mlp.mjs [--quick] [--envs native,node,chromium] [--threads 2] [--json PATH] [--md PATH] [--no-snapshot]
//                          [--engines a,b (Node engines, e.g. +tfjs-webgpu)] [--browser-engines a,b (e.g. +tfjs-webgl)] [--peers] [--peer-budget-s S] [--grid 1,2x64,128]
//
// Full run (make bench-mlp): depth {1,2,4,8} x width {64,128,256}; writes
// bench/results/mlp.json and docs/BENCH_MLP.md. --quick: depth {1,4} x width
// {64,256} with fewer, shorter runs; writes bench/results/mlp-quick.json and
// bench/results/BENCH_MLP-quick.md unless --json / --md say otherwise.
// --peers adds the study's pure-JS peers (brain.js, synaptic, ConvNetJS; make
// peers installs them) to the Node engines (and to the Chromium ones unless
// --browser-engines names them), each given --peer-budget-s
// seconds (default 300) after which its remaining cells are skipped (TF.js
// WebGPU, slow on a software adapter, gets the same budget). --engines
// ...,tfjs-webgpu runs TF.js's WebGPU backend in Node through Dawn (the npm
// package `webgpu`, with the peers), on the machine's Vulkan GPU, or on
// SwiftShader's software Vulkan where there is none.
// --grid DEPTHSxWIDTHS replaces the grid (make study uses it).
// The engines run from a copy of lib/ and build/kiln-bench-mlp taken at the
// start (in the OS temp dir, removed at the end), so a rebuild during the run
// cannot mix builds; --no-snapshot measures the files in place.
//
// Pieces: bench/mlp/common.mjs (grid, data, timing protocol),
// kiln_engine.mjs / tfjs_engine.mjs (one engine each, shared by Node and the
// page), node_worker.mjs (one engine per Node process), page.html + page.mjs
// (one engine per page load), browser_runner.mjs (Chromium driver),
// sizes.mjs (gzip sizes), report.mjs (ratios and markdown).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCH, CLASSES, DISTINCT_BATCHES, DISTINCT_SAMPLES, FULL_GRID, FULL_PROTOCOL, INPUT, LEARNING_RATE, QUICK_GRID, QUICK_PROTOCOL, SEED, cellsOf } from './mlp/common.mjs';
import { pageDownload } from './common/page_download.mjs';
import { writeKerasJsMlps } from './mlp/kerasjs_files.mjs';
import { NODE_ENGINES, OTHER_NODE_ENGINES, PEER_ENGINES, RESULT_PREFIX } from './mlp/node_worker.mjs';
import { BROWSER_ENGINES, OTHER_BROWSER_ENGINES, runInChromium } from './mlp/browser_runner.mjs';
import { downloadSizes } from './mlp/sizes.mjs';
import { computeRatios, renderMarkdown, summarize, TARGETS } from './mlp/report.mjs';
import { handleUsage } from './common/usage.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--quick', '--envs', '--threads', '--json', '--md', '--no-snapshot', '--engines', '--peers', '--peer-budget-s', '--grid', '--browser-engines']);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick');
const envs = opt('--envs', 'native,node,chromium').split(',');
const threads = Number(opt('--threads', '2'));
const jsonPath = resolve(ROOT, opt('--json', quick ? 'bench/results/mlp-quick.json' : 'bench/results/mlp.json'));
const mdPath = resolve(ROOT, opt('--md', quick ? 'bench/results/BENCH_MLP-quick.md' : 'docs/BENCH_MLP.md'));
const gridArg = opt('--grid', null)?.split('x').map((l) => l.split(',').map(Number));
const grid = gridArg ? { depths: gridArg[0], widths: gridArg[1] } : quick ? QUICK_GRID : FULL_GRID;
const nodeEngines = [...opt('--engines', NODE_ENGINES.join(',')).split(','), ...(args.includes('--peers') ? PEER_ENGINES : [])];
for (const e of nodeEngines)
  if (![...NODE_ENGINES, ...OTHER_NODE_ENGINES, ...PEER_ENGINES].includes(e)) throw new Error(`--engines: unknown engine '${e}'`);
const peerBudgetS = Number(opt('--peer-budget-s', '300'));
const browserEngines = opt('--browser-engines', BROWSER_ENGINES.join(',')).split(',');
if (args.includes('--peers') && !args.includes('--browser-engines')) browserEngines.push(...PEER_ENGINES);
for (const e of browserEngines)
  if (![...BROWSER_ENGINES, ...OTHER_BROWSER_ENGINES, ...PEER_ENGINES].includes(e)) throw new Error(`--browser-engines: unknown engine '${e}'`);
const protocol = quick ? QUICK_PROTOCOL : FULL_PROTOCOL;
const cells = cellsOf(grid);
const nativeReps = protocol.reps;
const engineTimeoutMs = quick ? 150_000 : 300_000;
// A peer starts its last cell before its budget ends; the slowest cell (synaptic, depth 8 x 256) takes minutes more.
// TF.js WebGPU on a software adapter is as slow, and gets the same budget.
const BUDGETED = [...PEER_ENGINES, 'tfjs-webgpu'];
const timeoutFor = (engine) => (BUDGETED.includes(engine) ? Math.max(engineTimeoutMs, (peerBudgetS + 360) * 1000) : engineTimeoutMs);
const useSnapshot = !args.includes('--no-snapshot');
const BUILD_FILES = ['build/kiln-bench-mlp', 'lib/index.js', 'lib/backend.js', 'lib/model.js', 'lib/wasm/kiln-st.wasm', 'lib/wasm/kiln-mt.wasm'];

const tStart = Date.now();
const elapsed = () => `${((Date.now() - tStart) / 1000).toFixed(0).padStart(4)} s`;
const log = (s) => console.log(`[${elapsed()}] ${s}`);
const load1 = () => os.loadavg()[0];

/** sha256 (first 12 hex digits) and mtime of the Kiln files the engines load. */
function buildFingerprint(root) {
  const out = {};
  for (const f of BUILD_FILES) {
    try {
      const bytes = readFileSync(join(root, f));
      out[f] = { sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 12), mtime: statSync(join(root, f)).mtime.toISOString() };
    } catch {
      out[f] = null;
    }
  }
  return out;
}

/**
 * The repo's lib/ and build/ change whenever someone rebuilds; the engines
 * run from a private copy taken at the start so that one run measures one
 * build. The copy is a root the static server can serve: lib/ and the native
 * binary copied, bench/, node_modules/ and web/ linked.
 */
function makeSnapshot() {
  const dir = mkdtempSync(join(os.tmpdir(), 'kiln-mlp-bench-'));
  cpSync(join(ROOT, 'lib'), join(dir, 'lib'), { recursive: true, preserveTimestamps: true });
  if (existsSync(join(ROOT, 'build/kiln-bench-mlp'))) {
    mkdirSync(join(dir, 'build'));
    cpSync(join(ROOT, 'build/kiln-bench-mlp'), join(dir, 'build/kiln-bench-mlp'), { preserveTimestamps: true });
    chmodSync(join(dir, 'build/kiln-bench-mlp'), 0o755);
  }
  symlinkSync(join(ROOT, 'bench'), join(dir, 'bench'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'web'), join(dir, 'web'));  // web/random.js, which bench/mlp/common.mjs imports
  return dir;
}
let RUN_ROOT = ROOT;

/** Waits (up to a minute) until lib/ and the native binary are 15 s old, so the copy does not catch a build half-written. */
async function waitForSettledBuild() {
  const newest = () => Math.max(...BUILD_FILES.concat(['lib/wasm/kiln-st.js', 'lib/wasm/kiln-mt.js', 'lib/wasm/kiln-mt.worker.js'])
    .map((f) => { try { return statSync(join(ROOT, f)).mtimeMs; } catch { return 0; } }));
  for (let waited = 0; Date.now() - newest() < 15_000 && waited < 60_000; waited += 2000) {
    if (waited === 0) log('lib/ or build/ changed in the last 15 s; waiting for the build to settle');
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line ? line.split(':').slice(1).join(':').trim() : os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

/** Runs a child process (ours), returns { code, stdout, stderr, timedOut }. Progress lines from stderr are echoed. */
function runChild(cmd, argv, { timeoutMs, prefix }) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', timedOut = false, pending = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => {
      stderr += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const l of lines) if (l.trim()) log(prefix ? `${prefix} ${l}` : l);
    });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, stdout, stderr, timedOut }); });
    child.on('error', (e) => { clearTimeout(timer); resolvePromise({ code: -1, stdout, stderr: stderr + String(e), timedOut }); });
  });
}

async function runNative(nThreads) {
  const engine = `kiln-native-${nThreads}t`;
  const bin = join(RUN_ROOT, 'build/kiln-bench-mlp');
  const before = load1();
  const t0 = Date.now();
  if (!existsSync(bin)) return { environment: 'native', engine, error: 'build/kiln-bench-mlp not found (run cmake --build build)', results: [] };
  const r = await runChild(bin, [String(nThreads), String(nativeReps)], { timeoutMs: engineTimeoutMs, prefix: `[native ${nThreads}t]` });
  const lines = r.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
  const results = lines.filter((l) => cells.some((c) => c.depth === l.depth && c.width === l.width))
    .map((l) => ({ depth: l.depth, width: l.width, train_ms_per_batch: l.train_ms_per_batch, infer_ms_per_sample_b1: l.infer_ms_per_sample_b1,
      infer_ms_per_sample_b64: l.infer_ms_per_sample_b64, reps: nativeReps, iters: { train: 20, b1: 20, b64: 20 } }));
  const out = { environment: 'native', engine, wallMs: Date.now() - t0, loadavg: { before, after: load1() },
    info: { threads: lines[0]?.threads ?? nThreads, gemmKernel: lines[0]?.kernel ?? null, reps: nativeReps }, results };
  if (r.code !== 0 || r.timedOut) out.error = `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr.trim().split('\n').pop() ?? ''}`;
  log(`native ${nThreads}t: ${results.length} cells in ${(out.wallMs / 1000).toFixed(1)} s`);
  return out;
}

async function runNodeEngine(engine) {
  const before = load1();
  const t0 = Date.now();
  const argv = [join(ROOT, 'bench/mlp/node_worker.mjs'), engine, '--threads', String(threads), ...(quick ? ['--quick'] : []),
    '--kiln', join(RUN_ROOT, 'lib/index.js'), '--grid', `${grid.depths}x${grid.widths}`, '--budget-s', String(peerBudgetS)];
  const r = await runChild(process.execPath, argv, { timeoutMs: timeoutFor(engine), prefix: '' });
  const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  const base = { environment: 'node', engine, wallMs: Date.now() - t0, loadavg: { before, after: load1() } };
  if (!line) {
    const why = r.timedOut ? `timed out after ${timeoutFor(engine) / 1000} s` : `exit ${r.code}`;
    log(`node ${engine}: FAILED (${why})`);
    return { ...base, error: `${why}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`, results: [] };
  }
  const out = JSON.parse(line.slice(RESULT_PREFIX.length));
  log(`node ${engine}: done in ${(base.wallMs / 1000).toFixed(1)} s`);
  return { ...base, info: out.info, results: out.results };
}

async function main() {
  log(`MLP benchmark (${quick ? 'quick' : 'full'}): ${cells.length} cells, engines in ${envs.join(', ')}; ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const machine = {
    cpuModel: cpuModel(), logicalCpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version, chromium: null, tfjs: null,
    loadavgStart: os.loadavg(),
  };
  if (useSnapshot) await waitForSettledBuild();
  const repoAtStart = buildFingerprint(ROOT);
  if (useSnapshot) {
    RUN_ROOT = makeSnapshot();
    const snap = RUN_ROOT;
    process.on('exit', () => rmSync(snap, { recursive: true, force: true }));
    log(`measuring a copy of lib/ and build/kiln-bench-mlp taken now: ${RUN_ROOT}`);
  }
  const measured = buildFingerprint(RUN_ROOT);
  try {
    machine.tfjs = JSON.parse(readFileSync(join(ROOT, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8')).version;
  } catch { /* not installed */ }

  const engines = [];
  if (envs.includes('native')) for (const t of [1, threads]) engines.push(await runNative(t));
  if (envs.includes('node')) for (const e of nodeEngines) engines.push(await runNodeEngine(e));
  let chromiumIsolated = null;
  if (envs.includes('chromium')) {
    const loads = {};
    if (browserEngines.includes('kerasjs')) writeKerasJsMlps(join(RUN_ROOT, 'build/kerasjs-mlp'), cells);
    try {
      const br = await runInChromium({
        root: RUN_ROOT, quick, grid, threads, timeoutFor, peerBudgetS, log, engines: browserEngines,
        onEngine: async (e, phase) => { (loads[e] ??= {})[phase === 'start' ? 'before' : 'after'] = load1(); },
      });
      machine.chromium = br.chromium;
      for (const r of br.results) {
        if (r.page) chromiumIsolated = r.page.crossOriginIsolated;
        engines.push({ environment: 'chromium', engine: r.engine, wallMs: r.wallMs, loadavg: loads[r.engine], info: r.info,
          page: r.page, consoleIssues: r.consoleIssues, error: r.error, results: r.results ?? [],
          ...(r.resources ? { download: pageDownload(RUN_ROOT, r.resources) } : {}) });
      }
    } catch (e) {
      log(`chromium: FAILED ${e.stack ?? e}`);
      engines.push({ environment: 'chromium', engine: 'chromium', error: String(e.message ?? e), results: [] });
    }
  }
  machine.loadavgEnd = os.loadavg();
  const repoAtEnd = buildFingerprint(ROOT);
  const sizes = downloadSizes(RUN_ROOT);
  if (RUN_ROOT !== ROOT) rmSync(RUN_ROOT, { recursive: true, force: true });

  const results = [];
  for (const e of engines) for (const r of e.results ?? []) results.push({ environment: e.environment, engine: e.engine, ...r });
  // brain.js and synaptic end in sigmoid units, not a softmax.
  const softmaxEngine = (r) => engines.find((e) => e.engine === r.engine && e.environment === r.environment)?.info?.softmaxOutput !== false;
  const ratios = computeRatios(results, cells);

  // Anything that went wrong, for the report and the console.
  const problems = [];
  for (const e of engines) {
    if (e.error) problems.push(`${e.environment} ${e.engine}: ${String(e.error).split('\n')[0]}`);
    for (const issue of e.consoleIssues ?? []) problems.push(`${e.environment} ${e.engine}: ${issue}`);
    if (e.info && e.info.leakedTensors) problems.push(`${e.environment} ${e.engine}: ${e.info.leakedTensors} TF.js tensors leaked`);
  }
  const rebuilt = BUILD_FILES.filter((f) => repoAtEnd[f]?.sha256 !== repoAtStart[f]?.sha256);
  if (rebuilt.length && !useSnapshot) problems.push(`rebuilt during the run, so results may mix builds: ${rebuilt.join(', ')}`);
  for (const r of results) {
    const where = `${r.environment} ${r.engine} depth ${r.depth} width ${r.width}`;
    if (r.error) problems.push(`${where}: ${r.error.split('\n')[0]}`);
    else if (r.loss_after !== undefined && r.loss_after !== null && !Number.isFinite(r.loss_after)) problems.push(`${where}: training loss is ${r.loss_after}`);
    else if (r.output_sum_b1 !== undefined && softmaxEngine(r) && Math.abs(r.output_sum_b1 - 1) > 1e-3) problems.push(`${where}: softmax outputs sum to ${r.output_sum_b1}`);
  }

  const doc = {
    generated: new Date().toISOString(), mode: quick ? 'quick' : 'full', wallMs: Date.now() - tStart,
    jsonPath: relative(ROOT, jsonPath), machine, chromiumIsolated, build: { measured, snapshot: useSnapshot, repoAtStart, repoAtEnd, rebuiltDuringRun: rebuilt },
    protocol: { ...protocol, batch: BATCH, input: INPUT, classes: CLASSES, learningRate: LEARNING_RATE, seed: SEED, nativeReps,
      distinctSamples: DISTINCT_SAMPLES, distinctBatches: DISTINCT_BATCHES,
      threadsForThreadedEngines: threads, peerBudgetS: nodeEngines.some((e) => BUDGETED.includes(e)) || browserEngines.some((e) => BUDGETED.includes(e)) ? peerBudgetS : null },
    grid, cells,
    engines: engines.map(({ results: _r, ...rest }) => rest),
    results, ratios, sizes, problems,
  };
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(doc, null, 1) + '\n');
  mkdirSync(dirname(mdPath), { recursive: true });
  writeFileSync(mdPath, renderMarkdown(doc));

  log(`wrote ${relative(ROOT, jsonPath)} and ${relative(ROOT, mdPath)}`);
  for (const env of ['node', 'chromium']) {
    const rs = ratios.filter((r) => r.environment === env);
    const tr = summarize(rs.map((r) => r.train_tfjs_best_over_kiln_best), TARGETS.train);
    const b1 = summarize(rs.map((r) => r.b1_tfjs_wasm_over_kiln_best), TARGETS.b1);
    if (tr || b1)
      log(`${env}: training TF.js best / Kiln best wasm geomean ${tr?.geomean.toFixed(2)}x (min ${tr?.min.toFixed(2)}, ${tr?.meeting}/${tr?.n} >= ${TARGETS.train}x); ` +
        `batch 1 TF.js wasm / Kiln best wasm geomean ${b1?.geomean.toFixed(2)}x (min ${b1?.min.toFixed(2)}, ${b1?.meeting}/${b1?.n} >= ${TARGETS.b1})`);
  }
  const [ks, ts] = [doc.sizes.kiln.bundles, doc.sizes.tfjs.bundles];
  log(`gzip -9 download: Kiln ${(ks[0].gzip / 1024).toFixed(1)} KiB (single) / ${(ks[1].gzip / 1024).toFixed(1)} KiB (threaded); ` +
    `TF.js + wasm ${(ts[0].gzip / 1024).toFixed(1)} KiB (simd) / ${(ts[1].gzip / 1024).toFixed(1)} KiB (threaded-simd)`);
  if (problems.length) log(`problems:\n  ${problems.join('\n  ')}`);
  log(`total ${((Date.now() - tStart) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
