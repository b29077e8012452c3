// measure() with a time budget: the generalized form of bench/mlp/common.mjs's
// measure(). With `warmupMs` and `budgetMs` absent it does exactly what that
// one does. The budget keeps engines whose calls take seconds (TF.js cpu and
// SwiftShader webgl on the LSTM) from dominating a run's wall time:
//   - warm-up: `warmupIters` untimed calls, but stop early (after at least
//     one) once the warm-up has taken `warmupMs`;
//   - one timed call picks k = ceil(targetMs / its time), clamped to
//     [minIters, maxIters] (so a run lasts about targetMs);
//   - then `reps` runs of k calls, reduced (to no fewer than `minReps`) so that
//     the runs take about `budgetMs` in all.
// Returns { ms: median over runs of (run time / k), samples, iters, reps }.
import { median } from '../mlp/common.mjs';

const now = () => performance.now();

export async function measure(fn, protocol) {
  const { reps, targetMs, minIters, maxIters, warmupIters, warmupMs = Infinity, budgetMs = Infinity, minReps = reps } = protocol;
  const w0 = now();
  for (let i = 0; i < warmupIters; i++) {
    await fn();
    if (now() - w0 >= warmupMs) break;
  }
  let t0 = now();
  await fn();
  const estimate = Math.max(now() - t0, 1e-3);
  const iters = Math.max(minIters, Math.min(maxIters, Math.ceil(targetMs / estimate)));
  const runs = Math.max(Math.min(reps, minReps), Math.min(reps, Math.floor(budgetMs / (estimate * iters))));
  const samples = [];
  for (let rep = 0; rep < runs; rep++) {
    t0 = now();
    for (let i = 0; i < iters; i++) await fn();
    samples.push((now() - t0) / iters);
  }
  return { ms: median(samples), samples, iters, reps: runs };
}
