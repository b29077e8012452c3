// `make study`: the study (Ma et al., WWW 2019; ../shared/STUDY.md and
// docs/STUDY.md) reproduced for Kiln and today's frameworks on this machine.
//
//   node bench/run_study.mjs [--quick] [--out DIR] [--skip-onnx]
//   node bench/run_study.mjs --only STEP[,STEP] [--out DIR]   (reruns steps of features, mlp, keras, onnx into DIR)
//   node bench/run_study.mjs --render DIR      (rebuilds the report from DIR's raw JSON)
//
// Full run (make study, under 40 minutes here): the MLP grid depth {1,2,4,8} x
// width {64,128,256} for Kiln (native, wasm single and threaded), TF.js (cpu,
// wasm, WebGPU through Dawn in Node; WebGL and WebGPU in Chromium), brain.js,
// synaptic, ConvNetJS and Keras.js (inference only), in Node and Chromium; the
// study's Keras models built through TF.js's Layers API at batch 1 in Chromium
// (TF.js wasm, cpu, WebGL, WebGPU, and Kiln wasm, all loading the same TF.js
// file); their ONNX versions in Chromium (Kiln wasm, ONNX Runtime Web wasm and
// WebGPU) and natively (Kiln, onnxruntime-node, PyTorch) on 1 and 2 threads.
// Slow engines (the per-sample JS peers, the GPU backends on a software
// adapter, TF.js cpu on the CNNs) get time budgets; what they skip is recorded.
// --quick (make study QUICK=1, CI): one MLP cell and MobileNetV2 only, one
// run each, slow engines capped at 20-30 s.
// Writes bench/results/study-<date>[-quick]/: features.json, mlp.json,
// keras.json, onnx.json (the raw results of each step), study.json (everything the
// report shows), study.md (the tables) and report.html (one self-contained
// page with the figures as SVG), then checks the page in headless Chromium.
//
// Pieces: bench/study/features.mjs (Table 1), bench/run_mlp.mjs,
// bench/study/run_keras.mjs (+ keras_models.mjs, keras_export.mjs, keras_page.html) and
// bench/run_onnx.mjs (the measurements), bench/study/data.mjs
// (tables and figures from the raw JSON), findings.mjs (the eight findings,
// as rules over the data), tree.py (the decision tree, scikit-learn),
// report.mjs (markdown and HTML), check_report.mjs (the page check).
// A full run also writes docs/STUDY.md (the tables of the latest full run).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './common/child.mjs';
import { machineInfo } from './common/machine.mjs';
import { handleUsage } from './common/usage.mjs';
import { buildStudy } from './study/data.mjs';
import { renderHtml, renderMarkdown } from './study/report.mjs';
import { checkReport } from './study/check_report.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--quick', '--out', '--skip-onnx', '--render', '--only']);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick') || process.env.QUICK === '1';
const today = new Date().toISOString().slice(0, 10);
const renderOnly = opt('--render', null);
const outDir = resolve(ROOT, renderOnly ?? opt('--out', `bench/results/study-${today}${quick ? '-quick' : ''}`));
const PYTHON = process.env.KILN_PYTHON || '/usr/bin/python3';
const only = opt('--only', null)?.split(',') ?? null;
const STEPS = ['features', 'mlp', 'keras', 'onnx'];
for (const s of only ?? []) if (!STEPS.includes(s)) throw new Error(`--only: unknown step '${s}' (expected ${STEPS.join(', ')})`);
const want = (name) => (only ? only.includes(name) : !(name === 'onnx' && args.includes('--skip-onnx')));

const tStart = Date.now();
const log = (s) => console.log(`[${((Date.now() - tStart) / 1000).toFixed(0).padStart(5)} s] ${s}`);

/** Runs one step (a child process); its stderr/stdout lines are echoed with a prefix. */
async function step(name, cmd, argv, timeoutMs) {
  const t0 = Date.now();
  const before = os.loadavg()[0];
  log(`${name}: ${[cmd, ...argv].map((a) => relative(ROOT, a) || a).join(' ')}`);
  const r = await runChild(cmd, argv, { cwd: ROOT, timeoutMs, onStderrLine: (l) => log(`  [${name}] ${l}`) });
  const record = { name, ms: Date.now() - t0, loadavg: { before, after: os.loadavg()[0] }, code: r.code, timedOut: r.timedOut };
  if (r.code !== 0) record.error = `${r.timedOut ? 'timed out' : `exit ${r.code}`}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  log(`${name}: ${record.error ? `FAILED (${record.error})` : 'done'} in ${(record.ms / 1000).toFixed(0)} s`);
  return { record, stdout: r.stdout };
}

const readJson = (f) => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null);

async function measureAll() {
  mkdirSync(outDir, { recursive: true });
  const steps = [];
  const machine = { ...machineInfo(), quick };

  if (want('features')) {
    const features = await step('features', process.execPath, [join(ROOT, 'bench/study/features.mjs')], 120_000);
    steps.push(features.record);
    if (!features.record.error) writeFileSync(join(outDir, 'features.json'), features.stdout);
  }

  const mlpArgs = quick
    ? ['--quick', '--grid', '1x64', '--envs', 'native,node,chromium', '--peer-budget-s', '20']
    : ['--envs', 'native,node,chromium', '--peer-budget-s', '90'];
  if (want('mlp')) {
    const mlp = await step('mlp', process.execPath, [join(ROOT, 'bench/run_mlp.mjs'), ...mlpArgs, '--peers',
      '--engines', 'kiln-wasm-single,kiln-wasm-threaded,tfjs-cpu,tfjs-wasm,tfjs-webgpu',
      '--browser-engines', 'kiln-wasm-single,kiln-wasm-threaded,tfjs-cpu,tfjs-wasm,tfjs-webgl,tfjs-webgpu,brainjs,synaptic,convnetjs,kerasjs',
      '--json', join(outDir, 'mlp.json'), '--md', join(outDir, 'mlp.md')], (quick ? 6 : 40) * 60_000);
    steps.push(mlp.record);
  }

  if (want('keras')) {
    const keras = await step('keras', process.execPath, [join(ROOT, 'bench/study/run_keras.mjs'), ...(quick ? ['--quick'] : []),
      '--json', join(outDir, 'keras.json')], (quick ? 5 : 30) * 60_000);
    steps.push(keras.record);
  }
  if (want('onnx')) {
    // Two fresh processes per engine, model and thread count (run_onnx's own default is three) shorten make study.
    const onnxArgs = quick ? ['--quick', '--models', 'mobilenet_v2', '--repeats', '1', '--gpu-budget-s', '30'] : ['--repeats', '2'];
    const onnx = await step('onnx', process.execPath, [join(ROOT, 'bench/run_onnx.mjs'), ...onnxArgs,
      '--engines', 'kiln-wasm,ort-web,ort-webgpu,kiln-native,ort-node,pytorch',
      '--json', join(outDir, 'onnx.json'), '--md', join(outDir, 'onnx.md')], (quick ? 6 : 30) * 60_000);
    steps.push(onnx.record);
  }
  machine.loadavgEnd = os.loadavg();
  // --only: the steps run now join the earlier run's record in run.json.
  const earlier = only ? readJson(join(outDir, 'run.json')) : null;
  const run = earlier ? { ...earlier, steps: [...earlier.steps.filter((x) => !only.includes(x.name)), ...steps],
    later: [...(earlier.later ?? []), { generated: new Date().toISOString(), only, machine }] }
    : { generated: new Date().toISOString(), mode: quick ? 'quick' : 'full', command: `node bench/run_study.mjs ${args.join(' ')}`.trim(), machine, steps };
  writeFileSync(join(outDir, 'run.json'), JSON.stringify(run, null, 1) + '\n');
}

/** The decision tree over the browser/native ratios (bench/study/tree.py, scikit-learn). */
async function fitTree(study) {
  const input = join(outDir, 'tree-input.json');
  writeFileSync(input, JSON.stringify(study.ratioRows));
  const r = await step('tree', PYTHON, [join(ROOT, 'bench/study/tree.py'), input], 120_000);
  if (r.record.error) return { error: r.record.error };
  return JSON.parse(r.stdout);
}

async function main() {
  if (!renderOnly) await measureAll();
  const raw = { run: readJson(join(outDir, 'run.json')), features: readJson(join(outDir, 'features.json')),
    mlp: readJson(join(outDir, 'mlp.json')), keras: readJson(join(outDir, 'keras.json')), onnx: readJson(join(outDir, 'onnx.json')) };
  const study = buildStudy(raw);
  study.tree = await fitTree(study);
  writeFileSync(join(outDir, 'study.json'), JSON.stringify(study, null, 1) + '\n');
  writeFileSync(join(outDir, 'study.md'), renderMarkdown(study));
  writeFileSync(join(outDir, 'report.html'), renderHtml(study));
  log(`wrote ${relative(ROOT, outDir)}/{study.json,study.md,report.html}`);
  if (raw.run?.mode === 'full' && /bench\/results\/study-\d{4}-\d{2}-\d{2}$/.test(outDir)) {
    // The latest full run's tables are the project's docs/STUDY.md.
    const head = `<!-- Written by make study (bench/run_study.mjs) from ${relative(ROOT, outDir)}/; do not edit by hand. -->\n` +
      `The page with the figures: [${relative(ROOT, outDir)}/report.html](../${relative(ROOT, outDir)}/report.html).\n\n`;
    writeFileSync(join(ROOT, 'docs/STUDY.md'), head + renderMarkdown(study));
    log('wrote docs/STUDY.md');
  }
  const check = await checkReport(join(outDir, 'report.html'));
  for (const p of check.problems) log(`report check: ${p}`);
  log(`report check: ${check.figures} figures, ${check.tables} tables${check.problems.length ? `, ${check.problems.length} problem(s)` : ', all with data'}`);
  for (const p of study.problems) log(`problem: ${p}`);
  log(`total ${((Date.now() - tStart) / 1000).toFixed(0)} s`);
  if (check.problems.length) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
