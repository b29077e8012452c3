// The CNN / RNN benchmark: Kiln (wasm single-threaded and threaded) vs
// TensorFlow.js (cpu, wasm and webgl backends) and ConvNetJS (CNN only) on a
// LeNet-5 style CNN and a 2-layer LSTM with MNIST-shaped data, in headless
// Chromium and in Node.js, side by side in one run.
//
//   node bench/run_cnn_rnn.mjs [--quick] [--envs chromium,node] [--models cnn,lstm] [--engines a,b]
//                              [--threads 2] [--engine-timeout SECONDS] [--json PATH] [--md PATH] [--no-snapshot]
//   node bench/run_cnn_rnn.mjs --render bench/results/cnn_rnn.json [--md PATH]   (re-renders the markdown only)
//
// Full run (make bench-cnn-rnn): writes bench/results/cnn_rnn.json and
// docs/BENCH_CNN_RNN.md. --quick: fewer, shorter runs; writes
// bench/results/cnn_rnn-quick.json and bench/results/BENCH_CNN_RNN-quick.md
// unless --json / --md say otherwise. --engines limits the engines (names as in
// bench/cnn_rnn/models.mjs); --engine-timeout stops an engine (process or page)
// after that long, keeping the models it finished (default 240 s, quick 150 s). The Kiln engines run from a copy of lib/ taken at
// the start (in the OS temp dir, removed at the end), so a rebuild during the
// run cannot mix builds; --no-snapshot measures lib/ in place.
//
// Pieces: bench/cnn_rnn/models.mjs (models, data, protocol), kiln_engine.mjs /
// tfjs_engine.mjs / convnetjs_engine.mjs (one engine each, shared by Node and
// the page), node_worker.mjs (one engine per Node process), page.html +
// page.mjs (one engine per page load), report.mjs (comparisons and markdown);
// bench/common/ (data, timing loop, TF.js backend set-up, child processes,
// lib/ snapshot, Chromium driver); bench/mlp/common.mjs (PRNG, measure()).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './common/child.mjs';
import { machineInfo, packageVersion } from './common/machine.mjs';
import { handleUsage } from './common/usage.mjs';
import { fingerprint, kilnLibFiles, makeSnapshot, waitForSettled } from './common/snapshot.mjs';
import { runPagesInChromium } from './common/browser_runner.mjs';
import { BATCH, BROWSER_ENGINES, CLASSES, FULL_PROTOCOL, LEARNING_RATE, MODELS, MODEL_IDS, NODE_ENGINES, QUICK_PROTOCOL, SEED, describeModel } from './cnn_rnn/models.mjs';
import { PARTIAL_PREFIX, RESULT_PREFIX } from './cnn_rnn/node_worker.mjs';
import { TARGETS, computeComparisons, renderMarkdown } from './cnn_rnn/report.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--quick', '--envs', '--models', '--engines', '--threads', '--engine-timeout', '--json', '--md',
  '--no-snapshot', '--render']);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick');
const envs = opt('--envs', 'chromium,node').split(',');
const modelIds = opt('--models', MODEL_IDS.join(',')).split(',');
const engineFilter = opt('--engines', null)?.split(',') ?? null;
const threads = Number(opt('--threads', '2'));
const jsonPath = resolve(ROOT, opt('--json', quick ? 'bench/results/cnn_rnn-quick.json' : 'bench/results/cnn_rnn.json'));
const mdPath = resolve(ROOT, opt('--md', quick ? 'bench/results/BENCH_CNN_RNN-quick.md' : 'docs/BENCH_CNN_RNN.md'));
const protocol = quick ? QUICK_PROTOCOL : FULL_PROTOCOL;
const engineTimeoutMs = Number(opt('--engine-timeout', quick ? 150 : 240)) * 1000;
const useSnapshot = !args.includes('--no-snapshot');
for (const id of modelIds) if (!MODELS[id]) throw new Error(`unknown model '${id}' (expected ${MODEL_IDS.join(', ')})`);
// Console messages that are expected and harmless: listed as notes, not problems.
// (SwiftShader's ANGLE reports every readback of a WebGL texture, which is how
// TF.js webgl's dataSync() and the loss readback work.)
const BENIGN_CONSOLE = [/GPU stall due to ReadPixels/];
const pick = (list) => (engineFilter ? list.filter((e) => engineFilter.includes(e)) : list);

const tStart = Date.now();
const elapsed = () => `${((Date.now() - tStart) / 1000).toFixed(0).padStart(4)} s`;
const log = (s) => console.log(`[${elapsed()}] ${s}`);
const load1 = () => os.loadavg()[0];
let RUN_ROOT = ROOT;

async function runNodeEngine(engine) {
  const before = load1();
  const t0 = Date.now();
  const argv = [join(ROOT, 'bench/cnn_rnn/node_worker.mjs'), engine, '--threads', String(threads), '--models', modelIds.join(','),
    ...(quick ? ['--quick'] : []), '--kiln', join(RUN_ROOT, 'lib/index.js')];
  const r = await runChild(process.execPath, argv, { cwd: ROOT, timeoutMs: engineTimeoutMs, onStderrLine: log });
  const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  const base = { environment: 'node', engine, wallMs: Date.now() - t0, loadavg: { before, after: load1() } };
  if (!line) {
    const why = r.timedOut ? `timed out after ${engineTimeoutMs / 1000} s` : `exit ${r.code}`;
    const partial = r.stdout.split('\n').filter((l) => l.startsWith(PARTIAL_PREFIX)).map((l) => JSON.parse(l.slice(PARTIAL_PREFIX.length)));
    log(`node ${engine}: FAILED (${why})${partial.length ? `; keeping the ${partial.length} model(s) it finished` : ''}`);
    return { ...base, error: `${why}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`, results: partial };
  }
  const out = JSON.parse(line.slice(RESULT_PREFIX.length));
  log(`node ${engine}: done in ${(base.wallMs / 1000).toFixed(1)} s`);
  return { ...base, info: out.info, results: out.results };
}

async function main() {
  log(`CNN / RNN benchmark (${quick ? 'quick' : 'full'}): models ${modelIds.join(', ')}; environments ${envs.join(', ')}; ` +
    `${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const machine = { ...machineInfo(), chromium: null, tfjs: packageVersion(ROOT, '@tensorflow/tfjs'), convnetjs: packageVersion(ROOT, 'convnetjs') };
  const libFiles = kilnLibFiles(ROOT);
  if (useSnapshot) await waitForSettled(ROOT, libFiles, { log });
  const repoAtStart = fingerprint(ROOT, libFiles);
  if (useSnapshot) {
    RUN_ROOT = makeSnapshot(ROOT, { copy: ['lib'], link: ['bench', 'node_modules', 'web'], prefix: 'kiln-cnn-rnn-bench-' });
    const snap = RUN_ROOT;
    process.on('exit', () => rmSync(snap, { recursive: true, force: true }));
    log(`measuring a copy of lib/ taken now: ${RUN_ROOT}`);
  }
  const measured = fingerprint(RUN_ROOT, kilnLibFiles(RUN_ROOT));

  const engines = [];
  let chromiumIsolated = null;
  if (envs.includes('chromium')) {
    const loads = {};
    try {
      const br = await runPagesInChromium({
        root: RUN_ROOT, pagePath: 'bench/cnn_rnn/page.html', engines: pick(BROWSER_ENGINES),
        query: { threads: String(threads), models: modelIds.join(','), ...(quick ? { quick: '1' } : {}) },
        timeoutMs: engineTimeoutMs, log,
        onEngine: async (e, phase) => { (loads[e] ??= {})[phase === 'start' ? 'before' : 'after'] = load1(); },
      });
      machine.chromium = br.chromium;
      for (const r of br.results) {
        if (r.page) chromiumIsolated = r.page.crossOriginIsolated;
        engines.push({ environment: 'chromium', engine: r.engine, wallMs: r.wallMs, loadavg: loads[r.engine], info: r.info,
          page: r.page, consoleIssues: r.consoleIssues, error: r.error, results: r.results ?? [] });
      }
    } catch (e) {
      log(`chromium: FAILED ${e.stack ?? e}`);
      engines.push({ environment: 'chromium', engine: 'chromium', error: String(e.message ?? e), results: [] });
    }
  }
  if (envs.includes('node')) for (const e of pick(NODE_ENGINES)) engines.push(await runNodeEngine(e));
  machine.loadavgEnd = os.loadavg();
  const repoAtEnd = fingerprint(ROOT, kilnLibFiles(ROOT));
  if (RUN_ROOT !== ROOT) rmSync(RUN_ROOT, { recursive: true, force: true });

  const results = [];
  for (const e of engines) for (const r of e.results ?? []) results.push({ environment: e.environment, engine: e.engine, ...r });
  const models = Object.fromEntries(modelIds.map((id) => [id, { ...MODELS[id], ...describeModel(MODELS[id]) }]));
  const comparisons = computeComparisons(results, { envs: envs.filter((e) => e === 'chromium' || e === 'node'), models: modelIds });

  // Anything that went wrong, for the report and the console.
  const problems = [], notes = [];
  for (const e of engines) {
    if (e.error) problems.push(`${e.environment} ${e.engine}: ${String(e.error).split('\n')[0]}`);
    for (const issue of e.consoleIssues ?? []) (BENIGN_CONSOLE.some((re) => re.test(issue)) ? notes : problems).push(`${e.environment} ${e.engine}: ${issue}`);
    if (e.info && e.info.leakedTensors) {
      const failedSteps = (e.results ?? []).filter((r) => r.train_error).map((r) => r.model);
      problems.push(`${e.environment} ${e.engine}: ${e.info.leakedTensors} TF.js tensors leaked` +
        (failedSteps.length ? ` (the model(s) whose training step failed: ${failedSteps.join(', ')}; TF.js does not free a failed step's tensors)` : ''));
    }
    for (const [id, n] of Object.entries(e.info?.params ?? {}))
      if (models[id] && n !== models[id].params) problems.push(`${e.environment} ${e.engine} ${id}: ${n} parameters, expected ${models[id].params}`);
  }
  const allFiles = [...new Set([...Object.keys(repoAtStart), ...Object.keys(repoAtEnd)])];
  const rebuilt = allFiles.filter((f) => repoAtEnd[f]?.sha256 !== repoAtStart[f]?.sha256);
  if (rebuilt.length && !useSnapshot) problems.push(`lib/ was rebuilt during the run, so results may mix builds: ${rebuilt.join(', ')}`);
  for (const r of results) {
    const where = `${r.environment} ${r.engine} ${r.model}`;
    if (r.error) problems.push(`${where}: ${r.error.split('\n')[0]}`);
    if (r.train_error) problems.push(`${where}: training failed: ${r.train_error.split('\n')[0]}`);
    if (r.loss_after !== undefined && r.loss_after !== null && !Number.isFinite(r.loss_after)) problems.push(`${where}: training loss is ${r.loss_after}`);
    if (r.output_sum_b1 !== undefined && Math.abs(r.output_sum_b1 - 1) > 1e-3) problems.push(`${where}: softmax outputs sum to ${r.output_sum_b1}`);
  }

  const doc = {
    generated: new Date().toISOString(), mode: quick ? 'quick' : 'full', wallMs: Date.now() - tStart,
    command: `node bench/run_cnn_rnn.mjs${args.length ? ' ' + args.join(' ') : ''}`,
    jsonPath: relative(ROOT, jsonPath), machine, chromiumIsolated,
    build: { measured, snapshot: useSnapshot, repoAtStart, repoAtEnd, rebuiltDuringRun: rebuilt },
    protocol: { ...protocol, batch: BATCH, classes: CLASSES, learningRate: LEARNING_RATE, seed: SEED, threadsForThreadedEngines: threads },
    targets: TARGETS, models, engines: engines.map(({ results: _r, ...rest }) => rest), results, comparisons, problems, notes,
  };
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(doc, null, 1) + '\n');
  mkdirSync(dirname(mdPath), { recursive: true });
  writeFileSync(mdPath, renderMarkdown(doc));

  log(`wrote ${relative(ROOT, jsonPath)} and ${relative(ROOT, mdPath)}`);
  for (const c of comparisons) {
    const t = c.train;
    const f = (x) => (x ? `${x.engine} ${x.value} ms` : 'n/a');
    log(`${c.environment} ${c.model}: training best peer ${f(t.peer)}, Kiln best ${f(t.kiln)}` +
      (t.ratio ? `, ratio ${t.ratio.toFixed(2)}x (${t.meetsTarget ? 'meets' : 'below'} the ${TARGETS.train}x target)` : ''));
  }
  if (problems.length) log(`problems:\n  ${problems.join('\n  ')}`);
  log(`total ${((Date.now() - tStart) / 1000).toFixed(0)} s`);
}

/** Re-renders the markdown from a results file (after a change to report.mjs; no measuring). */
function renderOnly(path) {
  const doc = JSON.parse(readFileSync(resolve(ROOT, path), 'utf8'));
  doc.comparisons = computeComparisons(doc.results, { envs: [...new Set(doc.engines.map((e) => e.environment))], models: Object.keys(doc.models) });
  const out = resolve(ROOT, opt('--md', doc.mode === 'quick' ? 'bench/results/BENCH_CNN_RNN-quick.md' : 'docs/BENCH_CNN_RNN.md'));
  writeFileSync(out, renderMarkdown(doc));
  console.log(`rendered ${relative(ROOT, out)} from ${path}`);
}

(args.includes('--render') ? Promise.resolve().then(() => renderOnly(opt('--render'))) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
