// The model-zoo benchmark (issue #13): the models of scripts/make_zoo_models.py
// (BERT-like encoder, GPT-2-like decoder with a KV cache, a detector, a speech
// embedding model) and of scripts/make_control_flow_models.py (a VAD model
// with If and Loop, greedy decoding, a CNN in float and QDQ int8, a
// dynamically quantized MLP) at batch 1 in Node: Kiln wasm vs onnxruntime-node (native
// CPU, all graph optimizations), on 1 thread and on all threads. Per engine,
// model and thread count: the median latency of `iters` runs after warm-up,
// each measured in a fresh process, engines alternating; figures are medians
// over `repeats` processes.
//
//   node bench/run_zoo.mjs [--browser] [--quick] [--models a,b] [--threads 1,2] [--repeats N] [--json PATH] [--md PATH]
//
// Full run (make bench-zoo): writes bench/results/zoo.json and docs/BENCH_ZOO.md.
// --browser: both engines in headless Chromium instead (bench/zoo/page.html):
// Kiln's wasm against onnxruntime-web's wasm execution provider, written to
// bench/results/zoo-browser.json and docs/BENCH_ZOO_BROWSER.md.
// --quick: fewer runs, one repeat, written to bench/results/zoo-quick.{json,md}.
// Needs build/zoo (make zoo-models) and lib/ (make js).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPagesInChromium } from './common/browser_runner.mjs';
import { runJsonWorker } from './common/child.mjs';
import { median } from './common/stats.mjs';
import { machineInfo, packageVersion } from './common/machine.mjs';
import { fmt, fmtRatio, table } from './common/markdown.mjs';
import { handleUsage } from './common/usage.mjs';
import { ZOO_MODELS } from './zoo/models.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--browser', '--quick', '--models', '--threads', '--repeats', '--json', '--md']);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick');
const browser = args.includes('--browser');
const base = browser ? 'zoo-browser' : 'zoo';
const models = opt('--models', Object.keys(ZOO_MODELS).join(',')).split(',');
for (const m of models) if (!ZOO_MODELS[m]) throw new Error(`unknown model '${m}' (expected ${Object.keys(ZOO_MODELS).join(', ')})`);
const threadList = opt('--threads', [...new Set([1, Math.min(os.cpus().length, 8)])].join(',')).split(',').map(Number);
const repeats = Number(opt('--repeats', quick ? 1 : 3));
const [iters, warmup] = quick ? [10, 3] : [30, 5];
const jsonPath = resolve(ROOT, opt('--json', quick ? `bench/results/${base}-quick.json` : `bench/results/${base}.json`));
const mdPath = resolve(ROOT, opt('--md', quick ? `bench/results/${base}-quick.md` : browser ? 'docs/BENCH_ZOO_BROWSER.md' : 'docs/BENCH_ZOO.md'));
const engines = ['kiln', 'ort'];
const pageEngine = { kiln: 'kiln-wasm', ort: 'ort-web' };
let chromium = null;

// One engine, model and thread count: {times, firstMs} or {error}; a fresh process (Node) or page (Chromium) each.
async function measure(engine, model, threads) {
  if (!browser) {
    const { parsed, error } = await runJsonWorker(['bench/zoo/worker.mjs', engine, model, String(threads), String(iters), String(warmup)], { cwd: ROOT, timeoutMs: 300_000 });
    return parsed ?? { error };
  }
  const br = await runPagesInChromium({ pagePath: 'bench/zoo/page.html', engines: [pageEngine[engine]],
    query: { model, threads: String(threads), warmup: String(warmup), iters: String(iters) } });
  chromium = br.chromium;
  const r = br.results[0];
  if (!r.error && threads > 1 && !r.crossOriginIsolated) return { error: 'the page is not cross-origin isolated' };
  return r.error ? { error: r.error.split('\n')[0] } : r;
}

const runs = [];
for (let r = 0; r < repeats; r++)
  for (const model of models)
    for (const threads of threadList)
      for (const engine of engines) {
        const m = await measure(engine, model, threads);
        runs.push({ ...m, repeat: r, model, threads, engine });
        console.error(`[${r + 1}/${repeats}] ${model} ${engine} ${threads}t: ${m.error ?? `${fmt(median(m.times))} ms`}`);
      }

const results = [];
for (const model of models)
  for (const threads of threadList) {
    const row = { model, threads };
    for (const engine of engines) {
      const mine = runs.filter((x) => x.model === model && x.threads === threads && x.engine === engine && !x.error);
      row[engine] = mine.length ? { ms: median(mine.map((x) => median(x.times))), firstMs: median(mine.map((x) => x.firstMs)) } : null;
    }
    row.kilnOverOrt = row.kiln && row.ort ? row.kiln.ms / row.ort.ms : null;
    results.push(row);
  }
const report = { date: new Date().toISOString(), machine: machineInfo(), repeats, iters, warmup, browser, chromium,
  versions: { onnxruntimeNode: packageVersion(ROOT, 'onnxruntime-node'), onnxruntimeWeb: packageVersion(ROOT, 'onnxruntime-web') }, results, runs };
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, JSON.stringify(report, null, 1));
const peer = browser ? 'onnxruntime-web' : 'onnxruntime-node';
const md = [
  browser ? '# Model zoo in Chromium: Kiln (wasm) vs onnxruntime-web (wasm)' : '# Model zoo: Kiln (wasm, Node) vs onnxruntime-node', '',
  browser
    ? `Generated by \`node bench/run_zoo.mjs --browser${quick ? ' --quick' : ''}\` on ${report.date.slice(0, 10)}: ${report.machine.cpuModel}, ${report.machine.logicalCpus} logical CPUs, headless Chromium ${chromium}, onnxruntime-web ${report.versions.onnxruntimeWeb} (wasm execution provider, all graph optimizations).`
    : `Generated by \`node bench/run_zoo.mjs${quick ? ' --quick' : ''}\` on ${report.date.slice(0, 10)}: ${report.machine.cpuModel}, ${report.machine.logicalCpus} logical CPUs, Node ${report.machine.node}, onnxruntime-node ${report.versions.onnxruntimeNode}.`,
  `Models: scripts/make_zoo_models.py and scripts/make_control_flow_models.py (PyTorch exports, opsets 13-16). Latency: median of ${iters} runs after a warm-up of at least ${warmup} runs and one second (V8 tiers wasm up from its baseline compiler meanwhile), each engine, model and thread count in a fresh ${browser ? 'page, cross-origin isolated' : 'process'}; the figure is the median over ${repeats} such ${browser ? 'pages' : 'processes'}. ` +
    (browser ? 'Both engines run WebAssembly in the same browser: the comparison the issue asks Kiln to win on every model.'
      : 'Kiln runs its WebAssembly build (SIMD128, threads) in Node; onnxruntime-node is native code (AVX2), so this is the browser-vs-native gap the issue sets at most 2.5x.'), '',
  table(['model', 'threads', browser ? 'Kiln wasm ms' : 'Kiln wasm ms', `${peer} ms`, `Kiln / ${browser ? 'ORT Web' : 'ORT'}`],
    results.map((r) => [`${r.model}: ${ZOO_MODELS[r.model].what}`, String(r.threads), fmt(r.kiln?.ms), fmt(r.ort?.ms), fmtRatio(r.kilnOverOrt)])),
  '',
].join('\n');
mkdirSync(dirname(mdPath), { recursive: true });
writeFileSync(mdPath, md);
console.log(md);
