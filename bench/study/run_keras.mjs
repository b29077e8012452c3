// Figure 5 through the Layers API: the study's five Keras architectures
// (bench/study/keras_models.mjs) at batch 1 in headless Chromium. TF.js
// (wasm on 1 and 2 threads, cpu, WebGL, WebGPU) and Kiln (wasm, 1 and 2
// threads) load the same TF.js layers-model file (bench/study/keras_export.mjs
// writes it once under build/study/keras/) and are checked against TF.js
// wasm's output in Node. One fresh browser per engine and model
// (bench/study/keras_page.html); engines interleaved model by model. TF.js cpu
// and the GPU backends (software here) take seconds per inference: each page
// of theirs times what fits in --page-budget-s, and once one of them has
// spent --budget-s in this run its later models are recorded as skipped.
//   node bench/study/run_keras.mjs [--quick] [--models A,B] [--engines kiln-wasm,tfjs-wasm,...] [--budget-s S] [--page-budget-s S] --json PATH
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPagesInChromium } from '../common/browser_runner.mjs';
import { startRendererSampler } from '../common/renderer_memory.mjs';
import { pageDownload } from '../common/page_download.mjs';
import { handleUsage } from '../common/usage.mjs';
import { exportKerasModels } from './keras_export.mjs';
import { KERAS_MODELS } from './keras_models.mjs';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const args = process.argv.slice(2);
handleUsage(import.meta.url, args, ['--quick', '--json', '--models', '--engines', '--budget-s', '--page-budget-s']);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const quick = args.includes('--quick');
if (!opt('--json')) throw new Error('run_keras: --json PATH is required');
const jsonPath = resolve(opt('--json'));

/** slow: seconds per inference on these models (TF.js cpu; the GPU backends on a software adapter). */
const CONFIGS = [
  { engine: 'kiln-wasm', threads: 1 }, { engine: 'kiln-wasm', threads: 2 }, { engine: 'tfjs-wasm', threads: 1 }, { engine: 'tfjs-wasm', threads: 2 },
  { engine: 'tfjs-cpu', threads: 1, slow: true }, { engine: 'tfjs-webgl', threads: 1, slow: true, gpu: true },
  { engine: 'tfjs-webgpu', threads: 1, slow: true, gpu: true, webgpu: true },
];
const engines = opt('--engines', null)?.split(',');
for (const e of engines ?? []) if (!CONFIGS.some((c) => c.engine === e)) throw new Error(`--engines: unknown engine '${e}'`);
const configs = CONFIGS.filter((c) => !engines || engines.includes(c.engine));
const models = opt('--models', quick ? 'MobileNetV2' : Object.keys(KERAS_MODELS).join(',')).split(',');
const protocol = quick ? { warmup: 1, iters: 2, pageBudgetS: 5 } : { warmup: 3, iters: 7, pageBudgetS: 20 };
protocol.pageBudgetS = Number(opt('--page-budget-s', protocol.pageBudgetS));
protocol.budgetS = Number(opt('--budget-s', quick ? 30 : 90));
const log = (s) => process.stderr.write(`${s}\n`);
const t0 = Date.now();

log(`exporting ${models.join(', ')} to build/study/keras (TF.js layers format)`);
const exports = await exportKerasModels(join(ROOT, 'build/study/keras'), models, log);
const results = [];
const downloads = {};
const spentMs = {};
let chromium = null;
for (const model of models) {
  for (const c of configs) {
    const key = `${c.engine} ${c.threads}t`;
    if (c.slow && (spentMs[key] ?? 0) > protocol.budgetS * 1000) {
      results.push({ engine: c.engine, threads: c.threads, model, skipped: `the engine's budget (${protocol.budgetS} s) was spent on the models before` });
      log(`${model} ${key}: skipped (budget)`);
      continue;
    }
    const tPage = Date.now();
    let stop = null;
    const br = await runPagesInChromium({
      root: ROOT, pagePath: 'bench/study/keras_page.html', engines: [c.engine], timeoutMs: 600_000, webgpu: !!c.webgpu, gpu: !!c.gpu,
      query: { model, threads: String(c.threads), warmup: String(protocol.warmup), iters: String(protocol.iters),
        ...(c.slow ? { budget: String(protocol.pageBudgetS) } : {}) },
      onEngine: async (_e, phase) => { if (phase === 'start') stop = startRendererSampler(); },
    }).catch((e) => ({ results: [{ error: String(e.message ?? e) }] }));
    const peak = stop ? stop() : null;
    chromium ??= br.chromium;
    spentMs[key] = (spentMs[key] ?? 0) + (Date.now() - tPage);
    const { resources, ...r } = br.results[0];
    const rec = { ...r, engine: c.engine, threads: c.threads, model, peak_rss_kib: peak };
    if (resources && !rec.error && !downloads[c.engine]) downloads[c.engine] = pageDownload(ROOT, resources);
    results.push(rec);
    log(`${model} ${key}: ${rec.error ? `ERROR ${String(rec.error).split('\n')[0]}` : `${rec.median_ms.toFixed(1)} ms (first ${rec.first_ms.toFixed(0)} ms, ` +
      `${rec.samples.length} timed), max rel err ${rec.max_rel_err.toExponential(1)}, peak ${peak ? (peak / 1024).toFixed(0) : 'n/a'} MiB`}`);
  }
}
writeFileSync(jsonPath, JSON.stringify({ generated: new Date().toISOString(), mode: quick ? 'quick' : 'full', wallMs: Date.now() - t0,
  environment: chromium ? `Chromium ${chromium}` : 'Chromium', protocol, models, configs, exports, downloads, results }, null, 1) + '\n');
