// The study report (make study; bench/run_study.mjs): built from the raw JSON
// of the latest full run committed under bench/results/study-<date>/, the
// page renders in headless Chromium with data in every figure and a value in
// every table row; the check catches a figure or a row without data; the
// findings' rules follow the numbers; Table 3's Kiln file sizes match the
// models' parameter counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { buildStudy } from '../../bench/study/data.mjs';
import { findings } from '../../bench/study/findings.mjs';
import { renderHtml } from '../../bench/study/report.mjs';
import { checkReport } from '../../bench/study/check_report.mjs';

const RESULTS = new URL('../../bench/results/', import.meta.url).pathname;
const latest = readdirSync(RESULTS).filter((d) => /^study-\d{4}-\d{2}-\d{2}$/.test(d)).sort().pop();
const dir = join(RESULTS, latest);
const readJson = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

function studyOfLatestRun() {
  const raw = { run: readJson('run.json'), features: readJson('features.json'), mlp: readJson('mlp.json'),
    onnx: readJson('onnx.json'), keras: readJson('keras.json') };
  const study = buildStudy(raw);
  study.tree = readJson('study.json').tree;  // fitted by bench/study/tree.py (scikit-learn) in that run
  return { raw, study };
}

async function check(study) {
  const tmp = mkdtempSync(join(os.tmpdir(), 'kiln-study-'));
  try {
    const html = join(tmp, 'report.html');
    writeFileSync(html, renderHtml(study));
    return await checkReport(html);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

test('the latest full study renders: every figure has data, every table row a value', { timeout: 60_000 }, async () => {
  const { study } = studyOfLatestRun();
  const got = await check(study);
  assert.deepEqual(got.problems, []);
  const ids = study.figures.map((f) => f.id);
  for (const id of ['fig1', 'fig4a', 'fig4b', 'fig5-t1', 'fig5-ratio']) assert.ok(ids.includes(id), `figure ${id} is missing`);
  assert.equal(got.figures, study.figures.length + 1, 'the figures and the decision tree are drawn');
  const t1 = study.tables.find((t) => t.id === 'table1');
  assert.deepEqual(t1.frameworks.map((f) => f.name), ['Kiln', 'TensorFlow.js', 'ONNX Runtime Web', 'brain.js', 'synaptic', 'ConvNetJS', 'Keras.js']);
  assert.equal(study.findings.length, 8);
  // The full grid, with every peer that trains.
  const fig1 = study.figures.find((f) => f.id === 'fig1');
  assert.equal(fig1.xLabels.length, 12);
  for (const env of ['node', 'chromium'])
    for (const e of ['brainjs', 'synaptic', 'convnetjs', 'tfjs-cpu', 'tfjs-wasm', 'kiln-wasm-single', 'kiln-wasm-threaded'])
      assert.ok(fig1.series.some((s) => s.engine === e && s.environment === env), `Figure 1 lacks ${e} in ${env}`);
  for (const e of ['kiln-native-1t', 'kiln-native-2t', 'tfjs-webgl', 'tfjs-webgpu'])
    assert.ok(fig1.series.some((s) => s.engine === e), `Figure 1 lacks ${e}`);
  // Figure 5: the five Keras models, as ONNX exports and through the Layers API, where Kiln's output matched TF.js's.
  assert.deepEqual(study.figures.find((f) => f.id === 'fig5-t1').xLabels, ['MobileNetV2', 'ResNet50', 'DenseNet121', 'InceptionV3', 'Xception']);
  const layers = study.tables.find((t) => t.id === 'keras-layers');
  assert.deepEqual(layers.rows.map((r) => r[0]), ['MobileNetV2', 'ResNet50', 'DenseNet121', 'InceptionV3', 'Xception']);
  for (const r of layers.rows) {
    assert.ok(r[7] > 0.002 && r[7] < 0.99, `${r[0]}: top probability ${r[7]}: the outputs are degenerate`);
    assert.ok(r[8] !== null && r[8] < 1e-3, `${r[0]}: Kiln's output differs from TF.js's by ${r[8]} (relative)`);
  }
});

test('the check reports a figure without data and a table row without values', { timeout: 60_000 }, async () => {
  const { study } = studyOfLatestRun();
  const fig = study.figures.find((f) => f.id === 'fig4a');
  for (const s of fig.series) for (const p of s.points) p.y = null;
  study.tables.find((t) => t.id === 'table3').rows[0] = ['d1 w64', null, null];
  const got = await check(study);
  assert.ok(got.problems.includes('figure fig4a has no data'), got.problems.join('; '));
  assert.ok(got.problems.some((p) => /table table3, row d1 w64: no values/.test(p)), got.problems.join('; '));
});

test('Table 3: a Kiln file holds the MLP\'s float32 parameters (4 bytes each, plus a small header)', () => {
  const { study } = studyOfLatestRun();
  const t3 = study.tables.find((t) => t.id === 'table3');
  const col = t3.head.findIndex((h) => /^Kiln binary/.test(h));
  for (const [cell, ...sizes] of t3.rows) {
    const [, d, w] = cell.match(/d(\d+) w(\d+)/).map(Number);
    const params = 784 * w + w + (d - 1) * (w * w + w) + w * 10 + 10;
    const mbytes = sizes[col - 1];
    assert.ok(mbytes * 1e6 >= params * 4 && mbytes * 1e6 < params * 4 * 1.01 + 4096, `${cell}: ${mbytes} MB for ${params} parameters`);
  }
});

test('the findings follow the numbers they are given', () => {
  // Finding 2: width against depth, on a synthetic grid where one of them dominates.
  const grid = (cost) => {
    const rows = [];
    for (const depth of [1, 8]) for (const width of [64, 256])
      rows.push({ environment: 'node', engine: 'x', depth, width, train_ms_per_batch: cost(depth, width) });
    return { rows, engines: [{ environment: 'node', engine: 'x', label: 'X' }] };
  };
  const empty = { tables: [], figures: [], gpus: [] };
  const byWidth = findings({ study: empty, mlp: grid((d, w) => d + w * w / 100), table1: null })[1];
  assert.equal(byWidth.holds, true);
  assert.match(byWidth.today, /Width costs more for 1 of 1 engines/);
  const byDepth = findings({ study: empty, mlp: grid((d, w) => 100 * d + w / 64), table1: null })[1];
  assert.equal(byDepth.holds, false);
  // Finding 6: a JSON file 7x the binary one.
  const t3 = { id: 'table3', head: ['model', 'Kiln binary (model.save())', 'brain.js JSON (net.toJSON)'], rows: [['d1 w64', 1, 7], ['d1 w128', 2, 14]] };
  const f6 = findings({ study: { ...empty, tables: [t3] }, mlp: { rows: [], engines: [] }, table1: null })[5];
  assert.match(f6.today, /brain\.js JSON 7\.00x/);
  assert.equal(f6.holds, true);
  // Findings 4 and 5 cannot be answered without a hardware GPU, and say so.
  const f4 = findings({ study: { ...empty, gpus: ['tfjs-webgl (chromium): ANGLE (SwiftShader driver)'] }, mlp: { rows: [], engines: [] }, table1: null })[3];
  assert.equal(f4.holds, null);
  assert.match(f4.today, /No hardware GPU/);
});
