// Fine-tuning an imported ONNX graph op by op (kiln.onnx.loadGraph): the
// initializers are kiln.Variables, apply() runs every node through the ops
// API under the model's opset, and optimizer.minimize() trains them with the
// op set's gradients. The PyTorch CNN of scripts/make_finetune_fixtures.py
// (build/finetune, `make fixtures`): its outputs, and its losses and weights
// over 10 steps of SGD and of Adam, against PyTorch's within 1e-5 relative;
// a variable left out of the list does not move. Then a graph the Layers
// translation cannot take (Gather, an attention-style MatMul and softmax)
// learns through the same path, and what cannot run op by op is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as kiln from 'kiln';
import { ready, relError } from './helpers.mjs';
import { bytes, x, y, expected, IMAGE } from './finetune_fixture.mjs';

await ready();

// PyTorch's weights as Kiln's layers hold them (the fixture's layout), in the ONNX initializers' layout.
const TO_ONNX = {
  'c1.weight': ['c1/kernel', [3, 3, 3, 8], [3, 2, 0, 1]], 'c1.bias': ['c1/bias'],
  'dw.weight': ['dw/depthwise_kernel', [3, 3, 8, 1], [2, 3, 0, 1]], 'dw.bias': ['dw/bias'],
  'pw.weight': ['pw/kernel', [1, 1, 8, 8], [3, 2, 0, 1]], 'pw.bias': ['pw/bias'],
  'fc.weight': ['fc/kernel', [72, 10], [1, 0]], 'fc.bias': ['fc/bias'],
};
const onnxLayout = (weights, name) => {
  const [key, shape, perm] = TO_ONNX[name];
  return perm ? kiln.transpose(kiln.tensor(weights[key], shape), perm).dataSync() : Float32Array.from(weights[key]);
};

test('a PyTorch CNN loaded as a graph predicts what PyTorch does', async () => {
  const g = await kiln.onnx.loadGraph(bytes);
  assert.equal(g.opset, 13);
  assert.deepEqual(g.inputs, [{ name: 'image', dtype: 'float32', shape: [null, 3, 12, 12] }]);
  assert.deepEqual(Object.keys(g.variables), Object.keys(TO_ONNX));
  const out = g.apply(kiln.tensor(x.subarray(0, 8 * IMAGE), [8, 3, 12, 12]));
  assert.ok(relError(out.dataSync(), expected.forward) < 1e-5);
  g.dispose();
});

for (const run of expected.runs) {
  test(`10 steps of ${run.name} on the graph match PyTorch`, async (t) => {
    const g = await kiln.onnx.loadGraph(bytes);
    const frozen = new Set(run.frozen.flatMap((layer) => [`${layer}.weight`, `${layer}.bias`]));
    const trained = Object.entries(g.variables).filter(([name]) => !frozen.has(name)).map(([, v]) => v);
    const frozenBefore = [...frozen].map((name) => g.variables[name].dataSync().slice());
    const optimizer = run.optimizer === 'adam' ? kiln.train.adam(0.001) : kiln.train.sgd(0.1);
    let worstLoss = 0;
    for (let step = 0; step < 10; step++) {
      const xb = kiln.tensor(x.subarray(step * 8 * IMAGE, (step + 1) * 8 * IMAGE), [8, 3, 12, 12]);
      const yb = kiln.tensor(y.subarray(step * 80, (step + 1) * 80), [8, 10]);
      const cost = optimizer.minimize(() => kiln.neg(kiln.mean(kiln.sum(kiln.mul(yb, kiln.log(g.apply(xb))), 1))), true, trained);
      worstLoss = Math.max(worstLoss, Math.abs(cost.dataSync()[0] - run.losses[step]) / Math.abs(run.losses[step]));
      kiln.dispose([xb, yb, cost]);
    }
    let worstWeight = 0;
    for (const name of Object.keys(TO_ONNX)) worstWeight = Math.max(worstWeight, relError(g.variables[name].dataSync(), onnxLayout(run.weights, name)));
    t.diagnostic(`${run.name}: worst relative error, losses ${worstLoss.toExponential(2)}, weights ${worstWeight.toExponential(2)}`);
    assert.ok(worstLoss < 1e-5, `loss error ${worstLoss}`);
    assert.ok(worstWeight < 1e-5, `weight error ${worstWeight}`);
    [...frozen].forEach((name, i) => assert.deepEqual(g.variables[name].dataSync(), frozenBefore[i], `${name} moved while left out`));
    g.dispose();
  });
}

// A tiny ONNX model written here: embedding Gather, scaled dot-product
// attention (MatMul, Transpose, Div, Softmax), ReduceMean pooling, Gemm head.
function attentionModel() {
  const { varint, bytesField, str, tensor, node, valueInfo, attrInt } = onnxWriter();
  const emb = tensor('emb', 1, [6, 4], Float32Array.from({ length: 24 }, (_, i) => Math.sin(i + 1) * 0.5));
  const wq = tensor('wq', 1, [4, 4], Float32Array.from({ length: 16 }, (_, i) => Math.cos(i) * 0.4));
  const head = tensor('head', 1, [2, 4], Float32Array.from({ length: 8 }, (_, i) => (i % 3) * 0.2 - 0.2));
  const bias = tensor('bias', 1, [2], Float32Array.from([0.1, -0.1]));
  const scale = tensor('scale', 1, [], Float32Array.from([2]));
  const axes = tensor('axes', 7, [1], new BigInt64Array([1n]));
  const nodes = [
    node('Gather', ['emb', 'ids'], ['e']), node('MatMul', ['e', 'wq'], ['q']),
    node('Transpose', ['e'], ['et'], [attrInt('perm', [0, 2, 1], true)]), node('MatMul', ['q', 'et'], ['s']),
    node('Div', ['s', 'scale'], ['ss']), node('Softmax', ['ss'], ['a'], [attrInt('axis', -1)]), node('MatMul', ['a', 'e'], ['c']),
    node('ReduceMean', ['c', 'axes'], ['p'], [attrInt('keepdims', 0)]), node('Gemm', ['p', 'head', 'bias'], ['logits'], [attrInt('transB', 1)]),
  ];
  const graph = [
    ...nodes.map((n) => bytesField(1, n)), bytesField(2, str('attention')),
    ...[emb, wq, head, bias, scale, axes].map((t) => bytesField(5, t)),
    bytesField(11, valueInfo('ids', 7, [null, 3])), bytesField(12, valueInfo('logits', 1, [null, 2])),
  ];
  return new Uint8Array([...varint(8), ...varint(8), ...bytesField(7, graph.flat()), ...bytesField(8, [...bytesField(1, str('')), ...varint(2 << 3), ...varint(18)])]);
}

// Just enough protobuf to write a ModelProto (onnx.proto field numbers).
function onnxWriter() {
  const varint = (v) => { const out = []; let n = BigInt.asUintN(64, BigInt(v)); do { let b = Number(n & 0x7fn); n >>= 7n; if (n) b |= 0x80; out.push(b); } while (n); return out; };
  const bytesField = (field, body) => [...varint((field << 3) | 2), ...varint(body.length), ...body];
  const str = (s) => [...new TextEncoder().encode(s)];
  const tensor = (name, type, dims, values) => [
    ...dims.flatMap((d) => [...varint(1 << 3), ...varint(d)]), ...varint(2 << 3), ...varint(type),
    ...bytesField(8, str(name)), ...bytesField(9, [...new Uint8Array(values.buffer)])];
  const attrInt = (name, v, list = false) => [...bytesField(1, str(name)),
    ...(list ? v.flatMap((x) => [...varint(8 << 3), ...varint(x)]) : [...varint(3 << 3), ...varint(v)]), ...varint(20 << 3), ...varint(list ? 7 : 2)];
  const node = (op, inputs, outputs, attrs = []) => [...inputs.flatMap((i) => bytesField(1, str(i))), ...outputs.flatMap((o) => bytesField(2, str(o))),
    ...bytesField(4, str(op)), ...attrs.flatMap((a) => bytesField(5, a))];
  const valueInfo = (name, type, shape) => [...bytesField(1, str(name)), ...bytesField(2, bytesField(1, [...varint(1 << 3), ...varint(type),
    ...bytesField(2, shape.flatMap((d) => bytesField(1, d === null ? bytesField(2, str('batch')) : [...varint(1 << 3), ...varint(d)])))]))];
  return { varint, bytesField, str, tensor, node, valueInfo, attrInt };
}

test('a graph the Layers translation cannot take (embedding, attention) learns through loadGraph', async () => {
  const model = attentionModel();
  await assert.rejects(kiln.onnx.loadModel(model), /Gather/);
  const g = await kiln.onnx.loadGraph(model);
  // The graph's forward pass agrees with the inference runtime.
  const session = await kiln.onnx.load(model);
  const ids = kiln.tensor(BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 5n, 1n, 3n, 5n, 0n, 2n, 4n]), [4, 3], 'int64');
  const want = (await session.run({ ids })).logits.dataSync();
  assert.ok(relError(g.apply(ids).dataSync(), want) < 1e-5);
  // Labels: whether token 5 is in the sequence; Adam on every variable.
  const labels = kiln.tensor([[0, 1], [1, 0], [0, 1], [1, 0]]);
  const optimizer = kiln.train.adam(0.05);
  const loss = () => kiln.losses.softmaxCrossEntropy(labels, g.apply(ids));
  const first = optimizer.minimize(loss, true).dataSync()[0];
  for (let i = 0; i < 60; i++) optimizer.minimize(loss);
  const last = loss().dataSync()[0];
  assert.ok(last < first / 4, `loss ${first} -> ${last}`);
  assert.ok(Object.keys(g.variables).sort().join() === 'bias,emb,head,scale,wq', Object.keys(g.variables).join());
  g.dispose();
});

// BatchNormalization (inference form), squared and averaged: a scalar.
function batchNormModel() {
  const { varint, bytesField, str, tensor, node, valueInfo, attrInt } = onnxWriter();
  const gamma = tensor('gamma', 1, [2], Float32Array.from([1.5, -0.5]));
  const beta = tensor('beta', 1, [2], Float32Array.from([0.2, 0.4]));
  const mean = tensor('mean', 1, [2], Float32Array.from([0.1, -0.3]));
  const variance = tensor('var', 1, [2], Float32Array.from([0.8, 1.7]));
  const nodes = [node('BatchNormalization', ['x', 'gamma', 'beta', 'mean', 'var'], ['y']), node('Mul', ['y', 'y'], ['y2']), node('ReduceMean', ['y2'], ['loss'], [attrInt('keepdims', 0)])];
  const graph = [
    ...nodes.map((n) => bytesField(1, n)), bytesField(2, str('bn')), ...[gamma, beta, mean, variance].map((t) => bytesField(5, t)),
    bytesField(11, valueInfo('x', 1, [null, 2, 3, 3])), bytesField(12, valueInfo('loss', 1, [])),
  ];
  return new Uint8Array([...varint(8), ...varint(8), ...bytesField(7, graph.flat()), ...bytesField(8, [...bytesField(1, str('')), ...varint(2 << 3), ...varint(18)])]);
}

test('a batch-normalized graph: its statistics stay fixed, scale and shift gradients match finite differences', async () => {
  const g = await kiln.onnx.loadGraph(batchNormModel());
  assert.deepEqual(Object.fromEntries(Object.entries(g.variables).map(([k, v]) => [k, v.trainable])), { gamma: true, beta: true, mean: false, var: false });
  const x = kiln.tensor(Array.from({ length: 36 }, (_, i) => Math.sin(i * 0.9) * 2), [2, 2, 3, 3]);
  const loss = () => g.apply(x);
  const { grads } = kiln.variableGrads(loss);
  // By variable name: the graph's variables are named after their initializers, prefixed per graph.
  assert.deepEqual(Object.keys(grads).sort(), [g.variables.beta.name, g.variables.gamma.name]);
  for (const name of ['gamma', 'beta']) {
    const v = g.variables[name], base = Array.from(v.dataSync()), analytic = grads[v.name].dataSync();
    base.forEach((b, i) => {
      const at = (d) => {
        v.assign(kiln.tensor(base.map((u, k) => (k === i ? u + d : u))));
        return loss().dataSync()[0];
      };
      const numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
      v.assign(kiln.tensor(base));
      assert.ok(Math.abs(analytic[i] - numeric) < 1e-2 * Math.max(1, Math.abs(numeric)), `${name}[${i}]: ${analytic[i]} vs ${numeric}`);
    });
  }
  g.dispose();
});

test('loadGraph refuses what cannot run op by op, naming it, and stays usable', async () => {
  const loop = new Uint8Array(await readFile('/usr/share/libonnx-testdata/data/node/test_loop11/model.onnx'));
  await assert.rejects(kiln.onnx.loadGraph(loop), /subgraph/);
  await assert.rejects(kiln.onnx.loadGraph(bytes.subarray(0, 100)), /onnx\.loadGraph/);
  const g = await kiln.onnx.loadGraph(bytes);
  assert.throws(() => g.apply({}), /input 'image' is missing/);
  assert.throws(() => g.apply({ image: kiln.zeros([1, 3, 12, 12]), other: kiln.zeros([1]) }), /no input 'other'/);
  assert.throws(() => g.apply(kiln.zeros([1, 2, 12, 12])), /Conv node '.*': channels do not match/);
  assert.equal(g.apply(kiln.zeros([1, 3, 12, 12])).shape[1], 10);
  g.dispose();
  assert.throws(() => g.apply(kiln.zeros([1, 3, 12, 12])), /disposed/);
});
