// Loading helpers shared by the benchmark pages (they run in the browser).

/** Runs a classic script (TF.js's tf.min.js and its wasm backend define globals). */
export function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

/** The bytes at `url`, or an error naming it and the HTTP status. */
export async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The network responses this page has had so far (resource timing), as { path, encodedBodySize }. */
export function pageResources() {
  return performance.getEntriesByType('resource').map((r) => ({ path: new URL(r.name).pathname, encodedBodySize: r.encodedBodySize }));
}

/**
 * Times `run` (after the caller's first call): up to `warmup` untimed calls, then up to `iters` timed
 * ones. With a budget (seconds; TF.js cpu and software GPU adapters take seconds per call) no more
 * than fit in it, warm-ups within its first quarter, but at least `minWarmup` and `minTimed`.
 * @returns { samples (ms per timed call), warmupRuns }
 */
export async function timeWithinBudget(run, { warmup, iters, budget = Infinity, minWarmup = 0, minTimed = 2 }) {
  const t0 = performance.now();
  const spent = () => (performance.now() - t0) / 1000;
  let warmupRuns = 0;
  while (warmupRuns < warmup && (warmupRuns < minWarmup || spent() < budget / 4)) { await run(); warmupRuns++; }
  const samples = [];
  while (samples.length < iters && (samples.length < minTimed || spent() < budget)) {
    const t = performance.now();
    await run();
    samples.push(performance.now() - t);
  }
  return { samples, warmupRuns };
}
