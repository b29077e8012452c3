// Runs inside a page (via page.evaluate): the API checks that must hold in a
// browser too. Returns a summary; throws on the first failure. Every engine
// call is awaited, so `kiln` may be the module or kiln/worker's engine (the
// same checks run both ways).
export async function inPageChecks(kiln) {
  const fail = (msg) => { throw new Error(msg); };
  const values = async (tensorPromise) => (await tensorPromise).data();
  const info = await kiln.backendInfo();
  const x = await kiln.tensor(Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)), [8, 5]);
  const y = await kiln.tensor(Float32Array.from({ length: 24 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)), [8, 3]);
  const model = await kiln.sequential({ seed: 3, layers: [
    await kiln.layers.dense({ units: 16, activation: 'relu', inputShape: [5] }),
    await kiln.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  await model.compile({ optimizer: await kiln.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const h = await model.fit(x, y, { epochs: 50, batchSize: 4 });
  if (!(h.history.loss[49] < h.history.loss[0])) fail(`loss did not fall: ${h.history.loss[0]} -> ${h.history.loss[49]}`);
  const bytes = await model.save({ includeOptimizer: true });
  const loaded = await kiln.loadModel(bytes);
  const a = await values(model.predict(x)), b = await values(loaded.predict(x));
  for (let i = 0; i < a.length; i++) if (Object.is(a[i], b[i]) === false) fail(`round trip differs at ${i}`);
  const errors = [];
  for (const bad of [bytes.slice(0, 30), bytes.slice(0, bytes.length - 1), Uint8Array.from({ length: 500 }, (_, i) => (i * 37) & 255)]) {
    try { await kiln.loadModel(bad); errors.push('accepted'); } catch (e) { errors.push(e.message); }
  }
  if (!errors.every((m) => /invalid Kiln model file/.test(m))) fail(`bad files: ${errors.join(' | ')}`);
  // Still working after the rejected files.
  const again = await values(model.predict(x));
  for (let i = 0; i < a.length; i++) if (again[i] !== a[i]) fail('module state changed after bad files');
  // The reference backend (plain kernels, memory of its own) predicts the same in the page.
  await kiln.setBackend('reference');
  let onReference, placed;
  try {
    onReference = await values(model.predict(x));
    placed = (await model.placement()).find((p) => p.plan === 'predict').steps;
  } finally {
    await kiln.setBackend('cpu');
  }
  for (let i = 0; i < a.length; i++) if (!(Math.abs(onReference[i] - a[i]) <= 1e-5)) fail(`reference backend differs at ${i}`);
  if (!placed.some((s) => s.backend === 'reference') || !placed.some((s) => s.op === 'Copy')) fail('placement: no reference steps or copies');
  return { info, firstLoss: h.history.loss[0], lastLoss: h.history.loss[49], fileBytes: bytes.length, errors,
           isolated: self.crossOriginIsolated };
}

// The ops API, autograd and heap-resident tensors in the page (the module
// itself, not kiln/worker: functions cannot cross to a worker). Gradients
// against the closed forms; tensors left behind are counted.
export async function inPageAutogradChecks(kiln) {
  const fail = (msg) => { throw new Error(msg); };
  const before = kiln.memory().numTensors;
  const x = kiln.tensor([0.5, -1, 2]);
  // d/dx sum(x^2 + sin x) = 2x + cos x
  const g = kiln.grad((a) => kiln.sum(kiln.add(kiln.square(a), kiln.sin(a))))(x);
  const gv = await g.data();
  [0.5, -1, 2].forEach((v, i) => { if (!(Math.abs(gv[i] - (2 * v + Math.cos(v))) < 1e-5)) fail(`grad ${i}: ${gv[i]}`); });
  // A result stays in the wasm heap until read.
  const y = kiln.exp(x);
  if (y.storage.location !== 'wasm') fail(`an op's result lives in '${y.storage.location}'`);
  // Fit y = 3x - 1 with two variables and minimize().
  const zero = kiln.scalar(0);
  const w = kiln.variable(zero), b = kiln.variable(zero);
  const xs = kiln.tensor([-1, 0, 1, 2]), ys = kiln.tensor([-4, -1, 2, 5]);
  const opt = kiln.train.sgd(0.1);
  for (let i = 0; i < 200; i++) opt.minimize(() => kiln.losses.meanSquaredError(ys, kiln.add(kiln.mul(xs, w), b)));
  const [wv, bv] = [(await w.data())[0], (await b.data())[0]];
  if (!(Math.abs(wv - 3) < 1e-3 && Math.abs(bv + 1) < 1e-3)) fail(`minimize fitted w ${wv}, b ${bv}`);
  kiln.dispose([x, g, y, w, b, xs, ys, zero]);
  const left = kiln.memory().numTensors - before;
  if (left !== 0) fail(`${left} tensors left behind`);
  return { w: wv, b: bv };
}
