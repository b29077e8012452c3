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
  assert.ok(fig1.series.some((s) => s.engine === 'tfjs-webgpu' && s.environment === 'node'), 'Figure 1 lacks TF.js WebGPU in Node');
  // Keras.js: inference only, in Figure 4 and not in Figure 1.
  const fig4a = study.figures.find((f) => f.id === 'fig4a');
  for (const env of ['node', 'chromium']) assert.ok(fig4a.series.some((s) => s.engine === 'kerasjs' && s.environment === env), `Figure 4 lacks Keras.js in ${env}`);
  assert.ok(!fig1.series.some((s) => s.engine === 'kerasjs'), 'Keras.js cannot train');
  // Figure 5: the five Keras models, as ONNX exports and through the Layers API, where Kiln's output matched TF.js's.
  const five = ['MobileNetV2', 'ResNet50', 'DenseNet121', 'InceptionV3', 'Xception'];
  assert.deepEqual(study.figures.find((f) => f.id === 'fig5-t1').xLabels, five);
  assert.ok(study.figures.find((f) => f.id === 'fig5-t1').series.some((s) => s.engine === 'ort-webgpu'), 'ONNX Runtime Web WebGPU is missing');
  const layersFig = study.figures.find((f) => f.id === 'fig5-layers');
  assert.deepEqual(layersFig.xLabels, five);
  for (const e of ['kiln-wasm', 'tfjs-wasm', 'tfjs-cpu', 'tfjs-webgl', 'tfjs-webgpu'])
    assert.ok(layersFig.series.some((s) => s.engine === e && s.environment === 'chromium'), `the Layers figure lacks ${e} in Chromium`);
  const layers = study.tables.find((t) => t.id === 'keras-layers');
  const col = (name) => layers.head.indexOf(name);
  assert.deepEqual(layers.rows.map((r) => r[0]), five);
  for (const r of layers.rows) {
    const top = r[col('top probability')], err = r[col('Kiln vs TF.js, max rel err')];
    assert.ok(top > 0.002 && top < 0.99, `${r[0]}: top probability ${top}: the outputs are degenerate`);
    assert.ok(err !== null && err < 1e-3, `${r[0]}: Kiln's output differs from TF.js's by ${err} (relative)`);
    for (const c of ['Kiln wasm', 'TF.js wasm', 'Kiln wasm, 2 threads', 'TF.js wasm, 2 threads']) assert.ok(r[col(c)] > 0, `${r[0]}: no ${c} time`);
  }
  // Finding 8: TF.js wasm's thread speed-up is measured (its pool is made to have two threads).
  const threads = study.tables.find((t) => t.id === 'finding8-keras');
  assert.ok(threads.rows.every((r) => r[2] > 0), 'TF.js wasm 1-to-2-thread speed-up is missing');
  // Table 1's page downloads come from the pages' network responses for the frameworks a page loaded.
  const t1page = t1.rows.find((r) => r[0] === 'page download');
  for (const [i, f] of t1.frameworks.entries()) assert.ok(t1page[i + 1].source, `${f.name}: page download has no source`);
  // Keras.js's is measured too: its MLP page loads it.
  assert.ok(t1page.slice(1).every((c) => /^measured:/.test(c.source)), 'page downloads were not all measured from network responses');
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
