// The ONNX inference benchmark (issue #4): torchvision MobileNetV2, ResNet50,
// DenseNet121 and InceptionV3 at batch 1, in headless Chromium (Kiln wasm vs
// onnxruntime-web's wasm EP) and natively (Kiln C++ vs onnxruntime-node vs
// PyTorch CPU), on 1 and 2 threads. Per engine, model and thread count: the
// median latency of `iters` runs after warm-up, the time from the model's bytes
// (or, in the browser, from loading the engine and fetching the model) to the
// first output, and the peak resident memory of a fresh process (browser: of a
// fresh Chromium's renderer). Every measurement runs in a fresh process or
// browser; the engines are interleaved model by model so load on the machine
// falls on all of them; the reported figures are medians over `repeats`.
//
//   node bench/run_onnx.mjs [--quick] [--models a,b] [--engines a,b] [--threads 1,2] [--repeats N]
//                           [--timeout SECONDS] [--json PATH] [--md PATH] [--no-snapshot] [--gpu-budget-s S]
// --engines ...,ort-webgpu adds onnxruntime-web's WebGPU provider (one thread count, first repeat
// only; its page runs at most about 20 s of inferences, and models after --gpu-budget-s (default 120)
// are recorded as skipped: the software adapter of a machine without a GPU takes seconds per run).
//   node bench/run_onnx.mjs --render bench/results/onnx.json [--md PATH]   (re-renders the markdown only)
//
// Full run (make bench-onnx): writes bench/results/onnx.json and docs/BENCH_ONNX.md.
// --quick or KILN_BENCH_QUICK=1: MobileNetV2 and ResNet50, fewer runs, one
// repeat; writes bench/results/onnx-quick.json and bench/results/BENCH_ONNX-quick.md
// unless --json / --md say otherwise.
//
// Needs: build/torchvision (make torchvision-models), lib/ (make js), the
// native binary build/kiln-bench-onnx (make native), /usr/bin/python3 with
// torch + torchvision (the TorchScript models are made once into build/bench_onnx/).
// Pieces: bench/onnx/models.mjs (models, engines, protocol), page.html +
// page.mjs (Kiln wasm and onnxruntime-web, one per browser), node_ort.mjs
// (onnxruntime-node), torch_bench.py (PyTorch), bench/native_onnx_bench.cc
// (Kiln native), report.mjs (aggregation, ratios, markdown).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './common/child.mjs';
import { runPagesInChromium } from './common/browser_runner.mjs';
import { startRendererSampler } from './common/renderer_memory.mjs';
import { pageDownload } from './common/page_download.mjs';
import { machineInfo, packageVersion } from './common/machine.mjs';
import { handleUsage } from './common/usage.mjs';
import { fingerprint, kilnLibFiles, makeSnapshot, waitForSettled } from './common/snapshot.mjs';
import { ENGINES, ENGINE_IDS, FULL_PROTOCOL, MODELS, MODEL_IDS, QUICK_MODEL_IDS, QUICK_PROTOCOL, THREADS, inputShape } from './onnx/models.mjs';
import { TARGETS, aggregate, computeRatios, renderMarkdown } from './onnx/report.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const KNOWN = ['--quick', '--models', '--engines', '--threads', '--repeats', '--timeout', '--json', '--md', '--no-snapshot', '--render', '--gpu-budget-s'];
handleUsage(import.meta.url, args, KNOWN);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick') || process.env.KILN_BENCH_QUICK === '1';
const modelIds = opt('--models', (quick ? QUICK_MODEL_IDS : MODEL_IDS).join(',')).split(',');
const engineIds = opt('--engines', ENGINE_IDS.join(',')).split(',');
const threadList = opt('--threads', THREADS.join(',')).split(',').map(Number);
const protocol = { ...(quick ? QUICK_PROTOCOL : FULL_PROTOCOL) };
if (args.includes('--repeats')) protocol.repeats = Number(opt('--repeats'));
const timeoutMs = Number(opt('--timeout', 300)) * 1000;
const jsonPath = resolve(ROOT, opt('--json', quick ? 'bench/results/onnx-quick.json' : 'bench/results/onnx.json'));
const mdPath = resolve(ROOT, opt('--md', quick ? 'bench/results/BENCH_ONNX-quick.md' : 'docs/BENCH_ONNX.md'));
const useSnapshot = !args.includes('--no-snapshot');
for (const id of modelIds) if (!MODELS[id]) throw new Error(`unknown model '${id}' (expected ${MODEL_IDS.join(', ')})`);
for (const id of engineIds) if (!ENGINES[id]) throw new Error(`unknown engine '${id}' (expected ${Object.keys(ENGINES).join(', ')})`);
const gpuBudgetMs = Number(opt('--gpu-budget-s', 120)) * 1000;
const GPU_PAGE_BUDGET_S = 20;

const TV = join(ROOT, 'build/torchvision');
const PT_DIR = join(ROOT, 'build/bench_onnx');
const NATIVE_BIN = 'build/kiln-bench-onnx';
const PYTHON = process.env.KILN_PYTHON || '/usr/bin/python3';
const tStart = Date.now();
const log = (s) => console.log(`[${((Date.now() - tStart) / 1000).toFixed(0).padStart(5)} s] ${s}`);
const load1 = () => os.loadavg()[0];
let RUN_ROOT = ROOT;
// Console messages that are expected and harmless: listed as notes, not problems. (Emscripten's
// pthreads build warns once that the page's main thread may block on a lock: Kiln's threaded
// variant runs its kernels from the main thread and joins its pool there.)
const BENIGN_CONSOLE = [/Blocking on the main thread is very dangerous/];

// ---- one measurement: a fresh process or a fresh browser ----
function parseJsonLine(stdout) {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('{'));
  return line ? JSON.parse(line) : null;
}
async function runProcess(cmd, argv) {
  const r = await runChild(cmd, argv, { cwd: ROOT, timeoutMs, onStderrLine: (l) => log(`  ${l}`) });
  const out = parseJsonLine(r.stdout);
  if (out && !out.error) return out;
  const why = r.timedOut ? `timed out after ${timeoutMs / 1000} s` : out?.error ?? `exit ${r.code}`;
  return { error: `${why}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}` };
}
async function runBrowser(engine, model, threads) {
  let stop = null;
  const gpu = !!ENGINES[engine]?.gpu;
  try {
    const br = await runPagesInChromium({
      root: RUN_ROOT, pagePath: 'bench/onnx/page.html', engines: [engine], timeoutMs, webgpu: gpu,
      query: { ...(model ? { model } : {}), threads: String(threads), warmup: String(protocol.warmup), iters: String(protocol.iters),
        ...(gpu ? { budget: String(GPU_PAGE_BUDGET_S) } : {}) },
      onEngine: async (_e, phase) => { if (phase === 'start') stop = startRendererSampler(); },
    });
    const r = br.results[0];
    const peak = stop ? stop() : null;
    stop = null;
    return { ...r, chromium: br.chromium, peak_rss_kib: peak };
  } catch (e) {
    if (stop) stop();
    return { error: String(e.message ?? e) };
  }
}
async function measureOne(engine, model, threads) {
  const shape = inputShape(model).join(',');
  const files = [join(TV, `${model}.in.f32`), shape, String(threads), String(protocol.warmup), String(protocol.iters), join(TV, `${model}.out.f32`)];
  if (engine === 'kiln-native') return runProcess(join(RUN_ROOT, NATIVE_BIN), [join(TV, `${model}.onnx`), ...files]);
  if (engine === 'ort-node') return runProcess(process.execPath, [join(ROOT, 'bench/onnx/node_ort.mjs'), join(TV, `${model}.onnx`), ...files]);
  if (engine === 'pytorch') return runProcess(PYTHON, [join(ROOT, 'bench/onnx/torch_bench.py'), 'run', join(PT_DIR, `${model}.pt`), ...files]);
  return runBrowser(engine, model, threads);
}

async function prepare() {
  const missing = modelIds.filter((m) => !existsSync(join(TV, `${m}.onnx`)) || !existsSync(join(TV, `${m}.out.f32`)));
  if (missing.length) {
    log(`exporting ${missing.join(', ')} to build/torchvision (scripts/make_torchvision_models.py)`);
    const r = await runChild(PYTHON, [join(ROOT, 'scripts/make_torchvision_models.py'), TV], { cwd: ROOT, timeoutMs: 1_800_000, onStderrLine: log });
    if (r.code !== 0) throw new Error(`make_torchvision_models.py failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  if (engineIds.includes('pytorch')) {
    const r = await runChild(PYTHON, [join(ROOT, 'bench/onnx/torch_bench.py'), 'prepare', TV, PT_DIR, ...modelIds],
      { cwd: ROOT, timeoutMs: 1_800_000, onStderrLine: log });
    if (r.code !== 0) throw new Error(`torch_bench.py prepare failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  if (engineIds.includes('kiln-native') && !existsSync(join(ROOT, NATIVE_BIN)))
    throw new Error(`${NATIVE_BIN} is missing: make native (or cmake --build build --target kiln-bench-onnx)`);
}

// What the run has measured so far (written after every measurement, so an interrupted run leaves its results).
const state = { runs: [], baselines: [], downloads: {}, machine: null, buildFiles: [], repoAtStart: {}, measured: {}, git: null, total: null };

/** Writes the JSON and the markdown from `state`; `complete` false marks them partial. */
function writeResults(complete) {
  if (!state.machine) return;
  const { total, runs, baselines, downloads, machine, buildFiles, repoAtStart, measured } = state;
  state.machine.loadavgEnd = os.loadavg();
  const repoAtEnd = complete ? fingerprint(ROOT, buildFiles) : null;

  const problems = [], notes = [];
  for (const r of runs) {
    const where = `${r.engine} ${r.threads}t ${r.model} (repeat ${r.repeat + 1})`;
    if (r.error) problems.push(`${where}: ${String(r.error).split('\n')[0]}`);
    if (r.max_rel_err !== undefined && r.max_rel_err !== null && !(r.max_rel_err <= 1e-3)) problems.push(`${where}: output differs from PyTorch's by ${r.max_rel_err} (relative)`);
    if (r.page && r.threads > 1 && !r.page.crossOriginIsolated) problems.push(`${where}: the page is not cross-origin isolated`);
    for (const issue of r.consoleIssues ?? []) (BENIGN_CONSOLE.some((re) => re.test(issue)) ? notes : problems).push(`${where}: ${issue}`);
  }
  const rebuilt = !repoAtEnd ? [] : buildFiles.filter((f) => repoAtEnd[f]?.sha256 !== repoAtStart[f]?.sha256);
  if (rebuilt.length && !useSnapshot) problems.push(`the build changed during the run, so results may mix builds: ${rebuilt.join(', ')}`);

  const summary = aggregate(runs);
  const doc = {
    generated: new Date().toISOString(), mode: quick ? 'quick' : 'full', wallMs: Date.now() - tStart,
    command: `node bench/run_onnx.mjs${args.length ? ' ' + args.join(' ') : ''}`, jsonPath: relative(ROOT, jsonPath),
    complete, machine, build: { git: state.git, measured, snapshot: useSnapshot, repoAtStart, repoAtEnd, rebuiltDuringRun: rebuilt },
    protocol, models: Object.fromEntries(modelIds.map((id) => [id, { ...MODELS[id], input: inputShape(id) }])),
    engines: Object.fromEntries(engineIds.map((id) => [id, ENGINES[id]])), threads: threadList, targets: TARGETS,
    downloads, blankPage: baselines, summary, ratios: computeRatios(summary, { models: modelIds, threads: threadList }), runs, problems, notes: [...new Set(notes.map((n) => n.replace(/^\S+ \S+ \S+ \(repeat \d+\): /, '')))],
  };
  if (!complete) doc.partial = { measurements: runs.length, of: total };
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(doc, null, 1) + '\n');
  mkdirSync(dirname(mdPath), { recursive: true });
  writeFileSync(mdPath, renderMarkdown(doc));
  if (!complete) return;
  log(`wrote ${relative(ROOT, jsonPath)} and ${relative(ROOT, mdPath)}`);
  if (problems.length) log(`problems:\n  ${problems.join('\n  ')}`);
}

async function main() {
  log(`ONNX benchmark (${quick ? 'quick' : 'full'}): models ${modelIds.join(', ')}; engines ${engineIds.join(', ')}; threads ${threadList.join(', ')}; ` +
    `${protocol.repeats} repeat(s) of ${protocol.warmup} warm-up + ${protocol.iters} timed runs; ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  await prepare();
  const machine = { ...machineInfo(), chromium: null, onnxruntimeWeb: packageVersion(ROOT, 'onnxruntime-web'), onnxruntimeNode: packageVersion(ROOT, 'onnxruntime-node') };
  const buildFiles = [...kilnLibFiles(ROOT), NATIVE_BIN];
  if (useSnapshot) await waitForSettled(ROOT, buildFiles, { log });
  const repoAtStart = fingerprint(ROOT, buildFiles);
  if (useSnapshot) {
    RUN_ROOT = makeSnapshot(ROOT, { copy: ['lib', NATIVE_BIN], link: ['bench', 'node_modules', 'web'], prefix: 'kiln-onnx-bench-' });
    mkdirSync(join(RUN_ROOT, 'build'), { recursive: true });
    symlinkSync(TV, join(RUN_ROOT, 'build/torchvision'));
    const snap = RUN_ROOT;
    process.on('exit', () => rmSync(snap, { recursive: true, force: true }));
    log(`measuring a copy of lib/ and ${NATIVE_BIN} taken now: ${RUN_ROOT}`);
  }
  Object.assign(state, { machine, buildFiles, repoAtStart, measured: fingerprint(RUN_ROOT, buildFiles), git: gitState() });

  const configs = [];
  for (const engine of engineIds) for (const threads of ENGINES[engine].gpu ? threadList.slice(0, 1) : threadList) configs.push({ engine, threads });
  const { runs, baselines, downloads } = state;
  // GPU engines run in the first repeat only (their pages already time several runs within a budget).
  const gpuConfigs = configs.filter((c) => ENGINES[c.engine].gpu).length;
  state.total = modelIds.length * ((configs.length - gpuConfigs) * protocol.repeats + gpuConfigs);
  // An interrupted run (Ctrl-C, a time limit) still leaves what it measured, marked partial.
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { log(`${sig}: writing the partial results`); writeResults(false); process.exit(130); });
  const wantBrowser = configs.some((c) => ENGINES[c.engine].env === 'chromium');
  const gpuSpent = {};  // engine -> ms
  for (let rep = 0; rep < protocol.repeats; rep++) {
    if (wantBrowser) {
      const b = await runBrowser('blank', null, 1);
      if (b.chromium) state.machine.chromium = b.chromium;
      baselines.push({ repeat: rep, peak_rss_kib: b.peak_rss_kib, error: b.error });
      log(`repeat ${rep + 1}: blank page renderer peak ${b.peak_rss_kib ? `${(b.peak_rss_kib / 1024).toFixed(0)} MiB` : 'n/a'}`);
    }
    for (const model of modelIds) {
      // Interleaved: every engine on this model back to back, the order reversed on odd repeats.
      const order = rep % 2 ? [...configs].reverse() : configs;
      for (const { engine, threads } of order) {
        if (ENGINES[engine].gpu && rep > 0) continue;
        const before = load1();
        const t0 = Date.now();
        const spentMs = gpuSpent[engine] ?? 0;
        const r = ENGINES[engine].gpu && spentMs > gpuBudgetMs
          ? { skipped: `the GPU engine's budget (--gpu-budget-s ${gpuBudgetMs / 1000}) was spent on the models before` }
          : await measureOne(engine, model, threads);
        if (ENGINES[engine].gpu) gpuSpent[engine] = spentMs + (Date.now() - t0);
        const rec = { repeat: rep, engine, env: ENGINES[engine].env, model, threads, wallMs: Date.now() - t0, loadavg: { before, after: load1() } };
        const { resources, engine: _e, model: _m, threads: _t, ...rest } = r;
        Object.assign(rec, rest);
        const dkey = `${engine} ${threads}t`;
        if (resources && !downloads[dkey] && !r.error) downloads[dkey] = { engine, threads, ...pageDownload(RUN_ROOT, resources) };
        if (r.chromium) state.machine.chromium = r.chromium;
        runs.push(rec);
        writeResults(false);
        log(`repeat ${rep + 1}/${protocol.repeats} ${model} ${engine} ${threads}t: ` + (r.error ? `ERROR ${String(r.error).split('\n')[0]}` : r.skipped ? `skipped (${r.skipped})` :
          `median ${r.median_ms.toFixed(1)} ms, first result ${r.load_ms.toFixed(0)} ms, peak ${r.peak_rss_kib ? (r.peak_rss_kib / 1024).toFixed(0) : 'n/a'} MiB` +
          `, rel err ${r.max_rel_err === null || r.max_rel_err === undefined ? 'n/a' : Number(r.max_rel_err).toExponential(1)}`));
      }
    }
  }
  writeResults(true);
  if (RUN_ROOT !== ROOT) rmSync(RUN_ROOT, { recursive: true, force: true });
}

/** The commit measured and the uncommitted changes to Kiln's sources (a benchmark of work in progress says so). */
function gitState() {
  const git = (...a) => { try { return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trimEnd(); } catch { return null; } };
  const dirty = git('status', '--porcelain', '--', 'src', 'include', 'js/src', 'CMakeLists.txt');
  return { commit: git('rev-parse', '--short', 'HEAD'), uncommittedSourceChanges: dirty === null ? null : dirty.split('\n').filter(Boolean) };
}

/** Re-renders the markdown from a results file (after a change to report.mjs; no measuring). */
function renderOnly(path) {
  const doc = JSON.parse(readFileSync(resolve(ROOT, path), 'utf8'));
  doc.summary = aggregate(doc.runs);
  doc.ratios = computeRatios(doc.summary, { models: Object.keys(doc.models), threads: doc.threads });
  const out = resolve(ROOT, opt('--md', doc.mode === 'quick' ? 'bench/results/BENCH_ONNX-quick.md' : 'docs/BENCH_ONNX.md'));
  writeFileSync(out, renderMarkdown(doc));
  console.log(`rendered ${relative(ROOT, out)} from ${path}`);
}

(args.includes('--render') ? Promise.resolve().then(() => renderOnly(opt('--render'))) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
