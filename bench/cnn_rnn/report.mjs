// Turns the CNN / RNN benchmark's measurements (the object written to
// bench/results/cnn_rnn.json) into comparisons and the markdown report. Every
// number in the report comes from that object.
import { summarize } from '../mlp/report.mjs';
import { errLine, fmt, fmtRatio, table } from '../common/markdown.mjs';
import { KILN_ENGINES, PEER_ENGINES, TFJS_ENGINES, layerTypes } from './models.mjs';

export const TARGETS = { train: 5 };
export const ENGINE_LABELS = {
  'kiln-wasm-single': 'Kiln wasm (1 thread)',
  'kiln-wasm-threaded': 'Kiln wasm-mt (2 threads)',
  'tfjs-cpu': 'TF.js cpu',
  'tfjs-wasm': 'TF.js wasm',
  'tfjs-webgl': 'TF.js webgl',
  convnetjs: 'ConvNetJS',
};
export const ENV_LABELS = { chromium: 'Chromium (headless)', node: 'Node.js' };
const ENVS = ['chromium', 'node'];
export const METRICS = {
  train: { key: 'train_ms_per_batch', title: 'training, ms per batch of 32', short: 'train ms/batch' },
  b1: { key: 'infer_ms_per_sample_b1', title: 'inference at batch 1, ms per sample', short: 'batch 1 ms/sample' },
  bN: { key: 'infer_ms_per_sample_bN', title: 'inference at batch 32, ms per sample', short: 'batch 32 ms/sample' },
};
const label = (e) => ENGINE_LABELS[e] ?? e;

function record(results, env, engine, model) {
  return results.find((r) => r.environment === env && r.engine === engine && r.model === model);
}

/** The value of a metric in a record, or null when missing or failed. */
function valueOf(r, metric) {
  if (!r || r.error || r.skipped || (metric === 'train' && r.train_error)) return null;
  const v = r[METRICS[metric].key];
  return Number.isFinite(v) ? v : null;
}

/** Why a record has no value for a metric: 'error: ...', 'skipped: ...', 'not run', or null when it has one. */
function whyMissing(r, metric) {
  if (!r) return 'not run';
  if (r.skipped) return `skipped: ${r.skipped}`;
  if (r.error) return `error: ${r.error}`;
  if (metric === 'train' && r.train_error) return `training failed: ${r.train_error}`;
  return valueOf(r, metric) === null ? 'no value' : null;
}

function best(results, env, model, engines, metric) {
  let out = null;
  for (const e of engines) {
    const v = valueOf(record(results, env, e, model), metric);
    if (v !== null && (!out || v < out.value)) out = { engine: e, value: v };
  }
  return out;
}

/**
 * Per environment and model, for each metric: the fastest peer (TF.js cpu /
 * wasm / webgl, ConvNetJS), the fastest TF.js backend, the faster Kiln variant,
 * peer / Kiln (above 1: Kiln is faster) and, for training, whether it meets
 * the target. Where Kiln has no value, `kilnMissing` says why.
 */
export function computeComparisons(results, { envs = ENVS, models }) {
  const out = [];
  for (const environment of envs) {
    for (const model of models) {
      if (!results.some((r) => r.environment === environment && r.model === model)) continue;
      const c = { environment, model };
      for (const metric of Object.keys(METRICS)) {
        const kiln = best(results, environment, model, KILN_ENGINES, metric);
        const peer = best(results, environment, model, PEER_ENGINES, metric);
        const tfjs = best(results, environment, model, TFJS_ENGINES, metric);
        const ratio = kiln && peer ? peer.value / kiln.value : null;
        c[metric] = { kiln, peer, tfjs, ratio };
        if (TARGETS[metric] !== undefined) c[metric].meetsTarget = ratio === null ? null : ratio >= TARGETS[metric];
        if (!kiln) {
          const why = KILN_ENGINES.map((e) => whyMissing(record(results, environment, e, model), metric)).filter(Boolean);
          c[metric].kilnMissing = why.length ? errLine(why[0], 240) : 'not run';
        }
      }
      out.push(c);
    }
  }
  return out;
}

const withEngine = (b) => (b ? `${fmt(b.value)} (${label(b.engine)})` : 'n/a');
const verdict = (m) => (m.meetsTarget === null || m.meetsTarget === undefined ? (m.kiln ? 'n/a' : '**no Kiln result**') : m.meetsTarget ? '**yes**' : '**no**');

function headline(doc) {
  const rows = doc.comparisons.map((c) => [ENV_LABELS[c.environment], doc.models[c.model].title,
    withEngine(c.train.peer), c.train.kiln ? withEngine(c.train.kiln) : `n/a: ${errLine(c.train.kilnMissing)}`, fmtRatio(c.train.ratio), verdict(c.train)]);
  return table(['environment', 'model', 'best peer, training ms/batch', 'Kiln best, training ms/batch', 'best peer / Kiln',
    `≥ ${TARGETS.train}×`], rows, ['---', '---', '---:', '---:', '---:', '---']);
}

function inferenceHeadline(doc) {
  const rows = doc.comparisons.map((c) => [ENV_LABELS[c.environment], doc.models[c.model].title,
    withEngine(c.b1.peer), withEngine(c.b1.kiln), fmtRatio(c.b1.ratio), withEngine(c.bN.peer), withEngine(c.bN.kiln), fmtRatio(c.bN.ratio)]);
  return table(['environment', 'model', 'batch 1: best peer', 'batch 1: Kiln best', 'ratio', 'batch 32: best peer', 'batch 32: Kiln best', 'ratio'], rows,
    ['---', '---', '---:', '---:', '---:', '---:', '---:', '---:']);
}

/** Effective training throughput: 3 x forward multiply-adds x 2 flops x batch / time (the usual forward + 2 backward estimate). */
const trainGflops = (doc, model, ms) => (Number.isFinite(ms) ? (3 * 2 * doc.models[model].forwardMacsPerSample * doc.protocol.batch) / (ms * 1e6) : null);

function engineTable(doc, env, model) {
  const engines = doc.engines.filter((e) => e.environment === env).map((e) => e.engine);
  const rows = [];
  for (const e of engines) {
    const r = record(doc.results, env, e, model);
    const cell = (metric) => {
      const v = valueOf(r, metric);
      if (v !== null) return fmt(v);
      const why = whyMissing(r, metric);
      return why?.startsWith('skipped') ? '—' : why === 'not run' ? '—' : 'error';
    };
    const notes = [];
    if (!r) notes.push('not run (engine failed: see below)');
    else if (r.skipped) notes.push(errLine(r.skipped));
    else if (r.error) notes.push(`error: ${errLine(r.error)}`);
    else if (r.train_error) notes.push(`training failed: ${errLine(r.train_error)}`);
    if (r && r.iters) notes.push(`k × runs = ${r.iters.train ?? '–'}×${r.reps?.train ?? '–'} / ${r.iters.b1}×${r.reps?.b1} / ${r.iters.bN}×${r.reps?.bN}`);
    rows.push([label(e), cell('train'), fmt(trainGflops(doc, model, valueOf(r, 'train'))), cell('b1'), cell('bN'),
      r && Number.isFinite(r.loss_after) ? fmt(r.loss_after) : '—', notes.join('; ')]);
  }
  const c = doc.comparisons.find((x) => x.environment === env && x.model === model);
  if (c) {
    rows.push(['*best TF.js backend*', ...['train'].map((m) => withEngine(c[m].tfjs)), '', withEngine(c.b1.tfjs), withEngine(c.bN.tfjs), '', '']);
    rows.push(['*best peer*', withEngine(c.train.peer), '', withEngine(c.b1.peer), withEngine(c.bN.peer), '', '']);
    rows.push(['*Kiln best*', c.train.kiln ? withEngine(c.train.kiln) : 'n/a', '', withEngine(c.b1.kiln), withEngine(c.bN.kiln), '', c.train.kilnMissing ? errLine(c.train.kilnMissing) : '']);
    rows.push(['*best peer / Kiln best*', `**${fmtRatio(c.train.ratio)}** (target ≥ ${TARGETS.train}×: ${verdict(c.train)})`, '', fmtRatio(c.b1.ratio), fmtRatio(c.bN.ratio), '', '']);
  }
  return table(['engine', `${METRICS.train.short}`, 'train GFLOP/s (≈)', METRICS.b1.short, METRICS.bN.short, 'loss after', 'notes (k = calls per run, for train / b1 / b32)'], rows,
    ['---', '---:', '---:', '---:', '---:', '---:', '---']);
}

const neededLayers = (doc) => [...new Set(Object.values(doc.models).flatMap((m) => layerTypes(m)))];

function engineNotes(doc, env) {
  const lines = [];
  for (const e of doc.engines.filter((x) => x.environment === env)) {
    const i = e.info ?? {};
    let s = `- **${label(e.engine)}**: `;
    if (e.error && !e.info) s += `failed: \`${errLine(e.error, 300)}\``;
    else if (e.engine.startsWith('kiln-wasm'))
      s += `variant ${i.variant}, ${i.threads} thread(s), GEMM kernel ${i.gemmKernel}, module load ${i.loadMs} ms; ` +
        `layers the models need: ${neededLayers(doc).map((t) => `${t} ${(i.layersAvailable ?? []).includes(t) ? 'present' : '**missing**'}`).join(', ')} ` +
        `(of ${(i.layersAvailable ?? []).length} kiln.layers factories)`;
    else if (e.engine === 'tfjs-wasm')
      s += `TF.js ${i.version}, flavour **${i.wasmFlavour}** (WASM_HAS_SIMD_SUPPORT=${i.wasmSimd}, WASM_HAS_MULTITHREAD_SUPPORT=${i.wasmMultithread}), ` +
        `XNNPACK threads ${i.threads} (asked for ${i.requestedThreads}), backend load ${i.loadMs} ms, tensors leaked ${i.leakedTensors}`;
    else if (e.engine === 'tfjs-cpu') s += `TF.js ${i.version}, cpu backend (plain JavaScript, 1 thread), tensors leaked ${i.leakedTensors}`;
    else if (e.engine === 'tfjs-webgl')
      s += `TF.js ${i.version}, WebGL ${i.webglVersion} on \`${i.webglRenderer ?? 'unknown renderer'}\` (float32 render targets: ${i.webglFloatTextures}), ` +
        `backend load ${i.loadMs} ms, tensors leaked ${i.leakedTensors}`;
    else if (e.engine === 'convnetjs') s += `ConvNetJS ${i.version}, plain JavaScript, 1 thread, ${i.precision}, one sample per call`;
    if (e.engine.startsWith('tfjs-') && i.configOverrides && Object.keys(i.configOverrides).length)
      s += `; config added in TF.js only: ${Object.entries(i.configOverrides).map(([t, c]) => `${t} ${JSON.stringify(c)}`).join(', ')} (see \`bench/cnn_rnn/tfjs_engine.mjs\`)`;
    if (e.error && e.info) s += `; **engine error**: \`${errLine(e.error, 300)}\` (models finished before it are kept)`;
    if (e.loadavg?.before !== undefined) s += `; load average before/after ${e.loadavg.before.toFixed(2)} / ${(e.loadavg.after ?? NaN).toFixed(2)}`;
    if (e.wallMs) s += `; took ${(e.wallMs / 1000).toFixed(1)} s`;
    lines.push(s);
  }
  return lines.join('\n');
}

function modelSection(doc) {
  const out = [];
  for (const [id, m] of Object.entries(doc.models)) {
    const layers = m.layers.map(({ type, ...cfg }) => `${type}(${Object.entries(cfg).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')})`);
    out.push(`- **${m.title}** (\`${id}\`), input [${m.inputShape}]: ${layers.join(' → ')}. ${m.params.toLocaleString('en-US')} parameters, ` +
      `${(2 * m.forwardMacsPerSample / 1e6).toFixed(2)} MFLOP per sample forward (training ≈ 3× that; the GFLOP/s column uses this estimate).`);
  }
  return out.join('\n');
}

export function renderMarkdown(doc) {
  const m = doc.machine;
  const p = doc.protocol;
  const out = [];
  const push = (...s) => out.push(...s);
  push('# Kiln CNN / RNN benchmark', '');
  push(`> Generated by \`${doc.command}\` on ${doc.generated} from that run's own measurements (raw medians and every run's sample: ` +
    `\`${doc.jsonPath}\`). Do not edit by hand; re-run the script (\`make bench-cnn-rnn\`). Mode: **${doc.mode}**, total run time ` +
    `${(doc.wallMs / 1000).toFixed(0)} s.`, '');

  push('## Headline: training', '');
  push(`Best peer = the fastest of TF.js cpu / wasm / webgl and ConvNetJS; Kiln best = the faster of Kiln's single-threaded and threaded ` +
    `wasm variants. Ratio above 1 means Kiln is faster; the target is ≥ ${TARGETS.train}×.`, '');
  push(headline(doc), '');
  push('## Headline: inference (ms per sample; ratio = best peer / Kiln best)', '');
  push(inferenceHeadline(doc), '');

  push('## How it was measured', '');
  push(`- **Machine**: ${m.cpuModel}, ${m.logicalCpus} logical CPUs, ${m.memGiB} GiB RAM, ${m.os}. Node.js ${m.node}, ` +
    `Chromium ${m.chromium ?? 'n/a'} (headless, driven by playwright-core through \`scripts/browser.mjs\`), TF.js ${m.tfjs ?? 'n/a'}, ` +
    `ConvNetJS ${m.convnetjs ?? 'n/a'}.`);
  if (doc.build?.measured) {
    const b = doc.build.measured;
    const id = (f) => (b[f] ? `\`${f}\` ${b[f].sha256} (built ${b[f].mtime})` : `\`${f}\` missing`);
    push(`- **Kiln build measured** (sha256 prefix): ${['lib/wasm/kiln-st.wasm', 'lib/wasm/kiln-mt.wasm', 'lib/index.js'].map(id).join(', ')}` +
      (doc.build.snapshot ? '; the engines ran from a copy of `lib/` taken at the start, so the whole run measured this one build' +
        (doc.build.rebuiltDuringRun?.length ? ` (the repo's \`lib/\` was rebuilt meanwhile: ${doc.build.rebuiltDuringRun.join(', ')})` : '') : '') + '.');
  }
  push(`- **Load**: the machine is shared; load average was ${m.loadavgStart.map((x) => x.toFixed(2)).join(' / ')} (1/5/15 min) at the start ` +
    `and ${m.loadavgEnd.map((x) => x.toFixed(2)).join(' / ')} at the end (per-engine values below). With ${m.logicalCpus} CPUs, ` +
    'a load above 1 means other work competed with the benchmark, which hurts the 2-thread engines most.');
  push('- **Models** (the same layer list in every engine: `bench/cnn_rnn/models.mjs`; Kiln and TF.js build it with `layers[type](config)`, ' +
    'ConvNetJS gets the equivalent layer definitions):');
  push(modelSection(doc).split('\n').map((l) => `  ${l}`).join('\n'));
  push(`- **Training set-up**: float32 (ConvNetJS: float64, its only type), **batch ${p.batch}**, SGD learning rate ${p.learningRate} without momentum, ` +
    `categorical cross-entropy. Inputs in [0, 1) and random one-hot labels from a fixed-seed PRNG (mulberry32, seed ${p.seed}), the same values for ` +
    'every engine ([32, 28, 28, 1] for the CNN, [32, 28, 28] for the LSTM: MNIST rows as time steps).');
  push(`- **Training metric**: Kiln and TF.js: \`await model.trainOnBatch(x, y)\` (TF.js reads the loss back, so the step is complete). ` +
    `ConvNetJS: 32 \`trainer.train(vol, label)\` calls with a Trainer {method 'sgd', batch_size 32, learning_rate ${p.learningRate}, momentum 0, l2_decay 0}: ` +
    'ConvNetJS is single-sample (forward + backward per sample, gradients accumulated, one SGD step on the 32nd call), so that is its step for one batch.');
  push(`- **Inference metric**: \`model.predict(x)\` plus reading the output back (\`dataSync()\`) at batch 1 (cycling through 16 distinct samples) ` +
    'and at batch 32 (cycling through 2 distinct batches), divided by the batch size. ConvNetJS: `net.forward(vol)` per sample (batch 32 = 32 calls).');
  push(`- **Protocol** (\`bench/common/measure.mjs\`: the MLP benchmark's \`measure()\` plus a time budget): Kiln first runs ` +
    `\`model.warmup(${p.batch})\`; then every engine makes up to ${p.warmupIters} untimed warm-up calls (fewer, at least one, once they took ` +
    `${p.warmupMs} ms), one timed call that picks k (so that a run lasts about ${p.targetMs} ms; at least ${p.minIters}, at most ${p.maxIters}), ` +
    `then ${p.reps} runs of k calls (fewer, at least ${p.minReps}, where they would take more than ${p.budgetMs} ms in all). Reported: the ` +
    '**median over the runs** of (run time / k). For a step slower than the target, k = 1 and the value is the median of single calls. ' +
    'Every run\'s value, k and the number of runs are in the JSON (`samples_ms`, `iters`, `reps`).');
  push(`- **Isolation**: each engine runs alone, in its own Chromium page load (a fresh JS context) or its own Node.js process, one after the other. ` +
    `Pages are served by \`scripts/serve.mjs\` with COOP/COEP headers (crossOriginIsolated = ${doc.chromiumIsolated ?? 'n/a'}), so Kiln's threaded variant ` +
    `and TF.js's threaded-SIMD wasm can use threads (asked for: ${p.threadsForThreadedEngines}).`);
  push('- **Engines not measured**: TF.js webgl in Node.js (no WebGL there; tfjs-node cannot be installed offline), TF.js webgpu (the only adapter ' +
    'here is SwiftShader\'s software WebGPU at ~0.3 GFLOP/s), ConvNetJS LSTM (ConvNetJS has no recurrent layers).', '');

  for (const env of ENVS) {
    if (!doc.engines.some((e) => e.environment === env)) continue;
    push(`## ${ENV_LABELS[env]}`, '', engineNotes(doc, env), '');
    for (const id of Object.keys(doc.models)) {
      if (!doc.results.some((r) => r.environment === env && r.model === id)) continue;
      push(`### ${doc.models[id].title}`, '', engineTable(doc, env, id), '');
    }
  }
  push('## Observations (computed from this run)', '', observations(doc).map((x) => `- ${x}`).join('\n'), '');
  const problems = doc.problems ?? [];
  push('## Problems and warnings seen in this run', '');
  push(problems.length ? problems.map((s) => `- ${errLine(s, 400)}`).join('\n') : '- None: every engine finished every model.', '');
  if (doc.notes?.length) push('Expected console messages (not problems):', '', doc.notes.map((s) => `- ${errLine(s, 300)}`).join('\n'), '');
  return out.join('\n');
}

/** Data-driven remarks. */
function observations(doc) {
  const out = [];
  const rec = (env, e, model) => record(doc.results, env, e, model);
  for (const c of doc.comparisons) {
    const where = `${ENV_LABELS[c.environment]}, ${doc.models[c.model].title}`;
    if (!c.train.kiln) out.push(`${where}: no Kiln training number (${errLine(c.train.kilnMissing)}), so the ${TARGETS.train}× target cannot be judged from this run.`);
    else out.push(`${where}: Kiln best (${label(c.train.kiln.engine)}) trains ${fmtRatio(c.train.ratio)} as fast as the best peer (${label(c.train.peer?.engine)}): ` +
      `${c.train.meetsTarget ? 'meets' : 'misses'} the ${TARGETS.train}× target.`);
    const tf = TFJS_ENGINES.map((e) => [e, valueOf(rec(c.environment, e, c.model), 'train')]).filter(([, v]) => v !== null).sort((a, b) => a[1] - b[1]);
    if (tf.length > 1) out.push(`${where}: TF.js backends for training, fastest first: ${tf.map(([e, v]) => `${label(e)} ${fmt(v)} ms`).join(', ')}.`);
    const failed = TFJS_ENGINES.map((e) => [e, rec(c.environment, e, c.model)]).filter(([, r]) => r && (r.train_error || r.error));
    for (const [e, r] of failed) out.push(`${where}: ${label(e)} cannot ${r.train_error ? 'train' : 'run'} this model: \`${errLine(r.train_error ?? r.error)}\`.`);
  }
  // Chromium vs Node for the same engine (training), where both ran.
  const both = [];
  for (const e of [...KILN_ENGINES, ...PEER_ENGINES]) {
    for (const id of Object.keys(doc.models)) {
      const a = valueOf(rec('chromium', e, id), 'train'), b = valueOf(rec('node', e, id), 'train');
      if (a !== null && b !== null) both.push(a / b);
    }
  }
  const sm = summarize(both);
  if (sm) out.push(`Same engine, Chromium vs Node.js, training time: Chromium / Node geomean ${sm.geomean.toFixed(2)} (${sm.min.toFixed(2)}–${sm.max.toFixed(2)}, ${sm.n} pairs).`);
  for (const tf of doc.engines.filter((e) => e.engine === 'tfjs-wasm' && e.info)) {
    const i = tf.info;
    if (!i.wasmMultithread)
      out.push(`${ENV_LABELS[tf.environment]}: TF.js wasm loaded ${i.wasmFlavour} (WASM_HAS_MULTITHREAD_SUPPORT is false: tfjs-backend-wasm turns threads off in Node.js), so it ran single-threaded.`);
    else if (i.requestedThreads && i.threads !== null && i.threads < i.requestedThreads)
      out.push(`${ENV_LABELS[tf.environment]}: TF.js wasm loaded ${i.wasmFlavour} but ran ${i.threads} XNNPACK thread(s) although ${i.requestedThreads} were ` +
        `requested with tf.wasm.setThreadsCount: tfjs-backend-wasm caps its pool at hardwareConcurrency / 2 (= ${Math.floor((tf.page?.hardwareConcurrency ?? 0) / 2)} here).`);
  }
  const wg = doc.engines.find((e) => e.engine === 'tfjs-webgl' && e.info?.webglRenderer);
  if (wg && /swiftshader/i.test(wg.info.webglRenderer))
    out.push('TF.js webgl ran on SwiftShader (software WebGL on the CPU; the machine has no GPU), so its numbers are not a GPU\'s.');
  return out;
}
