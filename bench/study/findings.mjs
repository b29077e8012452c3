// The study's eight findings, revisited by rules over this run's data: each
// returns what the study found, what today's numbers say (text built from the
// numbers, never written by hand) and Kiln's answer to the implication.
const f2 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const geomean = (xs) => (xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : null);
const num = (c) => (typeof c === 'number' ? c : null);

function f1({ table1 }) {
  if (!table1) return { today: 'Table 1 was not produced.', holds: null };
  const full = table1.frameworks.filter((f) => f.training?.value && f.dnn?.value && f.cnn?.value && f.rnn?.value).map((f) => f.name);
  const all = table1.frameworks.map((f) => f.name);
  return {
    today: `${full.length} of ${all.length} frameworks measured here train DNNs, CNNs and RNNs: ${full.join(', ') || 'none'}; ` +
      `the others (${all.filter((n) => !full.includes(n)).join(', ')}) cover a subset or only inference.`,
    holds: full.length < all.length,
    kiln: full.includes('Kiln') ? 'Kiln trains all three and imports TF.js layers/graph models and ONNX.' : 'Kiln does not cover all three here.',
  };
}

function f2_({ mlp }) {
  const rows = mlp.rows ?? [];
  const depths = [...new Set(rows.map((r) => r.depth))].sort((a, b) => a - b);
  const widths = [...new Set(rows.map((r) => r.width))].sort((a, b) => a - b);
  if (depths.length < 2 || widths.length < 2) return { today: 'Too few MLP cells were measured to compare width with depth (a quick run measures one).', holds: null };
  const [d0, d1] = [depths[0], depths.at(-1)], [w0, w1] = [widths[0], widths.at(-1)];
  const per = [];
  for (const e of mlp.engines) {
    const t = (d, w) => rows.find((r) => r.environment === e.environment && r.engine === e.engine && r.depth === d && r.width === w)?.train_ms_per_batch;
    const base = t(d0, w0), wide = t(d0, w1), deep = t(d1, w0);
    if (base && wide && deep) per.push({ label: e.label, width: wide / base, depth: deep / base });
  }
  const widthWins = per.filter((p) => p.width > p.depth);
  const kiln = per.filter((p) => /Kiln/.test(p.label));
  return {
    today: `Going from width ${w0} to ${w1} multiplies the training time per batch by ${f2(geomean(per.map((p) => p.width)))}x (geometric mean over ${per.length} engines); ` +
      `going from depth ${d0} to ${d1} by ${f2(geomean(per.map((p) => p.depth)))}x. Width costs more for ${widthWins.length} of ${per.length} engines.`,
    holds: widthWins.length > per.length / 2,
    kiln: kiln.length ? `Kiln: width x${f2(geomean(kiln.map((p) => p.width)))}, depth x${f2(geomean(kiln.map((p) => p.depth)))} (its GEMM kernels scale with width; a fixed per-layer cost shows as depth).` : 'no Kiln rows',
    evidence: per,
  };
}

function f3({ study }) {
  const t = study.tables.find((x) => x.id === 'finding3-mlp');
  const o = study.tables.find((x) => x.id === 'finding3-onnx');
  const k = study.tables.find((x) => x.id === 'finding3-keras');
  const rows = [...(t?.rows ?? []).map((r) => ({ label: r[0], lib: num(r[1]), build: num(r[2]), first: num(r[3]), steady: num(r[4]) })),
    ...(o?.rows ?? []).map((r) => ({ label: `${r[1]} ${r[0]}`, lib: null, build: num(r[2]), first: num(r[3]), steady: num(r[4]) })),
    ...(k?.rows ?? []).map((r) => ({ label: `${r[1]} ${r[0]}`, lib: num(r[2]), build: num(r[3]), first: num(r[4]), steady: num(r[5]) }))];
  const ok = rows.filter((r) => r.steady && (r.first || r.build));
  if (!ok.length) return { today: 'No loading or warm-up figures were measured.', holds: null };
  const loadMore = ok.filter((r) => (r.lib ?? 0) + (r.build ?? 0) + (r.first ?? 0) > r.steady);
  const firstRatio = ok.filter((r) => r.first).map((r) => r.first / r.steady);
  const kiln = ok.filter((r) => /Kiln/.test(r.label));
  return {
    today: `Loading (library, model) and the first inference take longer than one steady inference for ${loadMore.length} of ${ok.length} engine/model pairs; ` +
      `the first inference is ${f2(geomean(firstRatio))}x a steady one (geometric mean; range ${f2(Math.min(...firstRatio))}x to ${f2(Math.max(...firstRatio))}x).`,
    holds: loadMore.length > ok.length / 2,
    kiln: kiln.length ? `Kiln's first inference is ${f2(geomean(kiln.filter((r) => r.first).map((r) => r.first / r.steady)))}x a steady one; model.warmup() and plans built at compile move that cost out of the first call.` : 'no Kiln rows',
  };
}

/** 'SwiftShader', 'llvmpipe', ...: the software renderers named in the GPU labels, once each. */
const softwareNames = (labels) => [...new Set(labels.map((g) => /SwiftShader|llvmpipe|lavapipe/i.exec(g)[0]).map((n) => (/swiftshader/i.test(n) ? 'SwiftShader' : n)))].join(' and ');

function gpuFinding(study, which) {
  const software = study.gpus.filter((g) => /SwiftShader|llvmpipe|lavapipe/i.test(g));
  const hardware = study.gpus.filter((g) => !/SwiftShader|llvmpipe|lavapipe/i.test(g));
  const webgl = (study.figures.find((f) => f.id === 'fig1')?.series ?? []).find((s) => s.engine === 'tfjs-webgl');
  const native = (study.figures.find((f) => f.id === 'fig1')?.series ?? []).find((s) => s.engine === 'kiln-native-1t');
  let cmp = '';
  if (webgl && native) {
    const r = webgl.points.map((p, i) => (p.y && native.points[i]?.y ? p.y / native.points[i].y : null)).filter(Boolean);
    if (r.length) cmp = ` TF.js on WebGL trains the MLPs ${f2(geomean(r))}x slower than Kiln native on one CPU core (geometric mean).`;
  }
  // The CNNs: each GPU backend against onnxruntime-node on one CPU core, same architecture.
  const gpuRows = (study.ratioRows ?? []).filter((r) => ['tfjs-webgl', 'tfjs-webgpu', 'ort-webgpu'].includes(r.browser) && r.native === 'ort-node');
  for (const b of [...new Set(gpuRows.map((r) => r.browser))]) {
    const rs = gpuRows.filter((r) => r.browser === b);
    cmp += ` ${rs[0].pair.split(' (')[0].split(' vs ')[0]} runs ${rs.map((r) => `${r.model} ${f2(r.ratio)}x`).join(', ')} the time of onnxruntime-node on one CPU core.`;
  }
  if (!hardware.length)
    return { today: `No hardware GPU was used in this run${software.length ? `: WebGL and WebGPU ran on ${softwareNames(software)} (software)` : ''}, ` +
      `so ${which} cannot be answered here.${cmp} Run make study on a machine with a GPU.`, holds: null,
      kiln: 'Kiln has no GPU backend yet (the WebGPU backend is issue #12).' };
  return { today: `GPU used: ${[...new Set(hardware)].join('; ')}.${cmp}`, holds: null, kiln: 'Kiln has no GPU backend yet (the WebGPU backend is issue #12).' };
}

function f6({ study }) {
  const t = study.tables.find((x) => x.id === 'table3');
  if (!t) return { today: 'No model files were saved.', holds: null };
  const col = (re) => t.head.findIndex((h) => re.test(h));
  const kilnCol = col(/^Kiln binary/), jsonCols = t.head.map((h, i) => (/JSON/.test(h) && !/layers format/.test(h) ? i : -1)).filter((i) => i > 0);
  const tfCol = col(/^TF\.js layers format/);
  const ratios = [];
  for (const r of t.rows) for (const c of jsonCols) if (num(r[c]) && num(r[kilnCol])) ratios.push({ fmt: t.head[c], ratio: r[c] / r[kilnCol] });
  if (!ratios.length) return { today: 'No JSON and binary files of the same model were saved.', holds: null };
  const byFmt = [...new Set(ratios.map((r) => r.fmt))].map((fmt) => `${fmt.split(' (')[0]} ${f2(geomean(ratios.filter((r) => r.fmt === fmt).map((r) => r.ratio)))}x`);
  const tfVsKiln = t.rows.map((r) => (num(r[tfCol]) && num(r[kilnCol]) ? r[tfCol] / r[kilnCol] : null)).filter(Boolean);
  return {
    today: `JSON model files are larger than Kiln's binary file of the same MLP: ${byFmt.join(', ')} (geometric means over the grid).`,
    holds: geomean(ratios.map((r) => r.ratio)) > 2,
    kiln: `Kiln saves binary float32 weights; its TF.js-format files (JSON topology + binary weights) are ${f2(geomean(tfVsKiln))}x its own.`,
  };
}

function f7({ mlp }) {
  const rows = mlp.rows ?? [];
  const small = rows.filter((r) => r.depth === Math.min(...rows.map((x) => x.depth)) && r.width === Math.min(...rows.map((x) => x.width)) && r.environment !== 'native');
  if (!small.length) return { today: 'No MLP inference was measured.', holds: null };
  const sorted = small.filter((r) => r.infer_ms_per_sample_b1).sort((a, b) => a.infer_ms_per_sample_b1 - b.infer_ms_per_sample_b1);
  const lbl = (r) => `${r.engine} (${r.environment}) ${f2(r.infer_ms_per_sample_b1 * 1000)} µs`;
  const tf = sorted.find((r) => r.engine === 'tfjs-cpu'), cj = sorted.find((r) => r.engine === 'convnetjs');
  return {
    today: `On the smallest MLP at batch 1, where the fixed cost of a call dominates: fastest ${sorted.slice(0, 3).map(lbl).join(', ')}; slowest ${sorted.slice(-2).map(lbl).join(', ')}.` +
      (tf && cj ? ` TF.js cpu takes ${f2(tf.infer_ms_per_sample_b1 / cj.infer_ms_per_sample_b1)}x ConvNetJS's time.` : ''),
    holds: tf && cj ? tf.infer_ms_per_sample_b1 > cj.infer_ms_per_sample_b1 : null,
    kiln: 'Kiln runs a predict() as one precompiled plan in one call into wasm, with no per-layer JavaScript.',
  };
}

function f8({ study }) {
  const m = study.tables.find((x) => x.id === 'finding8-mlp');
  const o = study.tables.find((x) => x.id === 'finding8-onnx');
  const k = study.tables.find((x) => x.id === 'finding8-keras');
  const vals = (t, col) => (t?.rows ?? []).map((r) => num(r[col])).filter(Boolean);
  const parts = [];
  if (m) for (let c = 1; c < m.head.length; c++) { const v = vals(m, c); if (v.length) parts.push(`Kiln ${m.head[c]} MLP training ${f2(geomean(v))}x`); }
  if (o) for (let c = 1; c < o.head.length; c++) { const v = vals(o, c); if (v.length) parts.push(`${o.head[c]} on the ImageNet CNNs ${f2(geomean(v))}x`); }
  if (k) for (let c = 1; c < k.head.length; c++) { const v = vals(k, c); if (v.length) parts.push(`${k.head[c]} on the Keras models in Chromium ${f2(geomean(v))}x`); }
  const mem = study.tables.find((x) => x.id === 'finding3-onnx');
  const kmem = study.tables.find((x) => x.id === 'finding3-keras');
  const peak = [...(mem?.rows ?? []).filter((r) => num(r[6])).map((r) => `${r[1]} ${r[0]} ${f2(r[6])} MiB`),
    ...(kmem?.rows ?? []).filter((r) => num(r[7]) && r[0] === kmem.rows.at(-1)[0]).map((r) => `${r[1]} ${r[0]} ${f2(r[7])} MiB`)];
  if (!parts.length) return { today: 'No thread scaling was measured.', holds: null };
  return {
    today: `Speed-up from 1 to 2 threads (geometric means): ${parts.join('; ')}. TF.js's wasm backend takes one thread on a 2-CPU machine unless the page reports more cores (its pool is half the logical cores). ` +
      `Peak memory: ${peak.slice(0, 6).join(', ') || 'not measured'}.`,
    holds: null,
    kiln: 'Kiln uses every core natively and in wasm (threads where the page is cross-origin isolated); memory is planned per model, with no fixed cap.',
  };
}

const STUDY = [
  'Browser frameworks are emerging but most support only a subset of tasks.',
  'Model width dominates training and inference cost.',
  'Loading and warming up cost more than inference itself.',
  'With a standalone GPU, TF.js is comparable to native TF for MobileNet and Inception.',
  'TF.js on an integrated GPU beats native TF on CPU.',
  'JSON model files are about 7x larger than binary and load much slower.',
  "TF.js's call stack is much deeper than ConvNetJS's and costs time.",
  'JavaScript uses one core on the CPU backend; GPU memory was capped near 1 GB.',
];

export function findings(ctx) {
  const rules = [f1, f2_, f3, (c) => gpuFinding(c.study, 'whether a GPU in the browser is comparable to native'),
    (c) => gpuFinding(c.study, 'whether a small GPU beats native CPU'), f6, f7, f8];
  return rules.map((rule, i) => {
    let r;
    try { r = rule(ctx); } catch (e) { r = { today: `rule failed: ${e.message}`, holds: null }; }
    return { n: i + 1, study: STUDY[i], today: r.today, holds: r.holds ?? null, kiln: r.kiln ?? '' };
  });
}
