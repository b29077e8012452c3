// The TF ops of the graph-model importer one by one, against TensorFlow.js
// 4.22 (cpu backend) running the same one-op graphs: every translated op with
// the attributes converters write (masks, fused activations, padding modes,
// align_corners, batch dims, ...), each both on a plain NHWC input and on the
// output of a convolution (which Kiln holds channels-first, so the layout
// bookkeeping between convolutions is checked too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as kiln from 'kiln';
import { ready, randomFloats, relError } from './helpers.mjs';

await ready();
await tf.setBackend('cpu');

const b64 = (s) => Buffer.from(s).toString('base64');
const A = {
  i: (v) => ({ i: String(v) }), f: (v) => ({ f: v }), b: (v) => ({ b: v }), s: (v) => ({ s: b64(v) }),
  type: (t) => ({ type: t }), ints: (v) => ({ list: { i: v.map(String) } }), strs: (v) => ({ list: { s: v.map(b64) } }),
};
const DT = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

/**
 * A graph: placeholder x (shape, dtype), optional conv in front (3x3 SAME,
 * C -> C channels, so the op reads a channels-first value in Kiln), constants
 * {name: {values, shape, dtype}}, the op node(s) and the outputs.
 */
function graph({ x, conv = false, consts = {}, nodes, outputs }) {
  const node = [{ name: 'x', op: 'Placeholder', attr: { dtype: A.type(DT[x.dtype ?? 'float32']), shape: { shape: { dim: x.shape.map((d) => ({ size: String(d) })) } } } }];
  const weightSpecs = [], parts = [];
  const addConst = (name, c) => {
    node.push({ name, op: 'Const', attr: { dtype: A.type(DT[c.dtype ?? 'float32']) } });
    weightSpecs.push({ name, shape: c.shape, dtype: c.dtype ?? 'float32' });
    const arr = (c.dtype ?? 'float32') === 'float32' ? Float32Array.from(c.values) : c.dtype === 'int32' ? Int32Array.from(c.values) : Uint8Array.from(c.values);
    parts.push(Buffer.from(arr.buffer));
  };
  if (conv) {
    const ch = x.shape[3];
    addConst('conv_w', { values: randomFloats(9 * ch * ch, 11).map((v) => v * 0.5), shape: [3, 3, ch, ch] });
    addConst('conv_b', { values: randomFloats(ch, 12), shape: [ch] });
    node.push({ name: 'in', op: '_FusedConv2D', input: ['x', 'conv_w', 'conv_b'], attr: {
      T: A.type('DT_FLOAT'), strides: A.ints([1, 1, 1, 1]), padding: A.s('SAME'), data_format: A.s('NHWC'),
      dilations: A.ints([1, 1, 1, 1]), fused_ops: A.strs(['BiasAdd']), num_args: A.i(1), epsilon: A.f(0) } });
  } else {
    node.push({ name: 'in', op: 'Identity', input: ['x'], attr: { T: A.type(DT[x.dtype ?? 'float32']) } });
  }
  for (const [name, c] of Object.entries(consts)) addConst(name, c);
  node.push(...nodes);
  const data = Buffer.concat(parts);
  return {
    modelTopology: { node, versions: { producer: 1 } }, format: 'graph-model', weightSpecs,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    signature: { inputs: { x: { name: 'x:0' } }, outputs: Object.fromEntries(outputs.map((o) => [o, { name: o }])) },
  };
}

function inputValues(x, seed) {
  const n = x.shape.reduce((a, b) => a * b, 1);
  const r = randomFloats(n, seed);
  if (x.dtype === 'int32') return Int32Array.from(r, (v) => Math.round(v * 7));
  if (x.positive) return r.map((v) => Math.abs(v) + 0.1);
  return r.map((v) => v * 2);
}

async function check(name, spec) {
  for (const conv of spec.x.dtype && spec.x.dtype !== 'float32' || spec.x.shape.length !== 4 || spec.noConv ? [false] : [false, true]) {
    const artifacts = graph({ ...spec, conv });
    const where = `${name}${conv ? ' after a conv' : ''}`;
    const tm = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    const km = await kiln.loadGraphModel(kiln.io.fromMemory(artifacts));
    const values = inputValues(spec.x, 3);
    const want = await tm.executeAsync(tf.tensor(values, spec.x.shape, spec.x.dtype ?? 'float32'), spec.outputs);
    const got = km.execute(kiln.tensor(values, spec.x.shape, spec.x.dtype ?? 'float32'), spec.outputs);
    const w = want instanceof tf.Tensor ? [want] : want, g = got instanceof kiln.Tensor ? [got] : got;
    assert.equal(g.length, w.length, `${where}: outputs`);
    w.forEach((t, i) => {
      assert.deepEqual(g[i].shape, t.shape, `${where}: output ${i} shape`);
      // TF.js's FloorDiv gives int32 even for floats; Kiln keeps TensorFlow's float result.
      const dtype = spec.floatFloorDiv ? 'float32' : t.dtype;
      assert.equal(g[i].dtype, dtype, `${where}: output ${i} dtype`);
      const a = Array.from(g[i].dataSync(), Number), b = Array.from(t.dataSync(), Number);
      if (dtype === 'float32') {
        // NaN where TF.js has NaN (a negative base to a fractional power), close elsewhere.
        const nan = b.map((v) => Number.isNaN(v));
        assert.deepEqual(a.map((v) => Number.isNaN(v)), nan, `${where}: output ${i} NaN positions`);
        const fa = a.filter((_, k) => !nan[k]), fb = b.filter((_, k) => !nan[k]);
        const err = fb.some((v) => v !== 0) ? relError(fa, fb) : Math.max(0, ...fa.map(Math.abs));
        assert.ok(err < 1e-4, `${where}: output ${i} relative error ${err}`);
      } else {
        assert.deepEqual(a, b, `${where}: output ${i}`);
      }
    });
    km.dispose();
  }
}

const X = { shape: [2, 5, 6, 4] };
const one = (op, attr = {}, inputs = ['in']) => ({ nodes: [{ name: 'y', op, input: inputs, attr }], outputs: ['y'] });
const T = { T: A.type('DT_FLOAT') };

test('graph ops: unary math and activations', async () => {
  for (const op of ['Abs', 'Ceil', 'Cos', 'Elu', 'Erf', 'Exp', 'Floor', 'Neg', 'Relu', 'Relu6', 'Round', 'Selu', 'Sigmoid',
    'Sign', 'Sin', 'Softplus', 'Square', 'Tanh', 'Reciprocal'])
    await check(op, { x: X, ...one(op, T) });
  for (const op of ['Log', 'Sqrt', 'Rsqrt']) await check(op, { x: { ...X, positive: true }, noConv: true, ...one(op, T) });
  // TF.js has no Softsign kernel: checked against its formula, x / (1 + |x|).
  const soft = await kiln.loadGraphModel(kiln.io.fromMemory(graph({ x: X, ...one('Softsign', T) })));
  const xs = inputValues(X, 3);
  const got = soft.predict(kiln.tensor(xs, X.shape)).dataSync();
  assert.ok(relError(got, xs.map((v) => v / (1 + Math.abs(v)))) < 1e-6, 'Softsign');
  await check('LeakyRelu', { x: X, ...one('LeakyRelu', { ...T, alpha: A.f(0.15) }) });
  await check('Prelu', { x: X, consts: { alpha: { values: [0.1, -0.2, 0.3, 0.5], shape: [4] } }, ...one('Prelu', T, ['in', 'alpha']) });
});

test('graph ops: binary math with broadcasting', async () => {
  const consts = {
    c: { values: [0.5, -1.5, 2, 0.25], shape: [4] },            // per channel
    s: { values: [1.75], shape: [] },                             // scalar
    hw: { values: randomFloats(30, 5), shape: [5, 6, 1] },         // per position
    full: { values: randomFloats(240, 6).map((v) => v + 2.5), shape: [2, 5, 6, 4] },
  };
  for (const op of ['Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference', 'Pow', 'FloorDiv', 'FloorMod'])
    for (const c of ['c', 's', 'hw', 'full']) {
      const base = op === 'Pow' ? { ...X, positive: true } : X;
      await check(`${op} by ${c}`, { x: base, consts: { [c]: consts[c] }, floatFloorDiv: op === 'FloorDiv',
        ...one(op, T, op === 'Sub' || op === 'RealDiv' ? [c, 'in'] : ['in', c]) });
    }
  await check('AddN', { x: X, nodes: [{ name: 'n', op: 'Neg', input: ['in'], attr: T }, { name: 'sq', op: 'Square', input: ['in'], attr: T },
    { name: 'y', op: 'AddN', input: ['in', 'sq', 'n'], attr: { ...T, N: A.i(3) } }], outputs: ['y'] });
  await check('BiasAdd', { x: X, consts: { c: consts.c }, ...one('BiasAdd', { ...T, data_format: A.s('NHWC') }, ['in', 'c']) });
  await check('FloorDiv int', { x: { shape: [3, 4], dtype: 'int32' }, consts: { d: { values: [3, -2, 5, 4], shape: [4], dtype: 'int32' } },
    ...one('FloorDiv', { T: A.type('DT_INT32') }, ['in', 'd']) });
  await check('FloorMod int', { x: { shape: [3, 4], dtype: 'int32' }, consts: { d: { values: [3, -2, 5, 4], shape: [4], dtype: 'int32' } },
    ...one('FloorMod', { T: A.type('DT_INT32') }, ['in', 'd']) });
});

test('graph ops: comparisons, logic, select, cast', async () => {
  const consts = { c: { values: [0.5, -0.5, 0, 1], shape: [4] } };
  for (const op of ['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual'])
    await check(op, { x: X, consts, nodes: [{ name: 'y', op, input: ['in', 'c'], attr: T },
      { name: 'z', op: 'Cast', input: ['y'], attr: { SrcT: A.type('DT_BOOL'), DstT: A.type('DT_FLOAT') } }], outputs: ['y', 'z'] });
  await check('logic and select', { x: X, consts, nodes: [
    { name: 'g', op: 'Greater', input: ['in', 'c'], attr: T },
    { name: 'l', op: 'Less', input: ['in', 'c'], attr: T },
    { name: 'and', op: 'LogicalAnd', input: ['g', 'l'] }, { name: 'or', op: 'LogicalOr', input: ['g', 'l'] },
    { name: 'not', op: 'LogicalNot', input: ['g'] },
    { name: 'sel', op: 'SelectV2', input: ['g', 'in', 'c'], attr: T },
    { name: 'neg', op: 'Neg', input: ['in'], attr: T },
    { name: 'sel1', op: 'Select', input: ['l', 'in', 'neg'], attr: T },
  ], outputs: ['and', 'or', 'not', 'sel', 'sel1'] });
  await check('Cast float -> int', { x: X, ...one('Cast', { SrcT: A.type('DT_FLOAT'), DstT: A.type('DT_INT32') }) });
  await check('Cast int -> float', { x: { shape: [3, 4], dtype: 'int32' }, ...one('Cast', { SrcT: A.type('DT_INT32'), DstT: A.type('DT_FLOAT') }) });
});

test('graph ops: reductions, softmax, arg max, top k', async () => {
  const ax = (v) => ({ axes: { values: v, shape: [v.length], dtype: 'int32' } });
  for (const op of ['Mean', 'Sum', 'Max', 'Min', 'Prod'])
    for (const [axes, keep] of [[[1, 2], true], [[1, 2], false], [[3], false], [[-1], true], [[0, 3], false]])
      await check(`${op} axes ${axes} keep ${keep}`, { x: X, consts: ax(axes), ...one(op, { ...T, keep_dims: A.b(keep), Tidx: A.type('DT_INT32') }, ['in', 'axes']) });
  await check('Softmax', { x: X, ...one('Softmax', T) });
  await check('LogSoftmax', { x: X, ...one('LogSoftmax', T) });
  for (const op of ['ArgMax', 'ArgMin'])
    for (const a of [3, 1, -1])
      await check(`${op} axis ${a}`, { x: X, consts: { d: { values: [a], shape: [], dtype: 'int32' } },
        ...one(op, { ...T, Tidx: A.type('DT_INT32'), output_type: A.type('DT_INT32') }, ['in', 'd']) });
  await check('TopKV2', { x: { shape: [3, 7] }, consts: { k: { values: [3], shape: [], dtype: 'int32' } },
    nodes: [{ name: 'y', op: 'TopKV2', input: ['in', 'k'], attr: { ...T, sorted: A.b(true) } }], outputs: ['y', 'y:1'] });
});

test('graph ops: shapes, slicing and joining', async () => {
  const i32 = (values, shape = [values.length]) => ({ values, shape, dtype: 'int32' });
  await check('Reshape', { x: X, consts: { s: i32([2, -1, 4]) }, ...one('Reshape', { ...T, Tshape: A.type('DT_INT32') }, ['in', 's']) });
  await check('Squeeze', { x: { shape: [2, 1, 6, 1] }, ...one('Squeeze', { ...T, squeeze_dims: A.ints([1, 3]) }) });
  await check('Squeeze all', { x: { shape: [2, 1, 6, 1] }, ...one('Squeeze', { ...T, squeeze_dims: { list: {} } }) });
  await check('ExpandDims', { x: X, consts: { d: i32([-1], []) }, ...one('ExpandDims', { ...T, Tdim: A.type('DT_INT32') }, ['in', 'd']) });
  for (const axis of [3, 1, -1, 0])
    await check(`ConcatV2 axis ${axis}`, { x: X, consts: { a: i32([axis], []) }, nodes: [
      { name: 'n', op: 'Neg', input: ['in'], attr: T },
      { name: 'y', op: 'ConcatV2', input: ['in', 'n', 'a'], attr: { ...T, N: A.i(2), Tidx: A.type('DT_INT32') } }], outputs: ['y'] });
  await check('Pack / Unpack', { x: X, nodes: [
    { name: 'n', op: 'Neg', input: ['in'], attr: T },
    { name: 'p', op: 'Pack', input: ['in', 'n'], attr: { ...T, N: A.i(2), axis: A.i(1) } },
    { name: 'u', op: 'Unpack', input: ['in'], attr: { ...T, num: A.i(4), axis: A.i(3) } }], outputs: ['p', 'u', 'u:2'] });
  await check('Transpose', { x: X, consts: { p: i32([0, 3, 1, 2]) }, ...one('Transpose', { ...T, Tperm: A.type('DT_INT32') }, ['in', 'p']) });
  await check('Pad', { x: X, consts: { p: i32([0, 0, 1, 2, 0, 1, 1, 3], [4, 2]) }, ...one('Pad', { ...T, Tpaddings: A.type('DT_INT32') }, ['in', 'p']) });
  await check('PadV2', { x: X, consts: { p: i32([0, 0, 1, 0, 2, 1, 0, 0], [4, 2]), v: { values: [-3], shape: [] } },
    ...one('PadV2', { ...T, Tpaddings: A.type('DT_INT32') }, ['in', 'p', 'v']) });
  for (const mode of ['REFLECT', 'SYMMETRIC'])
    await check(`MirrorPad ${mode}`, { x: X, consts: { p: i32([0, 0, 1, 2, 2, 1, 0, 0], [4, 2]) },
      ...one('MirrorPad', { ...T, mode: A.s(mode), Tpaddings: A.type('DT_INT32') }, ['in', 'p']) });
  const ss = (begin, end, strides, masks = {}) => ({ consts: { b: i32(begin), e: i32(end), s: i32(strides) },
    ...one('StridedSlice', { ...T, Index: A.type('DT_INT32'), begin_mask: A.i(masks.begin ?? 0), end_mask: A.i(masks.end ?? 0),
      ellipsis_mask: A.i(masks.ellipsis ?? 0), new_axis_mask: A.i(masks.newAxis ?? 0), shrink_axis_mask: A.i(masks.shrink ?? 0) }, ['in', 'b', 'e', 's']) });
  await check('StridedSlice', { x: X, ...ss([0, 1, 0, 1], [2, 4, 6, 3], [1, 1, 2, 1]) });
  await check('StridedSlice masks', { x: X, ...ss([0, 1, 5, 0], [0, -1, 0, 2], [1, 1, -1, 1], { begin: 1, end: 5 }) });
  await check('StridedSlice shrink', { x: X, ...ss([1, 0, 0, 2], [2, 0, 0, 3], [1, 1, 1, 1], { begin: 6, end: 6, shrink: 9 }) });
  await check('StridedSlice ellipsis', { x: X, ...ss([0, 1], [0, 3], [1, 1], { ellipsis: 1 }) });
  await check('StridedSlice new axis', { x: X, ...ss([0, 0, 1], [0, 0, 3], [1, 1, 1], { newAxis: 2, begin: 1, end: 1 }) });
  await check('Slice', { x: X, consts: { b: i32([0, 1, 2, 1]), s: i32([-1, 3, 2, 2]) }, ...one('Slice', { ...T, Index: A.type('DT_INT32') }, ['in', 'b', 's']) });
  await check('Tile', { x: X, consts: { m: i32([1, 2, 1, 3]) }, ...one('Tile', { ...T, Tmultiples: A.type('DT_INT32') }, ['in', 'm']) });
  for (const [axis, idx] of [[3, [3, 0, 0]], [1, [4, 0, 2, 1]], [0, [1]]])
    await check(`GatherV2 axis ${axis}`, { x: X, consts: { i: i32(idx), a: i32([axis], []) },
      ...one('GatherV2', { Tparams: A.type('DT_FLOAT'), Tindices: A.type('DT_INT32'), Taxis: A.type('DT_INT32'), batch_dims: A.i(0) }, ['in', 'i', 'a']) });
  await check('GatherNd', { x: X, consts: { i: i32([0, 1, 2, 1, 4, 5, 0, 0, 3], [3, 3]) },
    ...one('GatherNd', { Tparams: A.type('DT_FLOAT'), Tindices: A.type('DT_INT32') }, ['in', 'i']) });
  await check('Split', { x: X, consts: { a: i32([3], []) }, nodes: [{ name: 'y', op: 'Split', input: ['a', 'in'], attr: { ...T, num_split: A.i(2) } }], outputs: ['y', 'y:1'] });
  await check('SplitV', { x: X, consts: { s: i32([1, -1, 2]), a: i32([2], []) },
    nodes: [{ name: 'y', op: 'SplitV', input: ['in', 's', 'a'], attr: { ...T, num_split: A.i(3), Tlen: A.type('DT_INT32') } }], outputs: ['y', 'y:1', 'y:2'] });
  await check('Shape, Fill, Range', { x: X, consts: { st: i32([1], []), lim: i32([9], []), d: i32([2], []), v: { values: [2.5], shape: [] } }, nodes: [
    { name: 'sh', op: 'Shape', input: ['in'], attr: { ...T, out_type: A.type('DT_INT32') } },
    { name: 'f', op: 'Fill', input: ['sh', 'v'], attr: { ...T, index_type: A.type('DT_INT32') } },
    { name: 'r', op: 'Range', input: ['st', 'lim', 'd'], attr: { Tidx: A.type('DT_INT32') } }], outputs: ['sh', 'f', 'r'] });
  await check('Where', { x: { shape: [3, 4] }, consts: { z: { values: [0], shape: [] } }, nodes: [
    { name: 'g', op: 'Greater', input: ['in', 'z'], attr: T },
    { name: 'y', op: 'Where', input: ['g'], attr: { T: A.type('DT_BOOL') } }], outputs: ['y'] });
});

test('graph ops: convolutions, pooling, normalization, resizing, matrix products', async () => {
  const w = (shape, seed) => ({ values: randomFloats(shape.reduce((a, b) => a * b, 1), seed), shape });
  const conv = (op, filter, attrs, extra = {}, fused) => ({ x: X, consts: { f: filter, ...extra },
    ...one(op, { ...T, data_format: A.s('NHWC'), dilations: A.ints([1, 1, 1, 1]), ...attrs, ...(fused ? { fused_ops: A.strs(fused), num_args: A.i(Object.keys(extra).length), epsilon: A.f(0.001) } : {}) },
      ['in', 'f', ...Object.keys(extra)]) });
  await check('Conv2D VALID stride 2', conv('Conv2D', w([3, 2, 4, 6], 1), { strides: A.ints([1, 2, 2, 1]), padding: A.s('VALID') }));
  await check('Conv2D SAME dilated', conv('Conv2D', w([3, 3, 4, 5], 2), { strides: A.ints([1, 1, 1, 1]), padding: A.s('SAME'), dilations: A.ints([1, 2, 2, 1]) }));
  await check('Conv2D EXPLICIT', conv('Conv2D', w([2, 2, 4, 3], 3), { strides: A.ints([1, 1, 2, 1]), padding: A.s('EXPLICIT'), explicit_paddings: A.ints([0, 0, 1, 0, 2, 1, 0, 0]) }));
  await check('DepthwiseConv2dNative multiplier 2', conv('DepthwiseConv2dNative', w([3, 3, 4, 2], 4), { strides: A.ints([1, 2, 1, 1]), padding: A.s('SAME') }));
  for (const act of ['Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Sigmoid'])  // TF.js's cpu backend has no fused Tanh
    await check(`_FusedConv2D BiasAdd ${act}`, conv('_FusedConv2D', w([3, 3, 4, 6], 5), { strides: A.ints([1, 1, 1, 1]), padding: A.s('SAME'), leakyrelu_alpha: A.f(0.3) },
      { bias: w([6], 6) }, ['BiasAdd', act]));
  await check('_FusedConv2D BiasAdd Prelu', conv('_FusedConv2D', w([1, 1, 4, 6], 7), { strides: A.ints([1, 1, 1, 1]), padding: A.s('VALID') },
    { bias: w([6], 8), alpha: w([6], 9) }, ['BiasAdd', 'Prelu']));
  await check('FusedDepthwiseConv2dNative BiasAdd Relu6', conv('FusedDepthwiseConv2dNative', w([3, 3, 4, 1], 10), { strides: A.ints([1, 1, 1, 1]), padding: A.s('SAME') },
    { bias: w([4], 11) }, ['BiasAdd', 'Relu6']));
  await check('FusedBatchNormV3', { x: X, consts: { sc: w([4], 12), of: w([4], 13), mu: w([4], 14), va: { values: [0.5, 1, 2, 0.25], shape: [4] } },
    nodes: [{ name: 'y', op: 'FusedBatchNormV3', input: ['in', 'sc', 'of', 'mu', 'va'], attr: { ...T, U: A.type('DT_FLOAT'), epsilon: A.f(0.001), data_format: A.s('NHWC'), is_training: A.b(false) } }], outputs: ['y'] });
  for (const [op, k, s, pad] of [['MaxPool', 3, 2, 'SAME'], ['MaxPool', 2, 2, 'VALID'], ['AvgPool', 3, 2, 'SAME'], ['AvgPool', 2, 1, 'VALID']])
    await check(`${op} ${k}x${k} stride ${s} ${pad}`, { x: X, ...one(op, { ...T, ksize: A.ints([1, k, k, 1]), strides: A.ints([1, s, s, 1]), padding: A.s(pad), data_format: A.s('NHWC') }) });
  for (const op of ['ResizeBilinear', 'ResizeNearestNeighbor'])
    for (const [align, half] of [[false, false], [true, false], [false, true]])
      for (const size of [[10, 12], [3, 4]])
        await check(`${op} to ${size} align ${align} half ${half}`, { x: X, consts: { s: { values: size, shape: [2], dtype: 'int32' } },
          ...one(op, { ...T, align_corners: A.b(align), half_pixel_centers: A.b(half) }, ['in', 's']) });
  const mm = { x: { shape: [3, 5] } };
  for (const [ta, tb, ws] of [[false, false, [5, 4]], [false, true, [4, 5]]])
    await check(`MatMul transpose_b ${tb}`, { ...mm, consts: { w: w(ws, 15) }, ...one('MatMul', { ...T, transpose_a: A.b(ta), transpose_b: A.b(tb) }, ['in', 'w']) });
  await check('_FusedMatMul BiasAdd Relu', { ...mm, consts: { w: w([5, 4], 16), b: w([4], 17) },
    ...one('_FusedMatMul', { ...T, transpose_a: A.b(false), transpose_b: A.b(false), fused_ops: A.strs(['BiasAdd', 'Relu']), num_args: A.i(1), epsilon: A.f(0) }, ['in', 'w', 'b']) });
  for (const [adjX, adjY] of [[false, false], [true, false], [false, true]])
    await check(`BatchMatMulV2 adj ${adjX} ${adjY}`, { x: { shape: [2, 3, 3] }, consts: { w: w([3, 3], 18) },
      ...one('BatchMatMulV2', { ...T, adj_x: A.b(adjX), adj_y: A.b(adjY) }, ['in', 'w']) });
});
