// Turns the benchmark's measurements (the object written to
// bench/results/mlp.json) into ratios and the markdown report. Every number in
// the report comes from that object.

export const ENGINE_LABELS = {
  'kiln-wasm-single': 'Kiln wasm (1 thread)',
  'kiln-wasm-threaded': 'Kiln wasm-mt (2 threads)',
  'tfjs-cpu': 'TF.js cpu',
  'tfjs-wasm': 'TF.js wasm',
  'kiln-native-1t': 'Kiln native (1 thread)',
  'kiln-native-2t': 'Kiln native (2 threads)',
};
export const ENV_LABELS = { node: 'Node.js', chromium: 'Chromium (headless)', native: 'Native C++ (reference)' };
const KILN_WASM = ['kiln-wasm-single', 'kiln-wasm-threaded'];
const TFJS = ['tfjs-cpu', 'tfjs-wasm'];
export const TARGETS = { train: 5, b1: 1 };

const METRICS = {
  train: { key: 'train_ms_per_batch', title: 'Training, ms per batch of 64 (lower is better)' },
  b1: { key: 'infer_ms_per_sample_b1', title: 'Inference at batch 1, ms per sample (lower is better)' },
  b64: { key: 'infer_ms_per_sample_b64', title: 'Inference at batch 64, ms per sample (lower is better)' },
};

function lookup(results, env, engine, depth, width) {
  return results.find((r) => r.environment === env && r.engine === engine && r.depth === depth && r.width === width && !r.error);
}

/** The lowest value among `engines` for a metric, with the engine that had it. */
function best(results, env, engines, key, depth, width) {
  let out = null;
  for (const e of engines) {
    const r = lookup(results, env, e, depth, width);
    if (r && Number.isFinite(r[key]) && (!out || r[key] < out.value)) out = { engine: e, value: r[key] };
  }
  return out;
}

/** Per environment and cell: TF.js best / Kiln best wasm (training), TF.js wasm / Kiln best wasm (b1, b64). */
export function computeRatios(results, cells) {
  const out = [];
  for (const env of ['node', 'chromium']) {
    for (const { depth, width } of cells) {
      const kTrain = best(results, env, KILN_WASM, METRICS.train.key, depth, width);
      const tTrain = best(results, env, TFJS, METRICS.train.key, depth, width);
      const kB1 = best(results, env, KILN_WASM, METRICS.b1.key, depth, width);
      const tB1 = best(results, env, ['tfjs-wasm'], METRICS.b1.key, depth, width);
      const kB64 = best(results, env, KILN_WASM, METRICS.b64.key, depth, width);
      const tB64 = best(results, env, ['tfjs-wasm'], METRICS.b64.key, depth, width);
      const ratio = (t, k) => (t && k ? t.value / k.value : null);
      out.push({
        environment: env, depth, width,
        train_tfjs_best_over_kiln_best: ratio(tTrain, kTrain), train_kiln_best: kTrain?.engine ?? null, train_tfjs_best: tTrain?.engine ?? null,
        b1_tfjs_wasm_over_kiln_best: ratio(tB1, kB1), b1_kiln_best: kB1?.engine ?? null,
        b64_tfjs_wasm_over_kiln_best: ratio(tB64, kB64), b64_kiln_best: kB64?.engine ?? null,
      });
    }
  }
  return out;
}

export function summarize(values, target) {
  const v = values.filter((x) => Number.isFinite(x) && x > 0);
  if (!v.length) return null;
  return {
    n: v.length,
    geomean: Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length),
    min: Math.min(...v),
    max: Math.max(...v),
    meeting: target === undefined ? null : v.filter((x) => x >= target).length,
  };
}

const fmt = (x) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(3);
};
const fmtRatio = (x) => (x === null || !Number.isFinite(x) ? 'n/a' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`);
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const row = (cells) => `| ${cells.join(' | ')} |`;

function metricTable(doc, env, metric, engines, ratioCol) {
  const { key } = METRICS[metric];
  const lines = [];
  const head = ['depth × width', ...engines.map((e) => ENGINE_LABELS[e])];
  if (ratioCol) head.push(ratioCol.title);
  lines.push(row(head), row(head.map((_, i) => (i === 0 ? '---' : '---:'))));
  for (const { depth, width } of doc.cells) {
    const cols = [`${depth} × ${width}`];
    const bestKiln = best(doc.results, env, KILN_WASM, key, depth, width);
    for (const e of engines) {
      const r = lookup(doc.results, env, e, depth, width);
      const err = doc.results.find((x) => x.environment === env && x.engine === e && x.depth === depth && x.width === width && x.error);
      let s = r ? fmt(r[key]) : err ? 'error' : '—';
      if (r && bestKiln && bestKiln.engine === e && KILN_WASM.includes(e)) s = `**${s}**`;
      cols.push(s);
    }
    if (ratioCol) {
      const rr = doc.ratios.find((x) => x.environment === env && x.depth === depth && x.width === width);
      cols.push(fmtRatio(rr ? rr[ratioCol.field] : null));
    }
    lines.push(row(cols));
  }
  return lines.join('\n');
}

function engineNotes(doc, env) {
  const lines = [];
  for (const e of doc.engines.filter((x) => x.environment === env)) {
    const i = e.info ?? {};
    let s = `- **${ENGINE_LABELS[e.engine] ?? e.engine}**: `;
    if (e.error) s += `failed: \`${String(e.error).split('\n')[0]}\``;
    else if (e.engine.startsWith('kiln-wasm')) s += `variant ${i.variant}, ${i.threads} thread(s), GEMM kernel ${i.gemmKernel}, module load ${i.loadMs} ms`;
    else if (e.engine === 'tfjs-wasm')
      s += `TF.js ${i.version}, flavour **${i.wasmFlavour}** (WASM_HAS_SIMD_SUPPORT=${i.wasmSimd}, WASM_HAS_MULTITHREAD_SUPPORT=${i.wasmMultithread}), ` +
        `XNNPACK threads ${i.threads} (asked for ${i.requestedThreads}), backend load ${i.loadMs} ms, tensors leaked ${i.leakedTensors}`;
    else if (e.engine === 'tfjs-cpu') s += `TF.js ${i.version}, cpu backend (plain JavaScript, 1 thread), tensors leaked ${i.leakedTensors}`;
    else if (e.engine.startsWith('kiln-native')) s += `build/kiln-bench-mlp ${i.threads} ${i.reps}, GEMM kernel ${i.gemmKernel}`;
    else if (e.engine === 'tfjs-webgl' || e.engine === 'tfjs-webgpu') s += `TF.js ${i.version}, on ${i.gpu ?? 'an unnamed GPU'}, tensors leaked ${i.leakedTensors}`;
    else if (i.algorithm) s += `${i.version ? `version ${i.version}, ` : ''}${i.algorithm}`;
    if (e.loadavg) s += `; load average before/after ${e.loadavg.before.toFixed(2)} / ${e.loadavg.after.toFixed(2)}`;
    if (e.wallMs) s += `; took ${(e.wallMs / 1000).toFixed(1)} s`;
    const failed = doc.results.filter((r) => r.environment === env && r.engine === e.engine && r.error);
    if (failed.length) s += `; ${failed.length} cell(s) failed: \`${failed[0].error.split('\n')[0]}\``;
    lines.push(s);
  }
  return lines.join('\n');
}

export function renderMarkdown(doc) {
  const m = doc.machine;
  const p = doc.protocol;
  const out = [];
  const push = (...s) => out.push(...s);
  push('# Kiln MLP benchmark', '');
  push(`> Generated by \`node bench/run_mlp.mjs${doc.mode === 'quick' ? ' --quick' : ''}\` on ${doc.generated} from that run's own ` +
    `measurements (raw medians: \`${doc.jsonPath}\`). Do not edit by hand; re-run the script. ` +
    `Mode: **${doc.mode}** (${doc.cells.length} cells), total run time ${(doc.wallMs / 1000).toFixed(0)} s.`, '');

  push('## How it was measured', '');
  push(`- **Machine**: ${m.cpuModel}, ${m.logicalCpus} logical CPUs, ${m.memGiB} GiB RAM, ${m.os}. ` +
    `Node.js ${m.node}, Chromium ${m.chromium ?? 'n/a'} (headless, driven by playwright-core), TF.js ${m.tfjs ?? 'n/a'}.`);
  if (doc.build?.measured) {
    const b = doc.build.measured;
    const id = (f) => (b[f] ? `\`${f}\` ${b[f].sha256} (built ${b[f].mtime})` : `\`${f}\` missing`);
    push(`- **Kiln build measured** (sha256 prefix): ${['lib/wasm/kiln-st.wasm', 'lib/wasm/kiln-mt.wasm', 'build/kiln-bench-mlp'].map(id).join(', ')}` +
      (doc.build.snapshot ? '; the engines ran from a copy of `lib/` and the native binary taken at the start, so the whole run measured this one build' +
        (doc.build.rebuiltDuringRun?.length ? ` (the repo's copy was rebuilt meanwhile: ${doc.build.rebuiltDuringRun.join(', ')})` : '') : '') + '.');
  }
  push(`- **Load**: the machine is shared; load average was ${m.loadavgStart.map((x) => x.toFixed(2)).join(' / ')} (1/5/15 min) at the start ` +
    `and ${m.loadavgEnd.map((x) => x.toFixed(2)).join(' / ')} at the end (per-engine values below). With ${m.logicalCpus} CPUs, ` +
    'a load above 1 means other work competed with the benchmark, which hurts the 2-thread engines most.');
  push(`- **Models**: input ${p.input} → depth × Dense(width, ReLU) → Dense(${p.classes}, softmax); depth ∈ {${doc.grid.depths.join(', ')}}, ` +
    `width ∈ {${doc.grid.widths.join(', ')}}. SGD (learning rate ${p.learningRate}), categorical cross-entropy, **batch ${p.batch}**. ` +
    `Random inputs in [0, 1) and random one-hot labels from a fixed-seed PRNG (mulberry32, seed ${p.seed}), the same for every JS engine.`);
  push(`- **Training**: \`model.trainOnBatch(x, y)\` on one ${p.batch}-sample batch (TF.js: the Promise is awaited, which reads the loss back). ` +
    `Warm-up first (Kiln: \`model.warmup(${p.batch})\`; then ${p.warmupIters} untimed calls for every engine). Then ${p.reps} runs, each of k calls, ` +
    `k chosen from one timed call so that a run lasts about ${p.targetMs} ms (at least ${p.minIters}, at most ${p.maxIters}). ` +
    `Reported: the **median over the ${p.reps} runs** of (run time / k).`);
  push(`- **Inference**: \`model.predict(x)\` plus reading the output back (\`dataSync()\`), on [1, ${p.input}] inputs (cycling through ` +
    `${p.distinctSamples} distinct samples) and [${p.batch}, ${p.input}] inputs (cycling through ${p.distinctBatches} distinct batches), ` +
    `same protocol; ms per sample = ms per call / batch size.`);
  push('- **Isolation**: each JS engine runs alone, in its own Node.js process or its own Chromium page load (fresh JS context: ' +
    '`kiln.ready()` loads one wasm variant per context). The page is served by `scripts/serve.mjs` with COOP/COEP headers ' +
    `(crossOriginIsolated = ${doc.chromiumIsolated ?? 'n/a'}).`);
  push(`- **Native**: \`build/kiln-bench-mlp <threads> <reps>\` (Kiln's C++ API, same grid and batch), 20 calls per run, median of ${p.nativeReps} runs.`);
  push(`- **Ratios**: training = (faster of TF.js cpu / TF.js wasm) ÷ (faster of the two Kiln wasm variants), target ≥ ${TARGETS.train}× in Chromium; ` +
    `batch-1 inference = TF.js wasm ÷ (faster Kiln wasm variant), target ≥ ${TARGETS.b1}. Above 1 means Kiln is faster. ` +
    'Bold marks the faster Kiln wasm variant in each row.', '');

  push('## Headline', '');
  push(row(['environment', `training: TF.js best / Kiln best wasm (geomean, min–max)`, `cells ≥ ${TARGETS.train}×`,
    'batch 1: TF.js wasm / Kiln best wasm (geomean, min–max)', `cells ≥ ${TARGETS.b1}`, 'batch 64: TF.js wasm / Kiln best wasm (geomean)']));
  push(row(['---', '---:', '---:', '---:', '---:', '---:']));
  for (const env of ['node', 'chromium']) {
    const rs = doc.ratios.filter((r) => r.environment === env);
    const tr = summarize(rs.map((r) => r.train_tfjs_best_over_kiln_best), TARGETS.train);
    const b1 = summarize(rs.map((r) => r.b1_tfjs_wasm_over_kiln_best), TARGETS.b1);
    const b64 = summarize(rs.map((r) => r.b64_tfjs_wasm_over_kiln_best));
    push(row([ENV_LABELS[env],
      tr ? `${fmtRatio(tr.geomean)} (${fmtRatio(tr.min)}–${fmtRatio(tr.max)})` : 'n/a', tr ? `${tr.meeting} / ${tr.n}` : 'n/a',
      b1 ? `${fmtRatio(b1.geomean)} (${fmtRatio(b1.min)}–${fmtRatio(b1.max)})` : 'n/a', b1 ? `${b1.meeting} / ${b1.n}` : 'n/a',
      b64 ? fmtRatio(b64.geomean) : 'n/a']));
  }
  push('');

  push('## Download size (gzip -9)', '');
  push(`Measured with node:zlib (\`gzipSync\`, level 9) on each file separately; totals are sums. Files: Kiln's \`lib/index.js\` and \`lib/wasm/*\`; ` +
    'TF.js\'s `tf.min.js` (the full union bundle: layers, converter, data, cpu and webgl backends) and `tf-backend-wasm.min.js` with its `.wasm` files.', '');
  push(row(['download', 'files', 'raw', 'gzip -9']), row(['---', '---', '---:', '---:']));
  for (const b of [...doc.sizes.kiln.bundles, ...doc.sizes.tfjs.bundles])
    push(row([b.name, b.note, kb(b.bytes), `**${kb(b.gzip)}**`]));
  const kst = doc.sizes.kiln.bundles[0], kmt = doc.sizes.kiln.bundles[1];
  const tst = doc.sizes.tfjs.bundles[0], tmt = doc.sizes.tfjs.bundles[1];
  push('', `Kiln's gzipped download is ${(tst.gzip / kst.gzip).toFixed(1)}× smaller than TF.js + wasm backend for a SIMD page ` +
    `and ${(tmt.gzip / kmt.gzip).toFixed(1)}× smaller for a threaded page.`, '');
  push('<details><summary>Per-file sizes</summary>', '', row(['file', 'raw', 'gzip -9']), row(['---', '---:', '---:']));
  for (const f of [...doc.sizes.kiln.files, ...doc.sizes.tfjs.files]) push(row([`\`${f.path}\``, f.missing ? 'missing' : kb(f.bytes), f.missing ? '' : kb(f.gzip)]));
  push('', '</details>', '');

  const jsEngines = ['kiln-wasm-single', 'kiln-wasm-threaded', 'tfjs-cpu', 'tfjs-wasm'];
  for (const env of ['node', 'chromium']) {
    if (!doc.engines.some((e) => e.environment === env)) continue;
    push(`## ${ENV_LABELS[env]}`, '', engineNotes(doc, env), '');
    push(`### ${METRICS.train.title}`, '', metricTable(doc, env, 'train', jsEngines, { title: 'TF.js best / Kiln best', field: 'train_tfjs_best_over_kiln_best' }), '');
    push(`### ${METRICS.b1.title}`, '', metricTable(doc, env, 'b1', jsEngines, { title: 'TF.js wasm / Kiln best', field: 'b1_tfjs_wasm_over_kiln_best' }), '');
    push(`### ${METRICS.b64.title}`, '', metricTable(doc, env, 'b64', jsEngines, { title: 'TF.js wasm / Kiln best', field: 'b64_tfjs_wasm_over_kiln_best' }), '');
  }
  if (doc.engines.some((e) => e.environment === 'native')) {
    push(`## ${ENV_LABELS.native}`, '', 'Kiln\'s C++ API on the same grid, for reference (no TF.js counterpart).', '', engineNotes(doc, 'native'), '');
    const native = ['kiln-native-1t', 'kiln-native-2t'];
    for (const metric of ['train', 'b1', 'b64']) push(`### ${METRICS[metric].title}`, '', metricTable(doc, 'native', metric, native, null), '');
  }
  push('## Observations (computed from this run)', '', observations(doc).map((x) => `- ${x}`).join('\n'), '');
  const problems = doc.problems ?? [];
  push('## Problems and warnings seen in this run', '');
  push(problems.length ? problems.map((s) => `- ${s}`).join('\n') : '- None: every engine finished every cell.', '');
  return out.join('\n');
}

/** Data-driven remarks: which variant/backend won, wasm vs native, thread caps. */
function observations(doc) {
  const out = [];
  const count = (env, metric, engines) => {
    const wins = Object.fromEntries(engines.map((e) => [e, 0]));
    for (const { depth, width } of doc.cells) {
      const b = best(doc.results, env, engines, METRICS[metric].key, depth, width);
      if (b) wins[b.engine]++;
    }
    return wins;
  };
  for (const env of ['node', 'chromium']) {
    if (!doc.engines.some((e) => e.environment === env)) continue;
    const parts = [];
    for (const metric of ['train', 'b1', 'b64']) {
      const w = count(env, metric, KILN_WASM);
      parts.push(`${metric === 'train' ? 'training' : metric === 'b1' ? 'batch-1 inference' : 'batch-64 inference'} ` +
        `${w['kiln-wasm-single']} / ${w['kiln-wasm-threaded']}`);
    }
    out.push(`${ENV_LABELS[env]}: cells where Kiln's single-threaded / threaded (2 threads) wasm variant was faster: ${parts.join('; ')}.`);
    const tw = count(env, 'train', TFJS);
    out.push(`${ENV_LABELS[env]}: TF.js's faster backend for training was cpu in ${tw['tfjs-cpu']} and wasm in ${tw['tfjs-wasm']} of ${doc.cells.length} cells.`);
    const tf = doc.engines.find((e) => e.environment === env && e.engine === 'tfjs-wasm');
    if (tf?.info && !tf.info.wasmMultithread)
      out.push(`${ENV_LABELS[env]}: TF.js wasm loaded ${tf.info.wasmFlavour} (WASM_HAS_MULTITHREAD_SUPPORT is false: tfjs-backend-wasm ` +
        'turns threads off in Node.js), so it ran single-threaded.');
    else if (tf?.info && tf.info.requestedThreads && tf.info.threads !== null && tf.info.threads < tf.info.requestedThreads)
      out.push(`${ENV_LABELS[env]}: TF.js wasm loaded ${tf.info.wasmFlavour} but ran ${tf.info.threads} XNNPACK thread(s) although ` +
        `${tf.info.requestedThreads} were requested with tf.wasm.setThreadsCount: tfjs-backend-wasm caps its pool at ` +
        `hardwareConcurrency / 2 (= ${Math.floor((doc.engines.find((e) => e.page)?.page?.hardwareConcurrency ?? 0) / 2)} here).`);
  }
  // wasm vs native, training, single thread.
  for (const env of ['node', 'chromium']) {
    const ratios = doc.cells.map(({ depth, width }) => {
      const w = lookup(doc.results, env, 'kiln-wasm-single', depth, width);
      const n = lookup(doc.results, 'native', 'kiln-native-1t', depth, width);
      return w && n ? w.train_ms_per_batch / n.train_ms_per_batch : null;
    });
    const sm = summarize(ratios);
    if (sm) out.push(`Kiln wasm (1 thread) in ${ENV_LABELS[env]} vs Kiln native (1 thread), training: ${fmtRatio(sm.geomean)} slower (geomean; ${fmtRatio(sm.min)}–${fmtRatio(sm.max)}).`);
  }
  // batch-1 vs batch-64 per-sample cost for Kiln (large gaps mean a per-call cost).
  for (const env of ['node', 'chromium', 'native']) {
    const eng = env === 'native' ? 'kiln-native-1t' : 'kiln-wasm-single';
    const ratios = doc.cells.map(({ depth, width }) => {
      const r = lookup(doc.results, env, eng, depth, width);
      return r ? r.infer_ms_per_sample_b1 / r.infer_ms_per_sample_b64 : null;
    });
    const sm = summarize(ratios);
    if (sm) out.push(`${ENGINE_LABELS[eng]}${env === 'native' ? '' : ` in ${ENV_LABELS[env]}`}: a batch-1 call costs ${fmtRatio(sm.geomean)} (geomean; ${fmtRatio(sm.min)}–${fmtRatio(sm.max)}) ` +
      'the per-sample cost at batch 64.');
  }
  return out;
}
