// Shared by every engine of the MLP benchmark, in Node and in the page: the
// grid, the seeded data, and the timing protocol. No Node or DOM imports.

export const INPUT = 784;
export const CLASSES = 10;
export const BATCH = 64;
export const LEARNING_RATE = 0.01;
export const SEED = 20240611;

export const FULL_GRID = { depths: [1, 2, 4, 8], widths: [64, 128, 256] };
export const QUICK_GRID = { depths: [1, 4], widths: [64, 256] };

/**
 * Timing settings. Each measurement is `reps` runs; a run repeats the call
 * enough times to last about `targetMs` (at least `minIters`), and the run's
 * time divided by its iterations is one sample. The reported value is the
 * median of the samples.
 */
export const FULL_PROTOCOL = { reps: 7, targetMs: 120, minIters: 3, maxIters: 400, warmupIters: 5 };
export const QUICK_PROTOCOL = { reps: 5, targetMs: 50, minIters: 2, maxIters: 200, warmupIters: 3 };

export function cellsOf(grid) {
  const cells = [];
  for (const depth of grid.depths) for (const width of grid.widths) cells.push({ depth, width });
  return cells;
}

/** mulberry32 (web/random.js): a small deterministic PRNG, so every engine sees the same data. */
import { mulberry32 as rng } from '../../web/random.js';
export { rng };

/** Distinct inputs that predict() cycles through, so no engine can reuse a previous answer. */
export const DISTINCT_BATCHES = 2;
export const DISTINCT_SAMPLES = 16;

/**
 * From the fixed seed: one training batch (x in [0, 1), one-hot y), the
 * batches predict() cycles through at batch 64 (the first is x) and the
 * single samples it cycles through at batch 1.
 */
export function makeData(seed = SEED) {
  const r = rng(seed);
  const batches = [];
  for (let b = 0; b < DISTINCT_BATCHES; b++) {
    const xb = new Float32Array(BATCH * INPUT);
    for (let i = 0; i < xb.length; i++) xb[i] = r();
    batches.push(xb);
  }
  const y = new Float32Array(BATCH * CLASSES);
  for (let i = 0; i < BATCH; i++) y[i * CLASSES + Math.floor(r() * CLASSES)] = 1;
  const samples = [];
  for (let k = 0; k < DISTINCT_SAMPLES; k++) samples.push(batches[1].slice(k * INPUT, (k + 1) * INPUT));
  return { x: batches[0], y, batches, samples };
}

import { median } from '../common/stats.mjs';
export { median };

const now = () => performance.now();
const SLOW_PATH_MS = 2000;

/**
 * Times `fn` (sync or async) following the protocol and returns
 * { ms: median ms per call, samples, iters }. `fn` is first called
 * `warmupIters` times; one more timed call picks the iteration count.
 */
export async function measure(fn, protocol) {
  const { reps, targetMs, minIters, maxIters, warmupIters } = protocol;
  let t0 = now();
  await fn();
  const first = now() - t0;
  // A call much longer than the target (the per-sample JS peers on wide
  // models take seconds a batch) is timed once per sample after that one
  // warm-up call: three samples, or fewer once they add up to 2 s (synaptic
  // takes 10 s a batch on the widest cells), at least one.
  if (first > 8 * targetMs) {
    const samples = [];
    const tSlow = now();
    for (let rep = 0; rep < Math.min(reps, 3) && (rep === 0 || now() - tSlow < SLOW_PATH_MS); rep++) {
      t0 = now();
      await fn();
      samples.push(now() - t0);
    }
    return { ms: median(samples), samples, iters: 1 };
  }
  for (let i = 1; i < warmupIters; i++) await fn();
  t0 = now();
  await fn();
  const estimate = Math.max(now() - t0, 1e-3);
  const iters = Math.max(minIters, Math.min(maxIters, Math.ceil(targetMs / estimate)));
  const samples = [];
  for (let rep = 0; rep < reps; rep++) {
    t0 = now();
    for (let i = 0; i < iters; i++) await fn();
    samples.push((now() - t0) / iters);
  }
  return { ms: median(samples), samples, iters };
}

const spread = (samples, per = 1) => [round(Math.min(...samples) / per), round(Math.max(...samples) / per)];

/**
 * Saves `model` through `io.withSaveHandler` (TF.js's or Kiln's) and returns the bytes the TF.js
 * layers format takes: model.json (topology + weights manifest) plus weights.bin.
 */
export async function tfjsFormatBytes(model, io) {
  let bytes = 0;
  await model.save(io.withSaveHandler(async (a) => {
    const json = JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] });
    bytes = new TextEncoder().encode(json).length + a.weightData.byteLength;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return bytes;
}

/** Rounds for JSON output (keeps 4 significant digits). */
export function round(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? x : Number(x.toPrecision(4));
}

/**
 * Runs every cell with an engine adapter:
 *   adapter.build(cell, data) -> model handle (built, compiled, warmed up)
 *   adapter.train(model, data) -> Promise<loss number> (one trainOnBatch); absent for an inference-only engine
 *   adapter.predict(model, input) -> output values (forces completion); input is
 *     { batch: 1 | 64, index } naming data.samples[index] or data.batches[index]
 *   adapter.dispose(model)
 *   adapter.save(model) -> { format name: bytes } (optional: the saved model's size)
 * Also records the build time and the first predict() after it (the warm-up).
 * Returns one record per cell; an error in a cell is recorded, not thrown.
 * Cells that start after `budgetMs` are recorded as skipped (the slow
 * per-sample peers would otherwise take the whole benchmark's time).
 */
export async function runGrid(adapter, { cells, protocol, log = () => {}, budgetMs = Infinity }) {
  const data = makeData();
  const results = [];
  const deadline = now() + budgetMs;
  for (const cell of cells) {
    const rec = { depth: cell.depth, width: cell.width };
    if (now() > deadline) {
      rec.skipped = `the engine's time budget (${Math.round(budgetMs / 1000)} s) was spent on the cells before`;
      log(`${adapter.name} d${cell.depth} w${cell.width}: skipped (time budget)`);
      results.push(rec);
      continue;
    }
    let model = null;
    try {
      let t0 = now();
      model = await adapter.build(cell, data);
      const buildMs = now() - t0;
      // The first call after the build: warm-up (lazy allocation, compilation, planning).
      t0 = now();
      await adapter.predict(model, { batch: 1, index: 0 });
      const firstPredictMs = now() - t0;
      const train = adapter.train ? await measure(() => adapter.train(model, data), protocol) : null;
      const lossAfter = adapter.train ? await adapter.train(model, data) : null;
      let k = 0;
      const b1 = await measure(() => adapter.predict(model, { batch: 1, index: k++ % DISTINCT_SAMPLES }), protocol);
      const b64 = await measure(() => adapter.predict(model, { batch: BATCH, index: k++ % DISTINCT_BATCHES }), protocol);
      const out = await adapter.predict(model, { batch: 1, index: 0 });
      Object.assign(rec, {
        train_ms_per_batch: train ? round(train.ms) : null,
        infer_ms_per_sample_b1: round(b1.ms),
        infer_ms_per_sample_b64: round(b64.ms / BATCH),
        iters: { train: train?.iters ?? null, b1: b1.iters, b64: b64.iters },
        // The spread of the samples behind each median: [min, max].
        range: { train: train ? spread(train.samples) : null, b1: spread(b1.samples), b64: spread(b64.samples, BATCH) },
        reps: (train ?? b1).samples.length,
        loss_after: round(lossAfter),
        output_sum_b1: round(Array.from(out).reduce((a, b) => a + b, 0)),
        build_ms: round(buildMs),
        first_predict_ms: round(firstPredictMs),
      });
      // The trained model saved in the engine's own format(s): { format: bytes }.
      if (adapter.save) rec.saved_bytes = await adapter.save(model);
      log(`${adapter.name} d${cell.depth} w${cell.width}: train ${rec.train_ms_per_batch ?? '(inference only)'} ms/batch, ` +
        `b1 ${rec.infer_ms_per_sample_b1} ms, b64 ${rec.infer_ms_per_sample_b64} ms/sample`);
    } catch (e) {
      rec.error = String(e && e.stack ? e.stack : e);
      log(`${adapter.name} d${cell.depth} w${cell.width}: ERROR ${e && e.message ? e.message : e}`);
    } finally {
      if (model) {
        try { adapter.dispose(model); } catch { /* ignore */ }
      }
    }
    results.push(rec);
  }
  return results;
}
