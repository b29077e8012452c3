// The study's tables and figures from the raw results of one `make study`
// run (features.json, mlp.json, onnx.json, run.json). Pure data: no I/O.
// A figure is { id, title, yLabel, xLabels, series: [{ label, points:
// [{ x, y, lo, hi }] }], notes }; a table is { id, title, head, rows, notes }.
import { findings } from './findings.mjs';

const ENV_TITLE = { node: 'Node', chromium: 'Chromium', native: 'native' };
const ENGINE_TITLE = {
  'kiln-wasm-single': 'Kiln wasm 1 thread', 'kiln-wasm-threaded': 'Kiln wasm threads', 'kiln-native-1t': 'Kiln native 1 thread',
  'kiln-native-2t': 'Kiln native 2 threads', 'tfjs-cpu': 'TF.js cpu', 'tfjs-wasm': 'TF.js wasm', 'tfjs-webgl': 'TF.js WebGL', 'tfjs-webgpu': 'TF.js WebGPU',
  brainjs: 'brain.js', synaptic: 'synaptic', convnetjs: 'ConvNetJS', kerasjs: 'Keras.js',
  'kiln-wasm': 'Kiln wasm', 'ort-web': 'ORT Web wasm', 'ort-webgpu': 'ORT Web WebGPU', 'kiln-native': 'Kiln native', 'ort-node': 'onnxruntime-node', pytorch: 'PyTorch',
};
const gpuName = (gpu) => (/SwiftShader/i.test(gpu) ? 'SwiftShader (software GPU)' : gpu);
const label = (env, engine, info) => {
  const what = info?.gpu ? `, ${gpuName(info.gpu)}` : '';
  return `${ENGINE_TITLE[engine] ?? engine} (${ENV_TITLE[env] ?? env}${what})`;
};
const cellName = (r) => `d${r.depth} w${r.width}`;
/**
 * Multiply-adds (G) of one inference, for the tree: the convolutions' and linear layers' MACs, counted
 * with forward hooks on the PyTorch models (they agree with torchvision's documented GFLOPS).
 */
const MODEL_GMACS = { MobileNetV2: 0.301, ResNet50: 4.089, DenseNet121: 2.834, InceptionV3: 5.713, Xception: 8.357 };
const mlpGmacs = (d, w) => (784 * w + (d - 1) * w * w + w * 10) / 1e9;
const mb = (bytes) => (bytes === undefined || bytes === null ? null : bytes / 1e6);

/**
 * Console messages that are expected and harmless: Emscripten's pthreads build warns that the main
 * thread may block on a lock (Kiln's threaded variant joins its pool there), and SwiftShader's GL
 * reports stalls on read-back. They are listed as notes, not problems.
 */
const BENIGN = [/Blocking on the main thread is very dangerous/, /GL Driver Message .*GPU stall due to ReadPixels/];

function mlpPart(mlp, problems, missing, notes) {
  if (!mlp) {
    missing.push('the MLP benchmark did not write mlp.json');
    return { figures: [], tables: [], rows: [], engines: [] };
  }
  const cells = mlp.cells.map(cellName);
  const engines = mlp.engines.map((e) => ({ ...e, label: label(e.environment, e.engine, e.info) }));
  const recOf = (e, cell) => mlp.results.find((r) => r.environment === e.environment && r.engine === e.engine && cellName(r) === cell);
  const series = (key, rangeKey) => engines.map((e) => ({
    label: e.label, environment: e.environment, engine: e.engine,
    points: cells.map((c) => {
      const r = recOf(e, c);
      const y = r?.[key];
      return { x: c, y: Number.isFinite(y) ? y : null, lo: r?.range?.[rangeKey]?.[0] ?? null, hi: r?.range?.[rangeKey]?.[1] ?? null,
        ...(r?.skipped ? { note: r.skipped } : r?.error ? { note: r.error.split('\n')[0] } : {}) };
    }),
  })).filter((s) => s.points.some((p) => p.y !== null));
  const algorithms = engines.filter((e) => e.info?.algorithm).map((e) => `${e.label}: ${e.info.algorithm}`);
  const fig1 = { id: 'fig1', title: 'Figure 1: MNIST MLP training time per batch of 64', yLabel: 'ms per batch', xLabels: cells,
    series: series('train_ms_per_batch', 'train'), notes: ['Kiln and TF.js: one trainOnBatch (SGD, softmax + cross-entropy).', ...algorithms] };
  const fig4a = { id: 'fig4a', title: 'Figure 4a: inference time per sample, batch 1', yLabel: 'ms per sample', xLabels: cells,
    series: series('infer_ms_per_sample_b1', 'b1'), notes: ['The per-sample peers run one sample at a time at any batch size.'] };
  const fig4b = { id: 'fig4b', title: 'Figure 4b: inference time per sample, batch 64', yLabel: 'ms per sample', xLabels: cells,
    series: series('infer_ms_per_sample_b64', 'b64'), notes: [] };

  // Table 3: the saved model of each MLP in each framework's own format(s), once per framework.
  const formats = [];
  for (const e of engines.filter((x) => x.environment === 'node' || !engines.some((y) => y.engine === x.engine && y.environment === 'node')))
    for (const c of cells) for (const f of Object.keys(recOf(e, c)?.saved_bytes ?? {})) if (!formats.includes(f)) formats.push(f);
  const savedOf = (format, cell) => {
    for (const e of engines) {
      const b = recOf(e, cell)?.saved_bytes?.[format];
      if (b !== undefined) return b;
    }
    return null;
  };
  const table3 = { id: 'table3', title: 'Table 3: saved model file size (MB)', head: ['model', ...formats],
    rows: cells.map((c) => [c, ...formats.map((f) => mb(savedOf(f, c)))]),
    notes: ['Each MLP after training, saved through the framework\'s own API; JSON formats counted as UTF-8 bytes.',
      'Kiln\'s float16 and int8 weight files (kiln convert --fp16 / --int8) exist for ONNX models only; Layers files are float32.'] };

  // Finding 3 (MLPs): library load, model build, first inference, steady inference, per engine, on one reference cell.
  const ref = cells[Math.floor((cells.length - 1) / 2)];
  const table3b = { id: 'finding3-mlp', title: `Finding 3: loading and warm-up, MLP ${ref} (ms)`,
    head: ['engine', 'library load', 'model build', 'first inference (batch 1)', 'steady inference (batch 1)', 'first / steady'],
    rows: engines.filter((e) => !e.engine.startsWith('kiln-native')).map((e) => {
      const r = recOf(e, ref);
      const libMs = (e.info?.importMs ?? 0) + (e.info?.loadMs ?? 0);
      const steady = r?.infer_ms_per_sample_b1 ?? null;
      return [e.label, libMs || null, r?.build_ms ?? null, r?.first_predict_ms ?? null, steady,
        r?.first_predict_ms && steady ? r.first_predict_ms / steady : null];
    }),
    notes: ['library load: importing the package (Chromium: loading its scripts) plus its backend setup (kiln.ready, tf.setBackend).'] };

  for (const p of mlp.problems ?? []) (BENIGN.some((re) => re.test(p)) ? notes : problems).push(`mlp: ${p}`);
  const rows = mlp.results.filter((r) => !r.error && !r.skipped);
  return { figures: [fig1, fig4a, fig4b], tables: [table3, table3b], rows, engines, cells };
}

function onnxPart(onnx, problems, missing) {
  if (!onnx) {
    missing.push('the ONNX benchmark did not run (run.json lists why)');
    return { figures: [], tables: [], ratioRows: [], gpus: [] };
  }
  const models = Object.keys(onnx.models).filter((m) => onnx.summary.some((s) => s.model === m));
  const engines = Object.keys(onnx.engines);
  const threads = [...new Set(onnx.summary.map((s) => s.threads))].sort();
  const get = (engine, model, t) => onnx.summary.find((s) => s.engine === engine && s.model === model && s.threads === t);
  const gpuOf = (e) => onnx.runs.find((r) => r.engine === e && r.info?.gpu)?.info.gpu;
  const title = (e) => (gpuOf(e) ? onnx.engines[e].title.replace(/\)$/, `, ${gpuName(gpuOf(e))})`) : onnx.engines[e].title);
  const figures = threads.map((t) => ({
    id: `fig5-t${t}`, title: `Figure 5: the study's Keras models at batch 1, ${t} thread${t > 1 ? 's' : ''}`, yLabel: 'ms per inference',
    xLabels: models.map((m) => onnx.models[m].title),
    series: engines.map((e) => ({ label: title(e), engine: e, environment: onnx.engines[e].env,
      points: models.map((m) => {
        const s = get(e, m, t);
        const lat = s?.latencyPerRun ?? [];
        return { x: onnx.models[m].title, y: s?.median_ms ?? null, lo: lat.length ? Math.min(...lat) : null, hi: lat.length ? Math.max(...lat) : null };
      }) })).filter((s) => s.points.some((p) => p.y !== null)),
    notes: ['torchvision architectures, and Xception built from its paper in PyTorch (scripts/xception.py), with random seeded weights, exported to ONNX.'],
  }));
  // RQ3: browser / native, each framework against its own native build, and against PyTorch.
  const pairs = [['kiln-wasm', 'kiln-native', 'Kiln'], ['ort-web', 'ort-node', 'ONNX Runtime'], ['kiln-wasm', 'pytorch', 'Kiln wasm vs PyTorch'],
    ['ort-web', 'pytorch', 'ORT Web vs PyTorch'], ['ort-webgpu', 'ort-node', 'ORT Web WebGPU vs onnxruntime-node CPU']];
  const ratioRows = [];
  for (const [b, n, what] of pairs) for (const m of models) for (const t of threads) {
    const sb = get(b, m, t), sn = get(n, m, t);
    if (sb?.median_ms && sn?.median_ms)
      ratioRows.push({ kind: 'cnn', pair: what, browser: b, native: n, model: onnx.models[m].title, threads: t, ratio: sb.median_ms / sn.median_ms,
        gmacs: MODEL_GMACS[onnx.models[m].title] ?? null });
  }
  const ratioFig = { id: 'fig5-ratio', title: 'RQ3: browser / native time ratio per model', yLabel: 'browser time / native time', xLabels: models.map((m) => onnx.models[m].title),
    series: pairs.flatMap(([b, n, what]) => threads.map((t) => ({ label: `${what}, ${t} thread${t > 1 ? 's' : ''}`,
      points: models.map((m) => ({ x: onnx.models[m].title, y: ratioRows.find((r) => r.pair === what && r.model === onnx.models[m].title && r.threads === t)?.ratio ?? null })) })))
      .filter((s) => s.points.some((p) => p.y !== null)), notes: ['Above 1: the browser is slower.'] };
  const loadTable = { id: 'finding3-onnx', title: 'Finding 3: loading and warm-up, ONNX models, 1 thread (ms)',
    head: ['model', 'engine', 'load (bytes to session)', 'first inference', 'steady inference', 'first / steady', 'peak memory (MiB)'],
    rows: models.flatMap((m) => engines.map((e) => {
      const s = get(e, m, threads[0]);
      return s ? [onnx.models[m].title, title(e), s.load_ms ?? s.session_ms ?? null, s.first_run_ms ?? null, s.median_ms ?? null,
        s.first_run_ms && s.median_ms ? s.first_run_ms / s.median_ms : null, s.peak_rss_kib ? s.peak_rss_kib / 1024 : null] : null;
    }).filter(Boolean)), notes: ['peak memory: VmHWM of a fresh process (the page\'s renderer in Chromium).'] };
  const cpuEngines = engines.filter((e) => !onnx.engines[e].gpu);
  const threadTable = { id: 'finding8-onnx', title: 'Finding 8: speed-up from 1 to 2 threads, ONNX models',
    head: ['model', ...cpuEngines.map((e) => onnx.engines[e].title)],
    rows: models.map((m) => [onnx.models[m].title, ...cpuEngines.map((e) => {
      const a = get(e, m, 1)?.median_ms, b = get(e, m, 2)?.median_ms;
      return a && b ? a / b : null;
    })]), notes: ['time at 1 thread / time at 2 threads; 2 is the most this machine has.'] };
  for (const p of onnx.problems ?? []) problems.push(`onnx: ${typeof p === 'string' ? p : JSON.stringify(p)}`);
  const gpus = engines.filter(gpuOf).map((e) => `${e} (ONNX, chromium): ${gpuOf(e)}`);
  return { figures: [...figures, ratioFig], tables: [loadTable, threadTable], ratioRows, gpus };
}

/** Figure 5 through the Layers API (bench/study/run_keras.mjs): Kiln and TF.js's backends on one model file, in Chromium. */
function kerasPart(keras, onnx, problems, missing, notes) {
  if (!keras) {
    missing.push('the Keras architectures through the Layers API (keras.json) were not measured');
    return { figures: [], tables: [], ratioRows: [], gpus: [] };
  }
  const models = keras.models;
  const get = (c, m) => keras.results.find((r) => r.engine === c.engine && r.threads === c.threads && r.model === m && !r.error && !r.skipped);
  const infoOf = (c) => keras.results.find((r) => r.engine === c.engine && r.threads === c.threads && r.info)?.info;
  const env = keras.environment?.startsWith('Chromium') ? 'chromium' : 'node';
  const labelOf = (c) => label(env, c.engine, infoOf(c)).replace(/\)$/, `, ${c.threads} thread${c.threads > 1 ? 's' : ''})`);
  for (const r of keras.results) {
    const where = `keras ${r.model} ${r.engine} ${r.threads}t`;
    if (r.error) problems.push(`${where}: ${String(r.error).split('\n')[0]}`);
    if (r.max_rel_err !== undefined && !(r.max_rel_err <= 1e-3)) problems.push(`${where}: output differs from TF.js wasm's by ${r.max_rel_err} (relative)`);
    for (const issue of r.consoleIssues ?? []) (BENIGN.some((re) => re.test(issue)) ? notes : problems).push(`${where}: ${issue}`);
  }
  const configs = keras.configs.filter((c) => models.some((m) => get(c, m)));
  const fig = { id: 'fig5-layers', title: `Figure 5, through the Layers API: the Keras architectures at batch 1 (${keras.environment})`,
    yLabel: 'ms per inference', xLabels: models,
    series: configs.map((c) => ({ label: labelOf(c), engine: c.engine, environment: env, threads: c.threads,
      points: models.map((m) => {
        const r = get(c, m);
        const skipped = keras.results.find((x) => x.engine === c.engine && x.threads === c.threads && x.model === m && x.skipped);
        return { x: m, y: r?.median_ms ?? null, lo: r ? Math.min(...r.samples) : null, hi: r ? Math.max(...r.samples) : null,
          ...(skipped ? { note: skipped.skipped } : {}) };
      }) })),
    notes: ['Built with TF.js\'s Layers API as keras.applications defines them (parameter counts equal Keras\'s) and saved once as a TF.js layers model; every engine loads that file.',
      'TF.js cpu and the GPU backends time what fits in a page budget (at least two runs); models after an engine\'s budget are skipped.'] };
  const ms = (engine, threads, m) => get({ engine, threads }, m)?.median_ms ?? null;
  const table = { id: 'keras-layers', title: 'Figure 5, through the Layers API: Kiln against TF.js on the same model file (ms per inference)',
    head: ['model', 'parameters', 'Kiln wasm', 'TF.js wasm', 'TF.js wasm / Kiln', 'Kiln wasm, 2 threads', 'TF.js wasm, 2 threads', 'TF.js cpu', 'TF.js WebGL', 'TF.js WebGPU',
      'top probability', 'Kiln vs TF.js, max rel err'],
    rows: models.map((m) => {
      const k = get({ engine: 'kiln-wasm', threads: 1 }, m);
      const w = ms('tfjs-wasm', 1, m);
      return [m, keras.exports?.[m]?.params ?? k?.params ?? null, k?.median_ms ?? null, w, k && w ? w / k.median_ms : null, ms('kiln-wasm', 2, m), ms('tfjs-wasm', 2, m),
        ms('tfjs-cpu', 1, m), ms('tfjs-webgl', 1, m), ms('tfjs-webgpu', 1, m), k?.top_probability ?? null, k?.max_rel_err ?? null];
    }), notes: ['One thread unless the column says two. Random weights, with each BatchNorm\'s statistics set to its input\'s on a calibration batch (without it the activations vanish and every output is 0.001).',
      'Kiln vs TF.js: the largest relative error over the 1000 output probabilities against TF.js wasm in Node; the top probability shows the outputs are neither uniform nor one-hot.',
      'TF.js wasm sizes its thread pool from half the logical cores (one on this machine); for its 2-thread column the page reports 4 cores so that the pool has two.'] };
  const loadTable = { id: 'finding3-keras', title: `Finding 3: loading and warm-up, Keras models through the Layers API (${keras.environment}, ms)`,
    head: ['model', 'engine', 'library load', 'model load', 'first inference', 'steady inference', 'first / steady', 'peak memory (MiB)'],
    rows: models.flatMap((m) => configs.filter((c) => c.threads === 1).map((c) => {
      const r = get(c, m);
      return r ? [m, labelOf(c), r.import_ms + r.backend_ms, r.load_ms, r.first_ms, r.median_ms, r.first_ms / r.median_ms, r.peak_rss_kib ? r.peak_rss_kib / 1024 : null] : null;
    }).filter(Boolean)),
    notes: ['library load: loading the library\'s scripts and wasm plus its backend set-up; model load: fetching model.json and weights.bin from the local server and building the model.',
      'peak memory: VmHWM of the fresh browser\'s renderer.'] };
  const threadTable = { id: 'finding8-keras', title: 'Finding 8: speed-up from 1 to 2 threads, Keras models in Chromium',
    head: ['model', 'Kiln wasm', 'TF.js wasm'],
    rows: models.map((m) => [m, ...['kiln-wasm', 'tfjs-wasm'].map((e) => { const a = ms(e, 1, m), b = ms(e, 2, m); return a && b ? a / b : null; })]),
    notes: ['time at 1 thread / time at 2 threads.'] };
  // RQ3: each browser engine on the Keras model against native CPU engines on the same architecture (the ONNX export).
  const ratioRows = [];
  const natives = onnx ? [['ort-node', 'onnxruntime-node'], ['kiln-native', 'Kiln native'], ['pytorch', 'PyTorch']] : [];
  const onnxTitle = (m) => Object.keys(onnx?.models ?? {}).find((id) => onnx.models[id].title === m);
  for (const c of configs) for (const m of models) for (const [n, nTitle] of natives) {
    const r = get(c, m);
    const s = onnx.summary.find((x) => x.engine === n && x.model === onnxTitle(m) && x.threads === c.threads && x.ok);
    if (r && s?.median_ms)
      ratioRows.push({ kind: 'cnn', pair: `${labelOf(c)} vs ${nTitle}`, browser: c.engine, native: n, environment: env, model: m, threads: c.threads,
        ratio: r.median_ms / s.median_ms, gmacs: MODEL_GMACS[m] ?? null, via: 'layers' });
  }
  const ratioFig = { id: 'fig5-layers-ratio', title: 'RQ3: browser (Keras model, Layers API) / native CPU (onnxruntime-node on the ONNX export)',
    yLabel: 'browser time / native time', xLabels: models,
    series: configs.map((c) => ({ label: labelOf(c), points: models.map((m) => ({ x: m,
      y: ratioRows.find((r) => r.browser === c.engine && r.threads === c.threads && r.model === m && r.native === 'ort-node')?.ratio ?? null })) }))
      .filter((s) => s.points.some((p) => p.y !== null)),
    notes: ['Native: onnxruntime-node on the same architecture exported from PyTorch (same layers and multiply-adds, other random weights), at the same thread count. Above 1: the browser is slower.'] };
  return { figures: [fig, ...(ratioFig.series.length ? [ratioFig] : [])], tables: [table, loadTable, threadTable], ratioRows,
    gpus: configs.filter((c) => infoOf(c)?.gpu).map((c) => `${c.engine} (Keras, ${env}): ${infoOf(c).gpu}`) };
}

/**
 * Page downloads measured from the benchmark pages' own network responses (bench/common/page_download.mjs),
 * per Table 1 framework: { bytes, gzipBytes, files, page }.
 */
function measuredDownloads(raw) {
  const out = {};
  const put = (name, d, page) => { if (d && !out[name]) out[name] = { ...d, page }; };
  put('Kiln', raw.keras?.downloads?.['kiln-wasm'], 'the Keras page, Kiln wasm 1 thread');
  put('TensorFlow.js', raw.keras?.downloads?.['tfjs-webgl'], 'the Keras page, TF.js WebGL');
  put('ONNX Runtime Web', raw.onnx?.downloads?.['ort-web 1t'], 'the ONNX page, wasm 1 thread');
  const mlpPage = (engine) => raw.mlp?.engines?.find((e) => e.environment === 'chromium' && e.engine === engine)?.download;
  put('Kiln', mlpPage('kiln-wasm-single'), 'the MLP page, Kiln wasm 1 thread');
  put('TensorFlow.js', mlpPage('tfjs-webgl'), 'the MLP page, TF.js WebGL');
  for (const [name, engine] of [['brain.js', 'brainjs'], ['synaptic', 'synaptic'], ['ConvNetJS', 'convnetjs'], ['Keras.js', 'kerasjs']])
    put(name, mlpPage(engine), `the MLP page, ${name}`);
  return out;
}

function table1(features, missing, measured = {}) {
  if (!features) {
    missing.push('Table 1: features.json is missing');
    return null;
  }
  const fw = features.frameworks.filter((f) => !f.error);
  const yn = (c) => (c?.value === true ? 'Y' : c?.value === false ? 'N' : c?.value ?? 'NA');
  const cell = (c, show = yn) => ({ text: String(show(c)), source: c?.source ?? '', judgement: !!c?.judgement });
  const kib = (c, key) => ({ text: c ? `${(c.value[key] / 1024).toFixed(0)} KiB` : 'NA', source: c?.source ?? '' });
  // Measured where a benchmark page loaded the library; else the files such a page would load.
  const pageCell = (f, key, listedKey) => {
    const m = measured[f.name];
    if (!m) return { ...kib(f.page, listedKey), source: `not loaded by a benchmark page here; ${f.page?.source ?? ''}` };
    return { text: `${(m[key] / 1024).toFixed(0)} KiB`, source: `measured: the network responses of ${m.page} (${m.files.join(', ')})` +
      (key === 'gzipBytes' ? ', each gzipped at level 9 (the local server sends them uncompressed)' : '') };
  };
  const rows = [
    ['training', (f) => cell(f.training)], ['DNN', (f) => cell(f.dnn)], ['CNN', (f) => cell(f.cnn)], ['RNN', (f) => cell(f.rnn)],
    ['layer types', (f) => cell(f.layerTypes)], ['activation types', (f) => cell(f.activations)], ['optimizer types', (f) => cell(f.optimizers)],
    ['WebGL', (f) => cell(f.webgl)], ['WebGPU', (f) => cell(f.webgpu)], ['import TensorFlow', (f) => cell(f.importTensorFlow)],
    ['import Keras', (f) => cell(f.importKeras)], ['import Caffe/PyTorch (ONNX)', (f) => cell(f.importOnnx)], ['export', (f) => cell(f.export)],
    ['save / load', (f) => cell(f.saveLoad)], ['Node.js', (f) => cell(f.node)],
    ['installed size', (f) => ({ text: f.installed ? `${(f.installed.value / 1e6).toFixed(1)} MB` : 'NA', source: f.installed?.source ?? '' })],
    ['page download', (f) => pageCell(f, 'bytes', 'bytes')], ['page download, gzipped', (f) => pageCell(f, 'gzipBytes', 'gzip')],
  ];
  return { id: 'table1', title: 'Table 1 (RQ1): what each framework offers', head: ['', ...fw.map((f) => `${f.name} ${f.version ?? ''}`.trim())],
    rows: rows.map(([name, get]) => [name, ...fw.map((f) => get(f))]),
    notes: ['Each cell\'s source is its tooltip; cells marked * are judgement (documentation), the rest are derived from the installed packages. Page downloads are measured from the benchmark pages\' network responses where a page loaded the library.',
      ...features.frameworks.filter((f) => f.error).map((f) => `${f.name}: not loaded (${f.error.split('\n')[0]})`)], frameworks: fw };
}

/** MLP browser/native rows for the tree: each wasm engine against Kiln native on the same cell and thread count. */
function mlpRatioRows(mlpRows) {
  const out = [];
  for (const r of mlpRows) {
    if (r.environment === 'native') continue;
    const threads = r.engine === 'kiln-wasm-threaded' ? 2 : 1;
    const nat = mlpRows.find((n) => n.environment === 'native' && n.engine === `kiln-native-${threads}t` && n.depth === r.depth && n.width === r.width);
    if (!nat || !r.infer_ms_per_sample_b1 || !nat.infer_ms_per_sample_b1) continue;
    out.push({ kind: 'mlp', pair: `${r.engine} (${r.environment}) vs Kiln native`, browser: r.engine, native: nat.engine, environment: r.environment,
      model: `MLP d${r.depth} w${r.width}`, depth: r.depth, width: r.width, threads, ratio: r.infer_ms_per_sample_b1 / nat.infer_ms_per_sample_b1,
      gmacs: mlpGmacs(r.depth, r.width) });
  }
  return out;
}

export function buildStudy(raw) {
  const problems = [], missing = [], notes = [];
  const mlp = mlpPart(raw.mlp, problems, missing, notes);
  const onnx = onnxPart(raw.onnx, problems, missing);
  const keras = kerasPart(raw.keras, raw.onnx, problems, missing, notes);
  const t1 = table1(raw.features, missing, measuredDownloads(raw));
  for (const s of raw.run?.steps ?? []) if (s.error) problems.push(`step ${s.name}: ${s.error}`);
  const mlpThreads = { id: 'finding8-mlp', title: 'Finding 8: speed-up from 1 to 2 threads, MLP training (Kiln)',
    head: ['model', 'native', 'wasm (Node)', 'wasm (Chromium)'],
    rows: (mlp.cells ?? []).map((c) => {
      const t = (env, e) => mlp.rows.find((r) => r.environment === env && r.engine === e && cellName(r) === c)?.train_ms_per_batch;
      const sp = (a, b) => (a && b ? a / b : null);
      return [c, sp(t('native', 'kiln-native-1t'), t('native', 'kiln-native-2t')), sp(t('node', 'kiln-wasm-single'), t('node', 'kiln-wasm-threaded')),
        sp(t('chromium', 'kiln-wasm-single'), t('chromium', 'kiln-wasm-threaded'))];
    }), notes: ['TF.js\'s wasm backend uses threads only where the page is cross-origin isolated; its cpu backend, brain.js, synaptic and ConvNetJS are single-threaded JavaScript.'] };
  const study = {
    generated: new Date().toISOString(), mode: raw.run?.mode ?? null, machine: raw.run?.machine ?? raw.mlp?.machine ?? null,
    steps: raw.run?.steps ?? [], chromium: raw.mlp?.machine?.chromium ?? null,
    gpus: [...(raw.mlp?.engines ?? []).filter((e) => e.info?.gpu).map((e) => `${e.engine} (${e.environment}): ${e.info.gpu}`), ...keras.gpus, ...onnx.gpus],
    tables: [t1, ...mlp.tables, ...keras.tables, ...onnx.tables, mlpThreads].filter(Boolean),
    figures: [...mlp.figures, ...keras.figures, ...onnx.figures],
    ratioRows: [...onnx.ratioRows, ...keras.ratioRows, ...mlpRatioRows(mlp.rows)],
    problems, missing, notes,
  };
  study.findings = findings({ study, mlp, table1: t1 });
  return study;
}
