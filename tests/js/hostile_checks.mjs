// Hostile and broken input through the public API (issue #15), shared by the
// Node test (tests/js/hostile_input.test.mjs) and the page test
// (tests/browser/hostile_input.test.mjs): each case must end in a clear error
// that names what was wrong, and the same module must then give the same
// answer to a normal call as before. `files` maps fixture names
// (tests/fixtures/hostile/*.onnx, onnx_models/cnn.onnx, onnx_models/mlp.onnx) to bytes.
export async function hostileChecks(kiln, files) {
  const fail = (msg) => { throw new Error(msg); };
  const done = [];
  const rejects = async (what, fn, pattern) => {
    let message = null;
    try { await fn(); } catch (e) { message = String(e?.message ?? e); }
    if (message === null) fail(`${what}: no error`);
    if (!pattern.test(message)) fail(`${what}: the error '${message}' does not match ${pattern}`);
    done.push(what);
  };
  const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

  // A normal model's answer, taken again after every hostile call.
  const cnn = await kiln.onnx.load(files.cnn);
  const cnnInput = cnn.inputs[0];
  const shape = cnnInput.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 2));
  const x = kiln.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(0.1 * i)), shape);
  const answer = async () => Array.from((await cnn.run({ [cnnInput.name]: x }))[cnn.outputs[0].name].dataSync());
  const before = await answer();
  const stillWorks = async (after) => { if (!same(await answer(), before)) fail(`the module answers differently after ${after}`); };

  // ONNX files: sizes that wrap in wasm32, allocations no heap holds, axes on scalars, broken graphs.
  const scalar = kiln.tensor([2], []);
  const cases = [
    ['fill_4gib', null, /ConstantOfShape node 'fill'.*shape \[1073741824\] is negative or too large for float32 values/],
    ['fill_almost_4gib', null, /ConstantOfShape node 'fill'.*out of memory: a float32 tensor of shape \[1073740800\] needs 4294963216 bytes/],
    ['argmax_scalar', { x: scalar }, /ArgMax node 'argmax': axis 0 is out of range for rank 0/],
    ['cumsum_scalar', { x: scalar }, /CumSum node 'cumsum': axis 0 is out of range for rank 0/],
    ['split_scalar', { x: scalar }, /Split node 'split': axis 0 is out of range for rank 0/],
    ['reshape_overflow', { x: kiln.tensor([1, 2, 3, 4], [4]) }, /Reshape node 'reshape': shape .* has too many elements/],
    ['topk_one_output', null, /node 'topk' \(TopK\) has 1 outputs; TopK gives 2/],
    ['gemm_one_input', null, /node 'gemm' \(Gemm\) has 1 inputs; Gemm takes 2 to 3/],
    // The value fits; the kernel's float64 working copy does not (an abort before).
    ['reduce_copy_too_big', { n: kiln.tensor(new BigInt64Array([480000000n]), [1], 'int64') },
      /ReduceMax node 'reduce'.*out of memory: a float64 copy of the values of 480000000 elements needs 3840000000 bytes/],
  ];
  for (const [name, feeds, pattern] of cases) {
    await rejects(`onnx ${name}`, async () => {
      const s = await kiln.onnx.load(files[name]);
      try { await s.run(feeds ?? {}); } finally { s.dispose(); }
    }, pattern);
    await stillWorks(name);
  }

  // A zero-size batch runs to empty outputs.
  const mlp = await kiln.onnx.load(files.mlp);
  const features = mlp.inputs[0].shape[1];
  const empty = (await mlp.run({ [mlp.inputs[0].name]: kiln.tensor(new Float32Array(0), [0, features]) }))[mlp.outputs[0].name];
  if (empty.shape[0] !== 0 || empty.size !== 0) fail(`zero-size batch gave shape [${empty.shape}]`);
  mlp.dispose();
  done.push('onnx zero-size batch');

  // Layers models.
  const model = () => {
    const m = kiln.sequential({ seed: 5, layers: [
      kiln.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }),
      kiln.layers.dense({ units: 3, activation: 'softmax' }),
    ] });
    m.compile({ optimizer: kiln.train.adam(0.05), loss: 'categoricalCrossentropy' });
    return m;
  };
  const xs = kiln.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)), [16, 4]);
  const ys = kiln.tensor(Float32Array.from({ length: 48 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)), [16, 3]);
  const weightsOf = (m) => m.getWeights().map((w) => Array.from(w.dataSync()));
  const sameWeights = (a, b) => a.length === b.length && a.every((w, i) => same(w, b[i]));

  await rejects('config units 1e21', () => kiln.sequential({ layers: [kiln.layers.dense({ units: 1e21, inputShape: [4] })] }).predict(xs),
    /units.*1e\+21/);

  // A fit that fails in its second epoch leaves the weights and optimizer state it found.
  const m = model();
  await m.fit(xs, ys, { epochs: 1, batchSize: 4 });
  const w0 = weightsOf(m);
  const saved0 = await m.save({ includeOptimizer: true });
  await rejects('fit failing in epoch 2', () => m.fit(xs, ys, { epochs: 3, batchSize: 4, callbacks: {
    onEpochEnd: (epoch) => { if (epoch === 1) throw new Error('stop in epoch 2'); } } }), /stop in epoch 2/);
  if (!sameWeights(weightsOf(m), w0)) fail('a failed fit changed the weights');
  if (!same(Array.from(await m.save({ includeOptimizer: true })), Array.from(saved0))) fail('a failed fit changed the optimizer state');

  // Freezing a layer from a callback is refused (what fit saved to undo a
  // failure is the trainable state at its start): the fit fails, nothing moves.
  await rejects('trainable changed during fit', () => m.fit(xs, ys, { epochs: 2, batchSize: 4, callbacks: {
    onEpochEnd: () => { m.layers[0].trainable = false; } } }), /trainable cannot change while fit or trainOnBatch runs/);
  if (!sameWeights(weightsOf(m), w0)) fail('a fit failed by a trainable change changed the weights');
  if (!m.layers[0].trainable) fail('a refused trainable change was kept');

  // setWeights with NaN: refused, nothing written.
  const bad = m.getWeights().map((w, i) => (i === 2 ? kiln.tensor(Float32Array.from(w.dataSync(), (v, k) => (k === 1 ? NaN : v)), w.shape) : w));
  await rejects('setWeights with NaN', () => m.setWeights(bad), /setWeights: weight 2 \(.*\) holds NaN at index 1/);
  if (!sameWeights(weightsOf(m), w0)) fail('a refused setWeights changed the weights');

  // Tensors keep their shape: the core sizes its reads by it.
  await rejects('changing a tensor dimension', () => { xs.shape[0] = 1000; }, /read only|read-only|Cannot assign/);
  await rejects('replacing a tensor shape', () => { xs.shape = [1000, 4]; }, /read only|read-only|Cannot assign/);
  if (typeof ArrayBuffer.prototype.resize === 'function') {
    const buffer = new ArrayBuffer(64 * 4, { maxByteLength: 64 * 4 });
    const shrinking = kiln.tensor(new Float32Array(buffer), [16, 4]);
    buffer.resize(8);
    await rejects('a tensor whose buffer shrank', () => m.predict(shrinking), /its data now holds 2 values but its shape \[16,4\] needs 64/);
  }

  // dispose() during fit is refused and fit completes; predict after dispose is refused.
  const busy = model();
  let disposeError = null;
  await busy.fit(xs, ys, { epochs: 2, batchSize: 4, callbacks: { onEpochEnd: () => {
    try { busy.dispose(); } catch (e) { disposeError = e.message; } } } });
  if (!/dispose: the model is training/.test(disposeError ?? '')) fail(`dispose during fit: ${disposeError}`);
  done.push('dispose during fit');
  busy.dispose();
  await rejects('predict after dispose', () => busy.predict(xs), /the model was disposed/);

  await stillWorks('the Layers cases');
  const check = m.predict(xs).dataSync();
  if (!check.every(Number.isFinite)) fail('the model no longer predicts');
  cnn.dispose();
  return done;
}
