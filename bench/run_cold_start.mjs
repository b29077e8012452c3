// The cold-start benchmark (issue #17): in headless Chromium, from a page
// with nothing cached (Cache-Control: no-store), how long until the first
// prediction: an MNIST MLP built in code (Kiln single-threaded and threaded
// vs TensorFlow.js cpu and wasm) and torchvision's MobileNetV2 loaded as ONNX
// (Kiln vs ONNX Runtime Web, 1 and 2 threads). One engine per fresh page;
// engines interleaved, the order reversed every other repeat.
//
//   node bench/run_cold_start.mjs [--quick] [--repeats N] [--json PATH] [--md PATH]
//
// Full run (make bench-cold-start): 7 repeats; writes bench/results/cold-start.json and
// docs/BENCH_COLD_START.md. --quick: 1 repeat, to bench/results/cold-start-quick.{json,md}.
// Pieces: bench/cold_start/page.html + page.mjs (one engine per page load),
// bench/common/browser_runner.mjs (the Chromium driver).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPagesInChromium } from './common/browser_runner.mjs';
import { machineInfo, packageVersion } from './common/machine.mjs';
import { fmt, fmtRatio, table } from './common/markdown.mjs';
import { median } from './common/stats.mjs';
import { handleUsage } from './common/usage.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--quick', '--repeats', '--json', '--md']);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick');
const repeats = Number(opt('--repeats', quick ? '1' : '7'));
const jsonPath = resolve(ROOT, opt('--json', quick ? 'bench/results/cold-start-quick.json' : 'bench/results/cold-start.json'));
const mdPath = resolve(ROOT, opt('--md', quick ? 'bench/results/cold-start-quick.md' : 'docs/BENCH_COLD_START.md'));
const TASKS = {
  mlp: ['kiln-st', 'kiln-mt', 'tfjs-cpu', 'tfjs-wasm'],
  mobilenet: ['kiln-st', 'kiln-mt', 'ort-web-1', 'ort-web-2'],
};
const NAMES = {
  'kiln-st': 'Kiln wasm, 1 thread', 'kiln-mt': 'Kiln wasm, 2 threads', 'tfjs-cpu': 'TF.js cpu', 'tfjs-wasm': 'TF.js wasm',
  'ort-web-1': 'ONNX Runtime Web wasm, 1 thread', 'ort-web-2': 'ONNX Runtime Web wasm, 2 threads',
};
const MLP_TARGET_MS = 100;

const log = (s) => console.log(`[cold-start] ${s}`);
const runs = [];
let chromium = null;
for (let r = 0; r < repeats; r++) {
  for (const [task, list] of Object.entries(TASKS)) {
    const engines = r % 2 ? [...list].reverse() : list;
    const out = await runPagesInChromium({ root: ROOT, pagePath: 'bench/cold_start/page.html', engines, query: { task }, timeoutMs: 120_000 });
    chromium = out.chromium;
    for (const result of out.results) {
      runs.push({ repeat: r, ...result });
      log(`repeat ${r + 1}/${repeats} ${task} ${result.engine}: ${result.error ? `ERROR ${result.error.split('\n')[0]}` : `first prediction ${result.firstMs.toFixed(1)} ms after the import`}`);
    }
  }
}

const summary = {};
for (const [task, list] of Object.entries(TASKS)) {
  summary[task] = {};
  for (const engine of list) {
    const ok = runs.filter((x) => x.task === task && x.engine === engine && !x.error);
    const stat = (key) => ({ median: median(ok.map((x) => x[key])), min: Math.min(...ok.map((x) => x[key])), max: Math.max(...ok.map((x) => x[key])) });
    summary[task][engine] = ok.length
      ? { runs: ok.length, readyMs: stat('readyMs'), firstMs: stat('firstMs'), navToFirstMs: stat('navToFirstMs'), pageMs: stat('pageMs') }
      : { runs: 0, error: runs.find((x) => x.task === task && x.engine === engine)?.error ?? 'no run' };
  }
}
const kilnMlp = Math.max(summary.mlp['kiln-st'].firstMs?.median ?? Infinity, summary.mlp['kiln-mt'].firstMs?.median ?? Infinity);
const report = {
  date: new Date().toISOString(), machine: machineInfo(), loadavgEnd: os.loadavg(), chromium, repeats,
  versions: { tfjs: packageVersion(ROOT, '@tensorflow/tfjs'), ortWeb: packageVersion(ROOT, 'onnxruntime-web') },
  target: { mlpFirstPredictionMs: MLP_TARGET_MS, met: kilnMlp <= MLP_TARGET_MS },
  summary, runs,
};
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, JSON.stringify(report, null, 2));

const cell = (s, key) => (s.runs ? `${fmt(s[key].median)} (${fmt(s[key].min)}-${fmt(s[key].max)})` : `error: ${s.error.split('\n')[0].slice(0, 80)}`);
const section = (task, title, peers) => {
  const rows = TASKS[task].map((e) => [NAMES[e], cell(summary[task][e], 'readyMs'), cell(summary[task][e], 'firstMs'), cell(summary[task][e], 'navToFirstMs')]);
  const ratios = peers.map(([k, p]) => {
    const a = summary[task][k].firstMs?.median, b = summary[task][p].firstMs?.median;
    return `${NAMES[k]} / ${NAMES[p]}: ${fmtRatio(a && b ? a / b : null)}`;
  });
  return `## ${title}\n\n${table(['engine', 'import -> ready (ms)', 'import -> first prediction (ms)', 'navigation -> first prediction (ms)'], rows)}\n\n` +
    `First prediction, ratio of medians (below 1: Kiln first): ${ratios.join('; ')}.\n`;
};
const md = `# Cold start: page load to first prediction

Generated by \`node bench/run_cold_start.mjs${quick ? ' --quick' : ''}\` on ${report.date.slice(0, 10)} (${report.machine.cpuModel}, ${report.machine.logicalCpus} logical CPUs; load average ${report.machine.loadavgStart[0].toFixed(2)} at the start, ${report.loadavgEnd[0].toFixed(2)} at the end), headless Chromium ${chromium}, TF.js ${report.versions.tfjs}, ONNX Runtime Web ${report.versions.ortWeb}.

- **What is timed**: one engine per fresh page, nothing cached (the server sends \`Cache-Control: no-store\`; the files come from a local server, so download time is near zero and the figures are the engines' own start-up: fetching, compiling and instantiating the wasm, starting threads, building or loading the model, the first run). *import -> ready*: from importing the engine's JS to its ready promise; *import -> first prediction*: to the first output read back, the model built in code (the MLP: 784-128-10, ReLU and softmax, random weights) or fetched while the engine loads and then loaded (MobileNetV2: torchvision's, as ONNX, 14 MB); *navigation -> first prediction* adds the page's own load.
- **Median (min-max)** of ${repeats} run(s) per engine, engines interleaved.
- **Target** (issue #17): Kiln's first MLP prediction within ${MLP_TARGET_MS} ms of the import: **${report.target.met ? 'met' : 'not met'}** (${fmt(kilnMlp)} ms, the slower of the two builds).

${section('mlp', 'MNIST MLP (784-128-10) built in code', [['kiln-st', 'tfjs-wasm'], ['kiln-st', 'tfjs-cpu'], ['kiln-mt', 'tfjs-wasm']])}
${section('mobilenet', 'MobileNetV2 (ONNX) fetched and loaded', [['kiln-st', 'ort-web-1'], ['kiln-mt', 'ort-web-2']])}`;
mkdirSync(dirname(mdPath), { recursive: true });
writeFileSync(mdPath, md);
log(`wrote ${jsonPath} and ${mdPath}`);
