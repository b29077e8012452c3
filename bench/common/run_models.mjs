// The timing loop shared by every engine of a model benchmark (Node and page):
// the generalized form of bench/mlp/common.mjs's runGrid, over named model
// specs instead of an MLP depth x width grid, at any batch size. The timing
// itself is measure.mjs (bench/mlp/common.mjs's measure() plus an optional
// time budget: warm-up, runs of k calls, median).
import { round } from '../mlp/common.mjs';
import { measure } from './measure.mjs';

/**
 * Runs every model with an engine adapter:
 *   adapter.name
 *   adapter.check?(spec) -> null, or { error | skipped: reason } to record
 *     without building (a layer the engine lacks)
 *   adapter.build(spec, data) -> model handle (built, compiled, warmed up)
 *   adapter.train(handle) -> loss (number or Promise of one): one training step on data.x / data.y
 *   adapter.predict(handle, { batch: 1 | data.batch, index }) -> output values
 *     (forces completion); index names data.samples[index] or data.batches[index]
 *   adapter.dispose(handle)
 * `dataFor(spec)` gives each model its data (see data.mjs). Returns one record
 * per model (each also passed to `onRecord` as soon as it is complete, so a
 * caller can keep partial results); an error is recorded, never thrown.
 */
export async function runModels(adapter, { specs, dataFor, protocol, log = () => {}, onRecord = () => {} }) {
  const results = [];
  for (const spec of specs) {
    const rec = { model: spec.id };
    const t0 = performance.now();
    const verdict = adapter.check ? adapter.check(spec) : null;
    if (verdict) {
      Object.assign(rec, verdict);
      log(`${adapter.name} ${spec.id}: ${verdict.error ? 'ERROR' : 'skipped'}: ${verdict.error ?? verdict.skipped}`);
      results.push(rec);
      onRecord(rec, results);
      continue;
    }
    let model = null;
    try {
      const data = dataFor(spec);
      const tb = performance.now();
      model = await adapter.build(spec, data);
      rec.build_ms = round(performance.now() - tb);
      // Training and inference are measured separately: an engine that cannot
      // train a model (a missing gradient kernel) still gets inference numbers.
      let train = null, lossAfter;
      try {
        train = await measure(() => adapter.train(model), protocol);
        lossAfter = Number(await adapter.train(model));
      } catch (e) {
        rec.train_error = String(e && e.stack ? e.stack : e);
        log(`${adapter.name} ${spec.id}: training ERROR ${e && e.message ? e.message : e}`);
      }
      rec.train_wall_ms = Math.round(performance.now() - tb);
      let k = 0;
      const nb = data.batches.length, ns = data.samples.length;
      const b1 = await measure(() => adapter.predict(model, { batch: 1, index: k++ % ns }), protocol);
      const bN = await measure(() => adapter.predict(model, { batch: data.batch, index: k++ % nb }), protocol);
      const out = await adapter.predict(model, { batch: 1, index: 0 });
      Object.assign(rec, {
        batch: data.batch,
        train_ms_per_batch: train ? round(train.ms) : null,
        infer_ms_per_sample_b1: round(b1.ms),
        infer_ms_per_sample_bN: round(bN.ms / data.batch),
        iters: { train: train?.iters ?? null, b1: b1.iters, bN: bN.iters },
        reps: { train: train?.reps ?? null, b1: b1.reps, bN: bN.reps },
        samples_ms: { train: train ? train.samples.map(round) : null, b1: b1.samples.map(round), bN: bN.samples.map((s) => round(s / data.batch)) },
        loss_after: train ? round(lossAfter) : null,
        output_sum_b1: round(Array.from(out).reduce((a, b) => a + b, 0)),
      });
      log(`${adapter.name} ${spec.id}: train ${rec.train_ms_per_batch} ms/batch, b1 ${rec.infer_ms_per_sample_b1} ms, ` +
        `b${data.batch} ${rec.infer_ms_per_sample_bN} ms/sample, loss ${rec.loss_after}`);
    } catch (e) {
      rec.error = String(e && e.stack ? e.stack : e);
      log(`${adapter.name} ${spec.id}: ERROR ${e && e.message ? e.message : e}`);
    } finally {
      if (model) {
        try { await adapter.dispose(model); } catch { /* ignore */ }
      }
    }
    rec.wall_ms = Math.round(performance.now() - t0);
    results.push(rec);
    onRecord(rec, results);
  }
  return results;
}
