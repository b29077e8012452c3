// Aggregation, ratios and the markdown report of the ONNX benchmark (bench/run_onnx.mjs).
import { errLine, fmt, fmtRatio, table } from '../common/markdown.mjs';
import { ENGINES, median } from './models.mjs';

// Kiln wasm faster than onnxruntime-web (same threads) on every model; Kiln in
// the browser within 2.5x of onnxruntime-node (same threads).
export const TARGETS = { kilnWasmOverOrtWeb: 1.0, kilnWasmOverOrtNode: 2.5 };
const FIELDS = ['median_ms', 'load_ms', 'peak_rss_kib', 'rss_base_kib', 'init_ms', 'fetch_ms', 'session_ms', 'first_run_ms', 'import_ms'];

/** One entry per engine, thread count and model: medians over the repeats that finished. */
export function aggregate(runs) {
  const groups = new Map();
  for (const r of runs) {
    const key = `${r.engine}|${r.threads}|${r.model}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  return [...groups.values()].map((rs) => {
    const ok = rs.filter((r) => !r.error && !r.skipped);
    const e = { engine: rs[0].engine, env: rs[0].env, threads: rs[0].threads, model: rs[0].model, runs: rs.length, ok: ok.length,
      errors: rs.filter((r) => r.error).map((r) => String(r.error).split('\n')[0]), skipped: rs.filter((r) => r.skipped).length };
    for (const f of FIELDS) e[f] = median(ok.map((r) => r[f]));
    e.latencyPerRun = ok.map((r) => r.median_ms);
    e.max_rel_err = ok.length ? Math.max(...ok.map((r) => r.max_rel_err ?? 0)) : null;
    e.variant = ok.find((r) => r.info?.variant)?.info.variant ?? null;
    e.version = ok.find((r) => r.version || r.info?.version)?.version ?? ok.find((r) => r.info?.version)?.info.version ?? null;
    return e;
  });
}

const find = (summary, engine, threads, model) => summary.find((s) => s.engine === engine && s.threads === threads && s.model === model && s.ok);
const ratio = (a, b, field = 'median_ms') => (a && b && a[field] && b[field] ? a[field] / b[field] : null);

/** Latency (and load) ratios per model and thread count. */
export function computeRatios(summary, { models, threads }) {
  const out = [];
  for (const model of models) for (const t of threads) {
    const g = (e) => find(summary, e, t, model);
    const [kw, ow, kn, on, pt] = ['kiln-wasm', 'ort-web', 'kiln-native', 'ort-node', 'pytorch'].map(g);
    out.push({
      model, threads: t,
      kilnWasmOverOrtWeb: ratio(kw, ow), kilnWasmOverOrtNode: ratio(kw, on), kilnNativeOverOrtNode: ratio(kn, on), kilnNativeOverPytorch: ratio(kn, pt),
      loadKilnWasmOverOrtWeb: ratio(kw, ow, 'load_ms'), loadKilnNativeOverOrtNode: ratio(kn, on, 'load_ms'),
    });
  }
  return out;
}

const mib = (kib) => (kib ? kib / 1024 : null);
const verdict = (x, limit) => (x === null ? 'n/a' : x <= limit ? 'yes' : 'no');

export function renderMarkdown(doc) {
  const { machine: m, protocol: p, summary, ratios, models } = doc;
  const modelIds = Object.keys(models);
  const configs = [];
  for (const e of Object.keys(doc.engines)) for (const t of doc.engines[e].gpu ? doc.threads.slice(0, 1) : doc.threads) configs.push({ e, t });
  const label = ({ e, t }) => `${ENGINES[e]?.title ?? e}, ${t} thread${t > 1 ? 's' : ''}`;
  const grid = (field, conv = (x) => x, spread = false) => table(['engine', ...modelIds.map((id) => models[id].title)],
    configs.map((c) => [label(c), ...modelIds.map((id) => {
      const s = find(summary, c.e, c.t, id);
      if (s && spread && s.latencyPerRun.length > 1)
        return `${fmt(conv(s[field]))} <sub>${fmt(Math.min(...s.latencyPerRun))}–${fmt(Math.max(...s.latencyPerRun))}</sub>`;
      const tried = summary.find((x) => x.engine === c.e && x.threads === c.t && x.model === id);
      return s ? fmt(conv(s[field])) : tried ? (tried.skipped === tried.runs ? 'skipped (time budget)' : 'failed') : '—';
    })]));
  const loads = doc.runs.map((r) => r.loadavg?.before).filter(Number.isFinite);
  const lines = [];
  lines.push('# ONNX inference benchmark: Kiln vs ONNX Runtime (Web and Node) and PyTorch', '');
  lines.push(`Generated ${doc.generated} by \`${doc.command}\` (${doc.mode} mode, ${(doc.wallMs / 60000).toFixed(1)} min); raw results: \`${doc.jsonPath}\`. ` +
    'Re-run with `make bench-onnx` or `node bench/run_onnx.mjs` (`KILN_BENCH_QUICK=1` or `--quick` for a smoke run); ' +
    '`node bench/run_onnx.mjs --render bench/results/onnx.json` re-renders this page.', '');
  if (doc.partial) lines.push(`**Partial run:** ${doc.partial.measurements} of ${doc.partial.of ?? '?'} measurements were done when these results were written (the run was interrupted or is still going).`, '');
  lines.push('## What is measured', '');
  lines.push('- **Models**: torchvision ' + modelIds.map((id) => `${models[id].title} (${models[id].input.join('×')})`).join(', ') +
    ', exported to ONNX (opset 13) by `scripts/make_torchvision_models.py` (random seeded weights, calibrated BatchNorm statistics). Batch 1, float32.');
  lines.push('- **Engines**: Kiln wasm in headless Chromium (1 thread: the single-threaded build `kiln-st`; 2 threads: the pthreads build `kiln-mt`; Chromium validates relaxed SIMD, so `kiln.ready()` loads their relaxed-SIMD builds, `kiln-st-relaxed` / `kiln-mt-relaxed`, whose GEMM kernel is the fused multiply-add `wasm_relaxed_simd_4x8`: the JSON records the kernel of every run), ' +
    `onnxruntime-web ${m.onnxruntimeWeb ?? '?'} (\`ort.wasm.min.mjs\`, wasm EP, \`graphOptimizationLevel: 'all'\`, \`ort.env.wasm.numThreads\` = 1 or 2, no proxy worker), ` +
    `Kiln native (C++ \`kiln::onnx::Session\`, \`bench/native_onnx_bench.cc\`), onnxruntime-node ${m.onnxruntimeNode ?? '?'} (CPU EP, \`intraOpNumThreads\` = 1 or 2, \`interOpNumThreads\` 1, optimization level all), ` +
    (doc.engines['ort-webgpu'] ? 'onnxruntime-web\'s WebGPU EP (`ort.webgpu.min.mjs`; the adapter it ran on is in the JSON: without a GPU, SwiftShader\'s software adapter; first repeat only, a time budget per page and per run, models past it skipped), ' : '') +
    'PyTorch CPU (`torch.set_num_threads`; the same torchvision model rebuilt with the export script\'s seed and calibration, checked equal to the exported model\'s PyTorch output, traced to TorchScript, then frozen and passed through torch.jit.optimize_for_inference as PyTorch\'s CPU deployment advice says).');
  lines.push(`- **Latency**: the median of ${p.iters} timed runs (one input image, output read back) after the first run and ${p.warmup} warm-up runs; ` +
    `each engine, model and thread count runs in a fresh process (a fresh Chromium for the browser), ${p.repeats} time(s), interleaved model by model ` +
    '(all engines on one model back to back, the order reversed every other repeat); the tables show the median over the repeats.');
  lines.push('- **Load to first result**: native, Node and PyTorch: from the model file\'s bytes in memory to the first output (Node includes `import(\'onnxruntime-node\')`; ' +
    'PyTorch is `torch.jit.load` of the TorchScript bytes). Browser: from importing the engine\'s JS (its wasm fetched and compiled from the local server), ' +
    'through fetching the .onnx from the local server and creating the session, to the first output. The parts are in the JSON (`init_ms`, `fetch_ms`, `session_ms`, `first_run_ms`).');
  lines.push('- **Peak memory**: native, Node, PyTorch: the process\'s peak resident set (VmHWM / ru_maxrss), which includes each runtime\'s own baseline ' +
    '(the RSS before the model was read is in the JSON as `rss_base_kib`). Browser: the largest VmHWM of the fresh Chromium\'s renderer processes ' +
    '(the page and its wasm worker threads live in one renderer), sampled from /proc by the driver; a blank page\'s renderer peaks at ' +
    `${fmt(mib(median(doc.blankPage.map((b) => b.peak_rss_kib))))} MiB here.`);
  lines.push('- **Download size**: gzip -9 of the JS and wasm files the page actually loaded for the engine (from the page\'s resource timing list).');
  lines.push('- Every run checks its output against PyTorch\'s (largest |difference| / largest |output|); all are in the JSON (`max_rel_err`).', '');
  lines.push('## Machine', '');
  lines.push(`${m.cpuModel}, ${m.logicalCpus} logical CPUs, ${m.memGiB} GiB; ${m.os}; Node ${m.node}; Chromium ${m.chromium ?? 'n/a'}; ` +
    `PyTorch ${summary.find((s) => s.engine === 'pytorch' && s.version)?.version ?? 'n/a'} (Debian's build: generic BLAS, AVX2 kernels).`);
  const git = doc.build?.git;
  if (git) lines.push(`Kiln measured: commit ${git.commit ?? '?'}` + (git.uncommittedSourceChanges?.length
    ? ` plus uncommitted changes to ${git.uncommittedSourceChanges.length} source file(s) (${git.uncommittedSourceChanges.map((l) => l.slice(3)).join(', ')})` : ', no uncommitted source changes') +
    ` (lib/ and the native binary as built when the run started${doc.build.snapshot ? ', copied then' : ''}).`);
  lines.push(`Load average (1 min) at the start ${m.loadavgStart?.[0]?.toFixed(2)}, at the end ${m.loadavgEnd?.[0]?.toFixed(2)}; ` +
    (loads.length ? `before each measurement: median ${median(loads).toFixed(2)}, range ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}. ` : '') +
    'The machine is shared (other builds run on it), so absolute times are noisy; the ratios compare engines measured side by side.');
  if (loads.length && median(loads) > m.logicalCpus)
    lines.push(`**The load average was above the ${m.logicalCpus} CPUs for most of this run**: the 2-thread measurements competed with other processes ` +
      'for the cores and are often slower than the 1-thread ones (OpenMP-based PyTorch suffers most: some of its 2-thread runs stall for seconds); ' +
      'the 1-thread rows are the steadier comparison, and the small ranges under the latencies show the spread between repeats.');
  lines.push('');
  lines.push('## Latency, batch 1 (median ms, lower is better)', '');
  if (p.repeats > 1) lines.push(`The median over ${p.repeats} fresh processes / browsers; small: the lowest and highest of their medians.`, '');
  lines.push(grid('median_ms', (x) => x, true), '');
  const ptGap = modelIds.map((id) => [id, ratio(find(summary, 'pytorch', 1, id), find(summary, 'pytorch', 2, id))]).filter(([, r]) => r !== null && r > 3);
  if (ptGap.length)
    lines.push(`PyTorch on 1 thread is ${ptGap.map(([id, r]) => `${fmtRatio(r)} (${models[id].title})`).join(', ')} slower than on 2 threads, far more than a second core ` +
      'explains (the TorchScript model is frozen and optimized for inference, so oneDNN runs its convolutions at either count).', '');
  lines.push('## Ratios (latency; below 1 means Kiln is faster)', '');
  lines.push(table(['model', 'threads', 'Kiln wasm / ORT Web', 'Kiln wasm (Chromium) / onnxruntime-node', 'Kiln native / onnxruntime-node', 'Kiln native / PyTorch'],
    ratios.map((r) => [models[r.model].title, String(r.threads), fmtRatio(r.kilnWasmOverOrtWeb), fmtRatio(r.kilnWasmOverOrtNode),
      fmtRatio(r.kilnNativeOverOrtNode), fmtRatio(r.kilnNativeOverPytorch)])), '');
  lines.push('### Targets', '');
  lines.push(table(['model', 'threads', `Kiln faster than ORT Web (ratio < ${TARGETS.kilnWasmOverOrtWeb})`, `Kiln browser within ${TARGETS.kilnWasmOverOrtNode}× of onnxruntime-node`],
    ratios.map((r) => [models[r.model].title, String(r.threads), `${verdict(r.kilnWasmOverOrtWeb, TARGETS.kilnWasmOverOrtWeb - 1e-12)} (${fmtRatio(r.kilnWasmOverOrtWeb)})`,
      `${verdict(r.kilnWasmOverOrtNode, TARGETS.kilnWasmOverOrtNode)} (${fmtRatio(r.kilnWasmOverOrtNode)})`]), ['---', '---:', '---', '---']), '');
  const met = (k, lim) => {
    const have = ratios.filter((r) => r[k] !== null);
    if (!have.length) return 'n/a (not measured)';
    const bad = have.filter((r) => !(r[k] < lim));
    return bad.length ? `not met (${bad.length} of ${have.length} model × thread cases miss it)` : `met (all ${have.length} cases)`;
  };
  lines.push(`Kiln faster than ORT Web on every model and thread count: **${met('kilnWasmOverOrtWeb', TARGETS.kilnWasmOverOrtWeb)}**. ` +
    `Kiln in the browser within ${TARGETS.kilnWasmOverOrtNode}× of onnxruntime-node everywhere: **${met('kilnWasmOverOrtNode', TARGETS.kilnWasmOverOrtNode + 1e-12)}**.`, '');
  lines.push('## Load to first result (median ms)', '', grid('load_ms'), '', 'Ratios (below 1 means Kiln is first):', '');
  lines.push(table(['model', 'threads', 'Kiln wasm / ORT Web', 'Kiln native / onnxruntime-node'],
    ratios.map((r) => [models[r.model].title, String(r.threads), fmtRatio(r.loadKilnWasmOverOrtWeb), fmtRatio(r.loadKilnNativeOverOrtNode)])), '');
  lines.push('## Peak memory (MiB; see above for what each figure is)', '', grid('peak_rss_kib', mib), '');
  lines.push('Resident set before the model was read (MiB, native / Node / PyTorch): ' + ['kiln-native', 'ort-node', 'pytorch'].map((e) => {
    const v = summary.filter((s) => s.engine === e && s.rss_base_kib).map((s) => s.rss_base_kib);
    return `${ENGINES[e].title} ${v.length ? fmt(mib(median(v))) : 'n/a'}`;
  }).join(', ') + '.', '');
  lines.push('## Download size (what a page needs for the engine)', '');
  lines.push(table(['engine', 'files', 'bytes', 'gzip -9 bytes'], Object.values(doc.downloads).map((d) =>
    [label({ e: d.engine, t: d.threads }), d.files.map((f) => `\`${f.split('/').pop()}\``).join(', '), String(d.bytes ?? d.rawBytes), String(d.gzipBytes)])), '');
    lines.push('## Problems', '');
  lines.push(doc.problems.length ? doc.problems.map((x) => `- ${errLine(x, 300)}`).join('\n') : 'None: every run finished and matched PyTorch\'s output.', '');
  if (doc.notes?.length) lines.push('Notes (expected console messages): ' + doc.notes.map((n) => errLine(n, 200)).join('; '), '');
  return lines.join('\n');
}
