// The tensor-ops API of TensorFlow.js (tfjs-core): the same names,
// arguments, broadcasting and result dtypes, each computed by the core's op
// set (op_runner.ts), never by JavaScript loops over tensor data. Checked op
// by op against TF.js 4.22 (tests/js/ops_tfjs.test.mjs). The chainable
// Tensor methods (x.add(y).relu()) are at the end.
import { DataType, TypedArray } from './dtypes.js';
import { Attribute, EAGER_OPSET, runOp } from './op_runner.js';
import { persistent, withoutCounting } from './engine.js';
import { recordOp } from './tape.js';
import { Shape, Tensor, TensorLike, tensor } from './tensor.js';
import { imageOps } from './image_ops.js';

type T = Tensor | TensorLike;

/**
 * A Tensor as it is, anything else converted as TF.js's convertToTensor does
 * (numbers: float32). A converted input is not counted in memory(), as TF.js
 * disposes it within the op.
 */
function $(x: T, what: string, dtype?: DataType): Tensor {
  if (x instanceof Tensor) return x;
  if (x === null || x === undefined) throw new Error(`${what}: expected a tensor, got ${x}`);
  if (typeof x === 'number') return constant(x, dtype ?? 'float32');
  return withoutCounting(() => tensor(x as TensorLike, undefined, dtype));
}

// A JavaScript number as an operand (`x.mul(2)`, clip bounds): one scalar
// tensor per dtype and value, kept with its copy in the heap, so a loop's
// eager ops make and upload nothing for it. Never disposed: dropping the
// table when full leaves the tensors to whoever still holds them.
const constants = new Map<string, Tensor>();
function constant(value: number, dtype: DataType): Tensor {
  const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
  let t = constants.get(key);
  if (!t) {
    if (constants.size >= 256) constants.clear();
    t = persistent(() => tensor(value, [], dtype));
    constants.set(key, t);
  }
  return t;
}

const one = (what: string, type: string, inputs: (Tensor | null)[], attrs?: Record<string, Attribute>, opset?: number) =>
  runOp(what, type, inputs, attrs, 1, opset)[0];
// The last opset where these ops took their axes as an attribute: run there,
// no axes tensor is made and copied into the heap per call (the same kernels).
const AXES_ATTRIBUTE_OPSET: Record<string, number> = { ReduceSum: 12, Squeeze: 12, Unsqueeze: 12 };
const axesAttributeOpset = (type: string) => AXES_ATTRIBUTE_OPSET[type] ?? (type.startsWith('Reduce') ? 17 : undefined);
const i64 = (values: number[]) => tensor(BigInt64Array.from(values.map((v) => BigInt(Math.trunc(v)))), [values.length], 'int64');
const isFloat = (d: DataType) => d === 'float32' || d === 'float64' || d === 'float16';

/** Runs `fn` on temporaries and disposes them, whatever happens. */
function using<R>(temps: Tensor[], fn: () => R): R {
  try {
    return fn();
  } finally {
    for (const t of temps) t.dispose();
  }
}

// ---- dtypes -----------------------------------------------------------------

/** The dtype two operands meet in (TF.js's upcastType, extended to Kiln's dtypes). */
export function upcastType(a: DataType, b: DataType): DataType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  if (isFloat(a) || isFloat(b)) return 'float32';
  if (a === 'int64' || b === 'int64' || a === 'uint64' || b === 'uint64') return 'int64';
  return 'int32';
}

export function cast(x: T, dtype: DataType): Tensor {
  const t = $(x, 'kiln.cast');
  if (t.dtype === dtype) return clone(t);
  if (!isFloat(t.dtype) || isFloat(dtype) || dtype === 'bool') return one('kiln.cast', 'Cast', [t], { to: { i: onnxCode(dtype) } });
  // Float to integer: NaN and infinities become 0, as TF.js's typed-array
  // conversion gives (the core's Cast leaves them undefined, as ONNX does).
  const finite = isFinite(t), zero = tensor(0, [], t.dtype);
  return using([finite, zero], () => {
    const cleaned = one('kiln.cast', 'Where', [finite, t, zero]);
    return using([cleaned], () => one('kiln.cast', 'Cast', [cleaned], { to: { i: onnxCode(dtype) } }));
  });
}

const ONNX_CODES: Record<DataType, number> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13,
};
function onnxCode(dtype: DataType): number {
  const code = ONNX_CODES[dtype];
  if (code === undefined) throw new Error(`kiln.cast: unknown dtype '${dtype}'`);
  return code;
}

/** `t` in `dtype`: itself when it already is (the caller disposes what it made). */
function as(t: Tensor, dtype: DataType, made: Tensor[]): Tensor {
  if (t.dtype === dtype) return t;
  const c = cast(t, dtype);
  made.push(c);
  return c;
}

export function clone(x: T): Tensor {
  const t = $(x, 'kiln.clone');
  const c = new Tensor((t.dataSync() as TypedArray).slice() as TypedArray, t.shape.slice(), t.dtype);
  recordOp('Identity', {}, [t], [c], EAGER_OPSET);  // a copy made here, not by the core: the tape still sees it
  return c;
}

// ---- elementwise ---------------------------------------------------------------

/** A binary op: both operands in their common dtype, broadcast by the core. */
function binary(name: string, type: string, a: T, b: T, attrs?: Record<string, Attribute>): Tensor {
  const what = `kiln.${name}`;
  const x = $(a, what), y = $(b, what);
  const dtype = upcastType(x.dtype, y.dtype);
  const made: Tensor[] = [];
  return using(made, () => one(what, type, [as(x, dtype, made), as(y, dtype, made)], attrs));
}

export const add = (a: T, b: T) => binary('add', 'Add', a, b);
export const sub = (a: T, b: T) => binary('sub', 'Sub', a, b);
export const mul = (a: T, b: T) => binary('mul', 'Mul', a, b);
export const maximum = (a: T, b: T) => binary('maximum', 'Max', a, b);
export const minimum = (a: T, b: T) => binary('minimum', 'Min', a, b);
export const equal = (a: T, b: T) => binary('equal', 'Equal', a, b);
export const less = (a: T, b: T) => binary('less', 'Less', a, b);
export const lessEqual = (a: T, b: T) => binary('lessEqual', 'LessOrEqual', a, b);
export const greater = (a: T, b: T) => binary('greater', 'Greater', a, b);
export const greaterEqual = (a: T, b: T) => binary('greaterEqual', 'GreaterOrEqual', a, b);
export function notEqual(a: T, b: T): Tensor {
  const e = equal(a, b);
  return using([e], () => one('kiln.notEqual', 'Not', [e]));
}

/** TF.js's div: integers divide with the floor (floorDiv), floats exactly. */
export function div(a: T, b: T): Tensor {
  const x = $(a, 'kiln.div'), y = $(b, 'kiln.div');
  if (!isFloat(upcastType(x.dtype, y.dtype)) && upcastType(x.dtype, y.dtype) !== 'bool') return floorDiv(x, y);
  return binary('div', 'Div', x, y);
}

/**
 * floor(a / b) as int32, whatever the operands' dtype (TF.js's FloorDiv
 * kernel); computed in float64, where every int32 quotient is exact.
 */
export function floorDiv(a: T, b: T): Tensor {
  const x = $(a, 'kiln.floorDiv'), y = $(b, 'kiln.floorDiv');
  const wide = isFloat(upcastType(x.dtype, y.dtype)) ? upcastType(x.dtype, y.dtype) : 'float64';
  const made: Tensor[] = [];
  return using(made, () => {
    const q = one('kiln.floorDiv', 'Div', [as(x, wide, made), as(y, wide, made)]);
    made.push(q);
    const f = one('kiln.floorDiv', 'Floor', [q]);
    made.push(f);
    return cast(f, 'int32');
  });
}

/** TF.js's mod: the remainder takes the divisor's sign (floor modulo). */
export function mod(a: T, b: T): Tensor {
  const x = $(a, 'kiln.mod'), y = $(b, 'kiln.mod');
  const dtype = upcastType(x.dtype, y.dtype);
  if (!isFloat(dtype)) return binary('mod', 'Mod', x, y, { fmod: { i: 0 } });
  const d = binary('mod', 'Div', x, y);
  return using([d], () => {
    const q = one('kiln.mod', 'Floor', [d]);
    return using([q], () => {
      const p = mul(q, y);
      return using([p], () => sub(x, p));
    });
  });
}

export function pow(base: T, exp: T): Tensor {
  return binary('pow', 'Pow', base, exp);
}

export function squaredDifference(a: T, b: T): Tensor {
  const d = sub(a, b);
  return using([d], () => one('kiln.squaredDifference', 'Mul', [d, d]));
}

function logical(name: string, type: string, a: T, b: T): Tensor {
  const what = `kiln.${name}`;
  const x = $(a, what), y = $(b, what);
  if (x.dtype !== 'bool' || y.dtype !== 'bool') throw new Error(`${what}: expects bool tensors, got ${x.dtype} and ${y.dtype}`);
  return one(what, type, [x, y]);
}
export const logicalAnd = (a: T, b: T) => logical('logicalAnd', 'And', a, b);
export const logicalOr = (a: T, b: T) => logical('logicalOr', 'Or', a, b);
export const logicalXor = (a: T, b: T) => logical('logicalXor', 'Xor', a, b);
export function logicalNot(x: T): Tensor {
  const t = $(x, 'kiln.logicalNot');
  if (t.dtype !== 'bool') throw new Error(`kiln.logicalNot: expects a bool tensor, got ${t.dtype}`);
  return one('kiln.logicalNot', 'Not', [t]);
}

export function where(condition: T, a: T, b: T): Tensor {
  const c = $(condition, 'kiln.where'), x = $(a, 'kiln.where'), y = $(b, 'kiln.where');
  if (c.dtype !== 'bool') throw new Error(`kiln.where: the condition must be bool, got ${c.dtype}`);
  const dtype = upcastType(x.dtype, y.dtype);
  const made: Tensor[] = [];
  return using(made, () => one('kiln.where', 'Where', [c, as(x, dtype, made), as(y, dtype, made)]));
}

/** A unary op; `float`: integer and bool inputs are computed in float32, as TF.js's kernels do. */
function unary(name: string, type: string, x: T, float: boolean, attrs?: Record<string, Attribute>): Tensor {
  const what = `kiln.${name}`;
  const t = $(x, what);
  const made: Tensor[] = [];
  return using(made, () => one(what, type, [float && !isFloat(t.dtype) ? as(t, 'float32', made) : t], attrs));
}

export const abs = (x: T) => unary('abs', 'Abs', x, false);
export const neg = (x: T) => unary('neg', 'Neg', x, false);
export const sign = (x: T) => unary('sign', 'Sign', x, false);
const RELU_TYPES: DataType[] = ['float32', 'float64', 'int32', 'int64', 'int8', 'int16'];
/** max(x, 0) that keeps NaN, as TF.js's relu (x < 0 ? 0 : x); the op set's Relu does so on every signed type. */
export function relu(x: T): Tensor {
  const t = $(x, 'kiln.relu');
  if (RELU_TYPES.includes(t.dtype)) return one('kiln.relu', 'Relu', [t]);
  const zero = constant(0, t.dtype);
  const negative = one('kiln.relu', 'Less', [t, zero]);
  return using([negative], () => one('kiln.relu', 'Where', [negative, zero, t]));
}
export const floor = (x: T) => unary('floor', 'Floor', x, true);
export const ceil = (x: T) => unary('ceil', 'Ceil', x, true);
/** Half to even, as TF.js; integers are already round (their dtype is kept). */
export function round(x: T): Tensor {
  const t = $(x, 'kiln.round');
  return isFloat(t.dtype) ? one('kiln.round', 'Round', [t]) : clone(t);
}
export const exp = (x: T) => unary('exp', 'Exp', x, true);
export const log = (x: T) => unary('log', 'Log', x, true);
export const sqrt = (x: T) => unary('sqrt', 'Sqrt', x, true);
export const reciprocal = (x: T) => unary('reciprocal', 'Reciprocal', x, true);
export const sin = (x: T) => unary('sin', 'Sin', x, true);
export const cos = (x: T) => unary('cos', 'Cos', x, true);
export const tan = (x: T) => unary('tan', 'Tan', x, true);
export const asin = (x: T) => unary('asin', 'Asin', x, true);
export const acos = (x: T) => unary('acos', 'Acos', x, true);
export const atan = (x: T) => unary('atan', 'Atan', x, true);
export const sinh = (x: T) => unary('sinh', 'Sinh', x, true);
export const cosh = (x: T) => unary('cosh', 'Cosh', x, true);
export const tanh = (x: T) => unary('tanh', 'Tanh', x, true);
export const asinh = (x: T) => unary('asinh', 'Asinh', x, true);
export const acosh = (x: T) => unary('acosh', 'Acosh', x, true);
export const atanh = (x: T) => unary('atanh', 'Atanh', x, true);
export const sigmoid = (x: T) => unary('sigmoid', 'Sigmoid', x, true);
export const softplus = (x: T) => unary('softplus', 'Softplus', x, true);
export const erf = (x: T) => unary('erf', 'Erf', x, true);
export const elu = (x: T) => unary('elu', 'Elu', x, true, { alpha: { f: 1 } });
export const selu = (x: T) => unary('selu', 'Selu', x, true);
export const isNaN = (x: T) => unary('isNaN', 'IsNaN', x, true);
export const isInf = (x: T) => unary('isInf', 'IsInf', x, true);
export const leakyRelu = (x: T, alpha = 0.2) => unary('leakyRelu', 'LeakyRelu', x, true, { alpha: { f: alpha } });

export function square(x: T): Tensor {
  const t = $(x, 'kiln.square');
  return one('kiln.square', 'Mul', [t, t]);
}
export function rsqrt(x: T): Tensor {
  const s = sqrt(x);
  return using([s], () => one('kiln.rsqrt', 'Reciprocal', [s]));
}
export function log1p(x: T): Tensor {
  const t = $(x, 'kiln.log1p');
  const p = add(t, 1);
  return using([p], () => one('kiln.log1p', 'Log', [p]));
}
export function expm1(x: T): Tensor {
  const e = exp(x);
  return using([e], () => sub(e, 1));
}
export function isFinite(x: T): Tensor {
  const n = isNaN(x), i = isInf(x);
  return using([n, i], () => {
    const either = one('kiln.isFinite', 'Or', [n, i]);
    return using([either], () => one('kiln.isFinite', 'Not', [either]));
  });
}

export function clipByValue(x: T, clipValueMin: number, clipValueMax: number): Tensor {
  const t = $(x, 'kiln.clipByValue');
  if (!(clipValueMin <= clipValueMax)) throw new Error(`kiln.clipByValue: clipValueMin (${clipValueMin}) must be <= clipValueMax (${clipValueMax})`);
  return one('kiln.clipByValue', 'Clip', [t, constant(clipValueMin, t.dtype), constant(clipValueMax, t.dtype)]);
}
/** min(max(x, 0), 6), keeping NaN (Clip does). */
export function relu6(x: T): Tensor {
  const t = $(x, 'kiln.relu6');
  if (RELU_TYPES.includes(t.dtype)) return clipByValue(t, 0, 6);
  const r = relu(t);
  return using([r], () => clipByValue(r, 0, 6));
}

// ---- matrices ----------------------------------------------------------------

function swapLastTwo(t: Tensor, what: string): Tensor {
  if (t.rank < 2) throw new Error(`${what}: a transposed operand needs rank >= 2, got shape [${t.shape}]`);
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return one(what, 'Transpose', [t], { perm: { ints: perm } });
}

export function matMul(a: T, b: T, transposeA = false, transposeB = false): Tensor {
  const what = 'kiln.matMul';
  let x = $(a, what), y = $(b, what);
  if (x.rank < 2 || y.rank < 2) throw new Error(`${what}: both operands need rank >= 2, got [${x.shape}] and [${y.shape}]`);
  const made: Tensor[] = [];
  return using(made, () => {
    const dtype = upcastType(x.dtype, y.dtype);
    x = as(x, dtype, made);
    y = as(y, dtype, made);
    if (transposeA) made.push((x = swapLastTwo(x, what)));
    if (transposeB) made.push((y = swapLastTwo(y, what)));
    if (!isFloat(dtype)) return integerMatMul(x, y, made);
    // The core's GEMM is float32: other float types go through it and back.
    const product = one(what, 'MatMul', [as(x, 'float32', made), as(y, 'float32', made)]);
    if (dtype === 'float32') return product;
    made.push(product);
    return cast(product, dtype);
  });
}

/**
 * Integer matMul, exact in its own dtype: the core's GEMM is float32, so the
 * products are broadcast ([..., m, k, 1] x [..., 1, k, n]) and summed over k.
 * It takes m*k*n elements of memory: fine for the integer products programs do.
 */
function integerMatMul(x: Tensor, y: Tensor, made: Tensor[]): Tensor {
  const what = 'kiln.matMul';
  const a = expandDims(x, -1), b = expandDims(y, -3);
  made.push(a, b);
  const p = one(what, 'Mul', [a, b]);
  made.push(p);
  return one(what, 'ReduceSum', [p], { keepdims: { i: 0 }, axes: { ints: [-2] } }, axesAttributeOpset('ReduceSum'));
}


/** TF.js's dot: vector-vector, matrix-vector, vector-matrix or matrix-matrix. */
export function dot(a: T, b: T): Tensor {
  const x = $(a, 'kiln.dot'), y = $(b, 'kiln.dot');
  if (x.rank < 1 || x.rank > 2 || y.rank < 1 || y.rank > 2) throw new Error(`kiln.dot: operands must be rank 1 or 2, got [${x.shape}] and [${y.shape}]`);
  if (x.rank === 2 && y.rank === 2) return matMul(x, y);
  const made: Tensor[] = [];
  return using(made, () => {
    const m = x.rank === 1 ? reshape(x, [1, -1]) : x, n = y.rank === 1 ? reshape(y, [-1, 1]) : y;
    if (m !== x) made.push(m);
    if (n !== y) made.push(n);
    const p = matMul(m, n);
    made.push(p);
    return reshape(p, x.rank === 1 && y.rank === 1 ? [] : [-1]);
  });
}

export function transpose(x: T, perm?: number[]): Tensor {
  const t = $(x, 'kiln.transpose');
  const p = perm ?? t.shape.map((_, i) => t.rank - 1 - i);
  return one('kiln.transpose', 'Transpose', [t], { perm: { ints: p } });
}

export function outerProduct(v1: T, v2: T): Tensor {
  const a = $(v1, 'kiln.outerProduct'), b = $(v2, 'kiln.outerProduct');
  if (a.rank !== 1 || b.rank !== 1) throw new Error(`kiln.outerProduct: expects two vectors, got [${a.shape}] and [${b.shape}]`);
  const col = reshape(a, [-1, 1]), row = reshape(b, [1, -1]);
  return using([col, row], () => mul(col, row));
}

// ---- reductions --------------------------------------------------------------

function axesOf(t: Tensor, axis: number | number[] | undefined | null, what: string): number[] {
  const list = axis === undefined || axis === null ? t.shape.map((_, i) => i) : Array.isArray(axis) ? axis : [axis];
  for (const a of list)
    if (!Number.isInteger(a) || a < -Math.max(t.rank, 1) || a >= Math.max(t.rank, 1))
      throw new Error(`${what}: axis ${a} is out of range for a tensor of rank ${t.rank}`);
  return list.map((a) => (a < 0 ? a + t.rank : a));
}

function reduce(name: string, type: string, x: T, axis: number | number[] | undefined, keepDims: boolean, inputDtype?: (d: DataType) => DataType): Tensor {
  const what = `kiln.${name}`;
  const t = $(x, what);
  const axes = axesOf(t, axis, what);
  const made: Tensor[] = [];
  return using(made, () => {
    const input = inputDtype ? as(t, inputDtype(t.dtype), made) : t;
    if (t.rank === 0 || axes.length === 0) return clone(input);
    return one(what, type, [input], { keepdims: { i: keepDims ? 1 : 0 }, axes: { ints: axes } }, axesAttributeOpset(type));
  });
}
const boolAsInt = (d: DataType): DataType => (d === 'bool' ? 'int32' : d);
export const sum = (x: T, axis?: number | number[], keepDims = false) => reduce('sum', 'ReduceSum', x, axis, keepDims, boolAsInt);
export const prod = (x: T, axis?: number | number[], keepDims = false) => reduce('prod', 'ReduceProd', x, axis, keepDims, boolAsInt);
export const max = (x: T, axis?: number | number[], keepDims = false) => reduce('max', 'ReduceMax', x, axis, keepDims);
export const min = (x: T, axis?: number | number[], keepDims = false) => reduce('min', 'ReduceMin', x, axis, keepDims);
export const mean = (x: T, axis?: number | number[], keepDims = false) =>
  reduce('mean', 'ReduceMean', x, axis, keepDims, (d) => (isFloat(d) ? d : 'float32'));
export const logSumExp = (x: T, axis?: number | number[], keepDims = false) =>
  reduce('logSumExp', 'ReduceLogSumExp', x, axis, keepDims, (d) => (isFloat(d) ? d : 'float32'));

function boolReduce(name: string, type: string, x: T, axis: number | number[] | undefined, keepDims: boolean): Tensor {
  const t = $(x, `kiln.${name}`);
  if (t.dtype !== 'bool') throw new Error(`kiln.${name}: expects a bool tensor, got ${t.dtype}`);
  const r = reduce(name, type, t, axis, keepDims, () => 'int32');
  return using([r], () => cast(r, 'bool'));
}
export const all = (x: T, axis?: number | number[], keepDims = false) => boolReduce('all', 'ReduceMin', x, axis, keepDims);
export const any = (x: T, axis?: number | number[], keepDims = false) => boolReduce('any', 'ReduceMax', x, axis, keepDims);

function argReduce(name: string, type: string, x: T, axis = 0): Tensor {
  const what = `kiln.${name}`;
  const t = $(x, what);
  const [a] = axesOf(t, axis, what);
  const r = one(what, type, [t], { axis: { i: a }, keepdims: { i: 0 } });
  return using([r], () => cast(r, 'int32'));
}
export const argMax = (x: T, axis = 0) => argReduce('argMax', 'ArgMax', x, axis);
export const argMin = (x: T, axis = 0) => argReduce('argMin', 'ArgMin', x, axis);

export function softmax(logits: T, dim = -1): Tensor {
  return unary('softmax', 'Softmax', logits, true, { axis: { i: dim } });
}
export function logSoftmax(logits: T, axis = -1): Tensor {
  return unary('logSoftmax', 'LogSoftmax', logits, true, { axis: { i: axis } });
}

// ---- shapes, slicing and joining ---------------------------------------------------

export function reshape(x: T, shape: Shape): Tensor {
  const t = $(x, 'kiln.reshape');
  const s = i64(shape);
  // allowzero: a 0 in `shape` is a 0-sized dimension, as in TF.js (ONNX would copy the input's).
  return using([s], () => one('kiln.reshape', 'Reshape', [t, s], { allowzero: { i: 1 } }));
}

export function expandDims(x: T, axis = 0): Tensor {
  const t = $(x, 'kiln.expandDims');
  if (!Number.isInteger(axis) || axis < -(t.rank + 1) || axis > t.rank) throw new Error(`kiln.expandDims: axis ${axis} is out of range for rank ${t.rank}`);
  return one('kiln.expandDims', 'Unsqueeze', [t], { axes: { ints: [axis < 0 ? axis + t.rank + 1 : axis] } }, axesAttributeOpset('Unsqueeze'));
}

export function squeeze(x: T, axis?: number[]): Tensor {
  const t = $(x, 'kiln.squeeze');
  if (axis === undefined) return one('kiln.squeeze', 'Squeeze', [t]);
  const axes = axesOf(t, axis, 'kiln.squeeze');
  for (const a of axes) if (t.shape[a] !== 1) throw new Error(`kiln.squeeze: dimension ${a} of shape [${t.shape}] is not 1`);
  return one('kiln.squeeze', 'Squeeze', [t], { axes: { ints: axes } }, axesAttributeOpset('Squeeze'));
}

export function concat(tensors: T[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('kiln.concat: expects a non-empty array of tensors');
  const ts = tensors.map((x) => $(x, 'kiln.concat'));
  for (const t of ts)
    if (t.dtype !== ts[0].dtype) throw new Error(`kiln.concat: all tensors must have one dtype, got ${ts[0].dtype} and ${t.dtype} (cast them first)`);
  const [a] = axesOf(ts[0], axis, 'kiln.concat');
  return runOp('kiln.concat', 'Concat', ts, { axis: { i: a } })[0];
}

export function stack(tensors: T[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('kiln.stack: expects a non-empty array of tensors');
  const ts = tensors.map((x) => $(x, 'kiln.stack'));
  for (const t of ts)
    if (t.shape.join() !== ts[0].shape.join()) throw new Error(`kiln.stack: all tensors must have one shape, got [${ts[0].shape}] and [${t.shape}]`);
  const expanded = ts.map((t) => expandDims(t, axis));
  return using(expanded, () => concat(expanded, axis));
}

export function unstack(x: T, axis = 0): Tensor[] {
  const t = $(x, 'kiln.unstack');
  const [a] = axesOf(t, axis, 'kiln.unstack');
  const parts = split(t, t.shape[a], a);
  return using(parts, () => parts.map((p) => squeeze(p, [a])));
}

export function split(x: T, numOrSizeSplits: number | number[], axis = 0): Tensor[] {
  const t = $(x, 'kiln.split');
  const [a] = axesOf(t, axis, 'kiln.split');
  let sizes: number[];
  if (Array.isArray(numOrSizeSplits)) {
    sizes = numOrSizeSplits.slice();
    const free = sizes.indexOf(-1);
    if (free >= 0) sizes[free] = t.shape[a] - sizes.reduce((s, v, i) => (i === free ? s : s + v), 0);
  } else {
    if (!Number.isInteger(numOrSizeSplits) || numOrSizeSplits <= 0 || t.shape[a] % numOrSizeSplits !== 0)
      throw new Error(`kiln.split: ${numOrSizeSplits} splits do not divide dimension ${a} of shape [${t.shape}] evenly`);
    sizes = Array(numOrSizeSplits).fill(t.shape[a] / numOrSizeSplits);
  }
  if (sizes.reduce((s, v) => s + v, 0) !== t.shape[a] || sizes.some((v) => v < 0))
    throw new Error(`kiln.split: sizes [${sizes}] do not add up to dimension ${a} of shape [${t.shape}]`);
  const s = i64(sizes);
  return using([s], () => runOp('kiln.split', 'Split', [t, s], { axis: { i: a } }, sizes.length));
}

/** TF.js's slice: `begin` per leading axis, `size` (-1: to the end). */
export function slice(x: T, begin: number | number[], size?: number | number[]): Tensor {
  const t = $(x, 'kiln.slice');
  const b = Array.isArray(begin) ? begin : [begin];
  const s = size === undefined ? b.map(() => -1) : Array.isArray(size) ? size : [size];
  const starts: number[] = [], ends: number[] = [], axes: number[] = [];
  b.forEach((start, i) => {
    if (i >= t.rank) throw new Error(`kiln.slice: begin [${b}] is longer than the rank ${t.rank}`);
    const n = s[i] === undefined || s[i] === -1 ? t.shape[i] - start : s[i];
    if (start < 0 || n < 0 || start + n > t.shape[i]) throw new Error(`kiln.slice: begin ${start} size ${n} is out of bounds for dimension ${i} of shape [${t.shape}]`);
    starts.push(start), ends.push(start + n), axes.push(i);
  });
  const made = [i64(starts), i64(ends), i64(axes)];
  return using(made, () => one('kiln.slice', 'Slice', [t, ...made]));
}

export function reverse(x: T, axis?: number | number[]): Tensor {
  const t = $(x, 'kiln.reverse');
  const axes = axesOf(t, axis, 'kiln.reverse');
  if (t.rank === 0 || axes.length === 0) return clone(t);
  // Slice with step -1 from the last element past the first.
  const made = [i64(axes.map(() => -1)), i64(axes.map(() => -(2 ** 53))), i64(axes), i64(axes.map(() => -1))];
  return using(made, () => one('kiln.reverse', 'Slice', [t, ...made]));
}

export function gather(x: T, indices: T, axis = 0, batchDims = 0): Tensor {
  const t = $(x, 'kiln.gather'), idx = $(indices, 'kiln.gather', 'int32');
  if (batchDims !== 0) throw new Error('kiln.gather: batchDims other than 0 is not supported yet');
  if (idx.dtype !== 'int32' && idx.dtype !== 'int64') throw new Error(`kiln.gather: indices must be int32 or int64, got ${idx.dtype}`);
  const [a] = axesOf(t, axis, 'kiln.gather');
  return one('kiln.gather', 'Gather', [t, idx], { axis: { i: a } });
}

export function tile(x: T, reps: number[]): Tensor {
  const t = $(x, 'kiln.tile');
  if (reps.length !== t.rank) throw new Error(`kiln.tile: reps [${reps}] must have one entry per dimension of shape [${t.shape}]`);
  const r = i64(reps);
  return using([r], () => one('kiln.tile', 'Tile', [t, r]));
}

/** TF.js's pad: paddings [[before, after], ...] per dimension, filled with constantValue. */
export function pad(x: T, paddings: [number, number][], constantValue = 0): Tensor {
  const t = $(x, 'kiln.pad');
  if (paddings.length !== t.rank) throw new Error(`kiln.pad: paddings need one [before, after] per dimension of shape [${t.shape}]`);
  const made = [i64([...paddings.map((p) => p[0]), ...paddings.map((p) => p[1])]), tensor(constantValue, [], t.dtype)];
  return using(made, () => one('kiln.pad', 'Pad', [t, ...made], { mode: { s: 'constant' } }));
}

/** TF.js's cumsum: running sums along `axis` (exclusive: of the elements before; reverse: from the end). */
export function cumsum(x: T, axis = 0, exclusive = false, reverse = false): Tensor {
  const what = 'kiln.cumsum';
  const t = $(x, what);
  if (!Number.isInteger(axis) || axis < -t.rank || axis >= t.rank) throw new Error(`${what}: axis ${axis} is out of range for rank ${t.rank}`);
  const made: Tensor[] = [];
  return using(made, () => {
    const input = t.dtype === 'bool' ? as(t, 'int32', made) : t;
    const a = tensor(BigInt64Array.of(BigInt(axis)), [], 'int64');
    made.push(a);
    return one(what, 'CumSum', [input, a], { exclusive: { i: exclusive ? 1 : 0 }, reverse: { i: reverse ? 1 : 0 } });
  });
}

// Bins of non-negative int32 values (TF.js's bincount and denseBincount): the
// weights (or ones) scatter-added into `size` bins along the last axis; values
// from `size` up are dropped, through an extra bin sliced off at the end.
function bins(what: string, x: Tensor, weights: Tensor | null, size: number, binaryOutput: boolean): Tensor {
  if (x.dtype !== 'int32') throw new Error(`${what}: x must be int32, got ${x.dtype}`);
  if (!Number.isInteger(size) || size < 0) throw new Error(`${what}: size must be a non-negative integer, got ${size}`);
  if (weights && weights.size > 0 && (weights.shape.length !== x.shape.length || weights.shape.some((d, i) => d !== x.shape[i])))
    throw new Error(`${what}: weights must have x's shape [${x.shape}] or be empty, got [${weights.shape}]`);
  const made: Tensor[] = [];
  return using(made, () => {
    const step = (t: Tensor) => (made.push(t), t);
    if (x.size > 0 && (step(min(x)).dataSync()[0] as number) < 0) throw new Error(`${what}: x must hold non-negative values`);
    const dtype = weights ? weights.dtype : 'float32';
    const ones = !weights || weights.size === 0 || binaryOutput;
    const updates = ones ? step(fill(x.shape, 1, dtype)) : weights!;
    const rows = x.rank === 2 ? x.shape[0] : 1;
    const index = step(minimum(x, step(tensor(size, [], 'int32'))));
    const flat = x.rank === 2 ? index : step(reshape(index, [1, x.size]));
    const values = x.rank === 2 ? updates : step(reshape(updates, [1, x.size]));
    const target = step(zeros([rows, size + 1], dtype));
    const summed = step(one(what, 'ScatterElements', [target, flat, values], { axis: { i: 1 }, reduction: { s: 'add' } }));
    let out = step(slice(summed, [0, 0], [rows, size]));
    if (binaryOutput) out = step(cast(step(greater(out, 0)), dtype));
    return x.rank === 2 ? clone(out) : reshape(out, [size]);
  });
}

/** TF.js's bincount: for 1-D int32 x, the sum of the weights (or the count) of each value below `size`. */
export function bincount(x: T, weights: T, size: number): Tensor {
  const what = 'kiln.bincount';
  const t = $(x, what, 'int32'), w = $(weights, what);
  if (t.rank !== 1) throw new Error(`${what}: x must be 1-D, got [${t.shape}]`);
  return bins(what, t, w, size, false);
}

/** TF.js's denseBincount: bincount of a 1-D x, or of each row of a 2-D x; binaryOutput marks presence (1) instead. */
export function denseBincount(x: T, weights: T, size: number, binaryOutput = false): Tensor {
  const what = 'kiln.denseBincount';
  const t = $(x, what, 'int32'), w = $(weights, what);
  if (t.rank !== 1 && t.rank !== 2) throw new Error(`${what}: x must be 1-D or 2-D, got [${t.shape}]`);
  return bins(what, t, w, size, binaryOutput);
}

export function oneHot(indices: T, depth: number, onValue = 1, offValue = 0, dtype: DataType = 'int32'): Tensor {
  const idx = $(indices, 'kiln.oneHot', 'int32');
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`kiln.oneHot: depth must be a positive integer, got ${depth}`);
  const made = [tensor([depth], [1], 'int64'), tensor([offValue, onValue], [2], dtype)];
  return using(made, () => one('kiln.oneHot', 'OneHot', [idx, ...made], { axis: { i: -1 } }));
}

/**
 * tf.math.confusionMatrix: counts of (true class, predicted class) pairs, an
 * int32 [numClasses, numClasses] tensor with the true class along rows.
 */
function confusionMatrix(labels: T, predictions: T, numClasses: number): Tensor {
  const what = 'kiln.math.confusionMatrix';
  const l = $(labels, what, 'int32'), p = $(predictions, what, 'int32');
  if (l.rank !== 1 || p.rank !== 1) throw new Error(`${what}: labels and predictions must be 1-D, got shapes [${l.shape}] and [${p.shape}]`);
  if (l.size !== p.size) throw new Error(`${what}: labels (${l.size}) and predictions (${p.size}) must have the same length`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`${what}: numClasses must be a positive integer, got ${numClasses}`);
  const made = [oneHot(l, numClasses, 1, 0, 'float32'), oneHot(p, numClasses, 1, 0, 'float32')];
  const counts = using(made, () => matMul(made[0], made[1], true, false));
  return using([counts], () => cast(counts, 'int32'));
}

/** TF.js's tf.math namespace. */
export const math = { confusionMatrix };

export function topk(x: T, k = 1, sorted = true): { values: Tensor; indices: Tensor } {
  const t = $(x, 'kiln.topk');
  if (t.rank < 1 || !Number.isInteger(k) || k < 0 || k > t.shape[t.rank - 1])
    throw new Error(`kiln.topk: k (${k}) must be in [0, ${t.shape[t.rank - 1]}] for shape [${t.shape}]`);
  const kk = i64([k]);
  const [values, indices] = using([kk], () => runOp('kiln.topk', 'TopK', [t, kk], { sorted: { i: sorted ? 1 : 0 } }, 2));
  return { values, indices: using([indices], () => cast(indices, 'int32')) };
}

// ---- neural-network ops (TF.js's NHWC layout; the core computes NCHW) -------------------

type Padding = 'same' | 'valid' | number;
const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** NHWC (or HWC) in, NCHW for the core; `back` undoes it on the result. */
function toNchw(x: Tensor, what: string): { t: Tensor; batched: boolean } {
  if (x.rank !== 3 && x.rank !== 4) throw new Error(`${what}: expects a [batch, height, width, channels] or [height, width, channels] tensor, got [${x.shape}]`);
  const batched = x.rank === 4;
  const b = batched ? x : expandDims(x, 0);
  const t = using(batched ? [] : [b], () => one(what, 'Transpose', [b], { perm: { ints: [0, 3, 1, 2] } }));
  return { t, batched };
}
function fromNchw(y: Tensor, batched: boolean, what: string): Tensor {
  const t = one(what, 'Transpose', [y], { perm: { ints: [0, 2, 3, 1] } });
  if (batched) return t;
  return using([t], () => squeeze(t, [0]));
}

function windowAttributes(what: string, kernel: number[], strides: number[], pad: Padding, dilations: number[] = kernel.map(() => 1)): Record<string, Attribute> {
  const attrs: Record<string, Attribute> = { kernel_shape: { ints: kernel }, strides: { ints: strides } };
  if (dilations.some((d) => d !== 1)) attrs.dilations = { ints: dilations };
  // TF's 'same' puts the odd padding at the end: ONNX's SAME_UPPER.
  if (pad === 'same') attrs.auto_pad = { s: 'SAME_UPPER' };
  else if (pad === 'valid') attrs.auto_pad = { s: 'VALID' };
  else if (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0) attrs.pads = { ints: [...kernel, ...kernel].map(() => pad) };
  else throw new Error(`${what}: pad must be 'same', 'valid' or a non-negative integer, got ${JSON.stringify(pad)}`);
  return attrs;
}

function checkFormat(what: string, dataFormat: string) {
  if (dataFormat !== 'NHWC') throw new Error(`${what}: dataFormat '${dataFormat}' is not supported (NHWC, as TF.js's CPU and wasm backends)`);
}

export function conv2d(x: T, filter: T, strides: number | [number, number], pad: Padding, dataFormat = 'NHWC',
  dilations: number | [number, number] = 1): Tensor {
  const what = 'kiln.conv2d';
  checkFormat(what, dataFormat);
  const input = $(x, what), f = $(filter, what);
  if (f.rank !== 4) throw new Error(`${what}: the filter must be [height, width, inChannels, outChannels], got [${f.shape}]`);
  if (input.rank !== 3 && input.rank !== 4) throw new Error(`${what}: expects a [batch, height, width, channels] or [height, width, channels] tensor, got [${input.shape}]`);
  if (f.shape[2] !== input.shape[input.rank - 1])
    throw new Error(`${what}: the filter takes ${f.shape[2]} channels, the input has ${input.shape[input.rank - 1]}`);
  const attrs: Record<string, Attribute> = { strides: { ints: pair(strides) }, dilations: { ints: pair(dilations) } };
  if (pad === 'same' || pad === 'valid') attrs.auto_pad = { s: pad.toUpperCase() };
  else if (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0) attrs.pads = { ints: [pad, pad, pad, pad] };
  else throw new Error(`${what}: pad must be 'same', 'valid' or a non-negative integer, got ${JSON.stringify(pad)}`);
  // Channels-last on the core's conv2d kernels directly (Conv2DNhwc): no transposes.
  const made: Tensor[] = [];
  return using(made, () => {
    const x4 = input.rank === 4 ? as(input, 'float32', made) : (made.push(expandDims(input, 0)), as(made[made.length - 1], 'float32', made));
    const y = one(what, 'Conv2DNhwc', [x4, as(f, 'float32', made)], attrs);
    if (input.rank === 4) return y;
    made.push(y);
    return squeeze(y, [0]);
  });
}

export function depthwiseConv2d(x: T, filter: T, strides: number | [number, number], pad: Padding, dataFormat = 'NHWC',
  dilations: number | [number, number] = 1): Tensor {
  const what = 'kiln.depthwiseConv2d';
  checkFormat(what, dataFormat);
  const input = $(x, what), f = $(filter, what);
  if (f.rank !== 4) throw new Error(`${what}: the filter must be [height, width, inChannels, multiplier], got [${f.shape}]`);
  const channels = f.shape[2];
  if (channels !== input.shape[input.rank - 1])
    throw new Error(`${what}: the filter takes ${channels} channels, the input has ${input.shape[input.rank - 1]}`);
  const { t, batched } = toNchw(input, what);
  // [fh, fw, C, M] -> [C, M, fh, fw] -> [C*M, 1, fh, fw]: one group per input channel.
  const moved = one(what, 'Transpose', [f], { perm: { ints: [2, 3, 0, 1] } });
  const w = using([moved], () => reshape(moved, [channels * f.shape[3], 1, f.shape[0], f.shape[1]]));
  const attrs = { ...windowAttributes(what, [f.shape[0], f.shape[1]], pair(strides), pad, pair(dilations)), group: { i: channels } };
  const y = using([t, w], () => one(what, 'Conv', [t, w], attrs));
  return using([y], () => fromNchw(y, batched, what));
}

/**
 * TF.js's conv2dTranspose (the gradient of conv2d with respect to its input):
 * filter [height, width, outDepth, inDepth], outputShape [batch?, height,
 * width, outDepth], padding as the conv2d it reverses.
 */
export function conv2dTranspose(x: T, filter: T, outputShape: number[], strides: number | [number, number], pad: Padding,
  dimRoundingMode?: string): Tensor {
  const what = 'kiln.conv2dTranspose';
  if (dimRoundingMode !== undefined) throw new Error(`${what}: dimRoundingMode is not supported (only integer padding needs it)`);
  const input = $(x, what), f = $(filter, what);
  if (f.rank !== 4) throw new Error(`${what}: the filter must be [height, width, outDepth, inDepth], got [${f.shape}]`);
  if (!Array.isArray(outputShape) || (outputShape.length !== 3 && outputShape.length !== 4))
    throw new Error(`${what}: outputShape must be [batch, height, width, depth] or [height, width, depth]`);
  const out = outputShape.slice(-3), inShape = input.shape.slice(-3);
  if (f.shape[3] !== inShape[2]) throw new Error(`${what}: the filter takes ${f.shape[3]} channels, the input has ${inShape[2]}`);
  if (f.shape[2] !== out[2]) throw new Error(`${what}: the filter gives ${f.shape[2]} channels, outputShape asks for ${out[2]}`);
  const s = pair(strides), k = [f.shape[0], f.shape[1]];
  const pads = [0, 0, 0, 0], outputPadding = [0, 0];
  for (let a = 0; a < 2; a++) {
    // The padding of the conv2d from outputShape that this reverses (TF's 'same': the odd row at the end).
    let begin: number, forward: number;
    if (pad === 'same') {
      forward = Math.ceil(out[a] / s[a]);
      begin = Math.floor(Math.max((forward - 1) * s[a] + k[a] - out[a], 0) / 2);
    } else if (pad === 'valid') {
      forward = Math.ceil((out[a] - k[a] + 1) / s[a]);
      begin = 0;
    } else if (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0) {
      forward = Math.floor((out[a] + 2 * pad - k[a]) / s[a]) + 1;
      begin = pad;
    } else {
      throw new Error(`${what}: pad must be 'same', 'valid' or a non-negative integer, got ${JSON.stringify(pad)}`);
    }
    if (forward !== inShape[a])
      throw new Error(`${what}: an input of size ${inShape[a]} on axis ${a + 1} cannot come from outputShape [${outputShape}] (conv2d gives ${forward})`);
    const end = s[a] * (inShape[a] - 1) + k[a] - begin - out[a];
    pads[a] = begin;
    if (end >= 0) pads[a + 2] = end;
    else outputPadding[a] = -end;
  }
  const { t, batched } = toNchw(input, what);
  const w = one(what, 'Transpose', [f], { perm: { ints: [3, 2, 0, 1] } });
  const y = using([t, w], () => one(what, 'ConvTranspose', [t, w],
    { kernel_shape: { ints: k }, strides: { ints: s }, pads: { ints: pads }, output_padding: { ints: outputPadding } }));
  return using([y], () => fromNchw(y, batched, what));
}

/** TF.js's conv1d: x [batch?, width, inChannels], filter [width, inChannels, outChannels]. */
export function conv1d(x: T, filter: T, stride: number, pad: Padding, dataFormat = 'NWC', dilation = 1, dimRoundingMode?: string): Tensor {
  const what = 'kiln.conv1d';
  if (dataFormat !== 'NWC') throw new Error(`${what}: dataFormat '${dataFormat}' is not supported (NWC, as TF.js's CPU and wasm backends)`);
  if (dimRoundingMode !== undefined) throw new Error(`${what}: dimRoundingMode is not supported`);
  const input = $(x, what), f = $(filter, what);
  if (input.rank !== 2 && input.rank !== 3) throw new Error(`${what}: expects a [batch, width, channels] or [width, channels] tensor, got [${input.shape}]`);
  if (f.rank !== 3) throw new Error(`${what}: the filter must be [width, inChannels, outChannels], got [${f.shape}]`);
  if (f.shape[1] !== input.shape[input.rank - 1])
    throw new Error(`${what}: the filter takes ${f.shape[1]} channels, the input has ${input.shape[input.rank - 1]}`);
  const attrs = windowAttributes(what, [1, f.shape[0]], [1, stride], pad, [1, dilation]);
  const made: Tensor[] = [];
  return using(made, () => {
    const step = (t: Tensor) => (made.push(t), t);
    const batched = input.rank === 3;
    // As one row of a 2-D image: padding only along the width.
    const b = batched ? input : step(expandDims(input, 0));
    const t = step(one(what, 'Transpose', [step(expandDims(b, 1))], { perm: { ints: [0, 3, 1, 2] } }));
    const w = step(one(what, 'Transpose', [step(expandDims(f, 0))], { perm: { ints: [3, 2, 0, 1] } }));
    if (attrs.pads) attrs.pads = { ints: [0, pad as number, 0, pad as number] };
    const y = step(one(what, 'Conv', [t, w], attrs));
    const nwc = step(one(what, 'Transpose', [y], { perm: { ints: [0, 2, 3, 1] } }));
    return squeeze(nwc, batched ? [1] : [0, 1]);
  });
}

/** TF.js's separableConv2d: a depthwise convolution, then a 1x1 convolution mixing the channels. */
export function separableConv2d(x: T, depthwiseFilter: T, pointwiseFilter: T, strides: number | [number, number], pad: 'same' | 'valid',
  dilation: number | [number, number] = 1, dataFormat = 'NHWC'): Tensor {
  const depthwise = depthwiseConv2d(x, depthwiseFilter, strides, pad, dataFormat, dilation);
  return using([depthwise], () => conv2d(depthwise, pointwiseFilter, 1, 'valid', dataFormat));
}

function pool(name: string, type: string, x: T, filterSize: number | [number, number], strides: number | [number, number], pad: Padding): Tensor {
  const what = `kiln.${name}`;
  const input = $(x, what);
  if (input.dtype === 'float32' && (input.rank === 3 || input.rank === 4)) {
    // Channels-last on the core's pool2d kernels directly (Pool2DNhwc): no transposes.
    const attrs = { ...windowAttributes(what, pair(filterSize), pair(strides), pad), kind: { i: type === 'MaxPool' ? 0 : 1 } };
    if (input.rank === 4) return one(what, 'Pool2DNhwc', [input], attrs);
    const x4 = expandDims(input, 0);
    const y = using([x4], () => one(what, 'Pool2DNhwc', [x4], attrs));
    return using([y], () => squeeze(y, [0]));
  }
  const { t, batched } = toNchw(input, what);
  const y = using([t], () => one(what, type, [t], windowAttributes(what, pair(filterSize), pair(strides), pad)));
  return using([y], () => fromNchw(y, batched, what));
}
export const maxPool = (x: T, filterSize: number | [number, number], strides: number | [number, number], pad: Padding) =>
  pool('maxPool', 'MaxPool', x, filterSize, strides, pad);
/** Padding is left out of each window's average, as in TF.js. */
export const avgPool = (x: T, filterSize: number | [number, number], strides: number | [number, number], pad: Padding) =>
  pool('avgPool', 'AveragePool', x, filterSize, strides, pad);

// ---- 3-D convolution and pooling (NDHWC, as TF.js) ---------------------------------

type Triple = number | [number, number, number];
const triple = (v: Triple): [number, number, number] => (Array.isArray(v) ? v : [v, v, v]);

// NDHWC (or DHWC) to the core's NCDHW and back around `run`.
function channelsFirst3d(what: string, x: Tensor, run: (t: Tensor) => Tensor): Tensor {
  if (x.rank !== 4 && x.rank !== 5) throw new Error(`${what}: expects a [batch, depth, height, width, channels] or [depth, height, width, channels] tensor, got [${x.shape}]`);
  const made: Tensor[] = [];
  return using(made, () => {
    const step = (t: Tensor) => (made.push(t), t);
    const b = x.rank === 5 ? x : step(expandDims(x, 0));
    const y = step(run(step(one(what, 'Transpose', [b], { perm: { ints: [0, 4, 1, 2, 3] } }))));
    const back = one(what, 'Transpose', [y], { perm: { ints: [0, 2, 3, 4, 1] } });
    if (x.rank === 5) return back;
    made.push(back);
    return squeeze(back, [0]);
  });
}

function checkFormat3d(what: string, dataFormat: string) {
  if (dataFormat !== 'NDHWC') throw new Error(`${what}: dataFormat '${dataFormat}' is not supported (NDHWC, as TF.js)`);
}

/** TF.js's conv3d: filter [depth, height, width, inChannels, outChannels]; differentiable (the core's N-D gradient). */
export function conv3d(x: T, filter: T, strides: Triple, pad: 'valid' | 'same', dataFormat = 'NDHWC', dilations: Triple = 1): Tensor {
  const what = 'kiln.conv3d';
  checkFormat3d(what, dataFormat);
  if (pad !== 'same' && pad !== 'valid') throw new Error(`${what}: pad must be 'same' or 'valid', got ${JSON.stringify(pad)}`);
  const input = $(x, what), f = $(filter, what);
  if (f.rank !== 5) throw new Error(`${what}: the filter must be [depth, height, width, inChannels, outChannels], got [${f.shape}]`);
  if (f.shape[3] !== input.shape[input.rank - 1])
    throw new Error(`${what}: the filter takes ${f.shape[3]} channels, the input has ${input.shape[input.rank - 1]}`);
  const w = one(what, 'Transpose', [f], { perm: { ints: [4, 3, 0, 1, 2] } });
  return using([w], () => channelsFirst3d(what, input, (t) =>
    one(what, 'Conv', [t, w], windowAttributes(what, f.shape.slice(0, 3), triple(strides), pad, triple(dilations)))));
}

function pool3d(name: string, type: string, x: T, filterSize: Triple, strides: Triple, pad: 'valid' | 'same' | number,
  dimRoundingMode: unknown, dataFormat: string): Tensor {
  const what = `kiln.${name}`;
  checkFormat3d(what, dataFormat);
  if (dimRoundingMode !== undefined && dimRoundingMode !== null) throw new Error(`${what}: dimRoundingMode is not supported`);
  return channelsFirst3d(what, $(x, what), (t) => one(what, type, [t], windowAttributes(what, triple(filterSize), triple(strides), pad)));
}
/** TF.js's maxPool3d (NDHWC). */
export const maxPool3d = (x: T, filterSize: Triple, strides: Triple, pad: 'valid' | 'same' | number, dimRoundingMode?: unknown, dataFormat = 'NDHWC') =>
  pool3d('maxPool3d', 'MaxPool', x, filterSize, strides, pad, dimRoundingMode, dataFormat);
/** TF.js's avgPool3d (NDHWC); padding is left out of each window's average. */
export const avgPool3d = (x: T, filterSize: Triple, strides: Triple, pad: 'valid' | 'same' | number, dimRoundingMode?: unknown, dataFormat = 'NDHWC') =>
  pool3d('avgPool3d', 'AveragePool', x, filterSize, strides, pad, dimRoundingMode, dataFormat);

/** TF.js's resizeBilinear: corners aligned, half-pixel centers, or neither (TF's legacy asymmetric mapping). */
function resizeBilinear(images: T, size: [number, number], alignCorners = false, halfPixelCenters = false): Tensor {
  const what = 'kiln.resizeBilinear';
  if (alignCorners && halfPixelCenters) throw new Error(`${what}: alignCorners and halfPixelCenters cannot both be true`);
  const input = $(images, what);
  const { t, batched } = toNchw(input, what);
  const sizes = i64([t.shape[0], t.shape[1], size[0], size[1]]);
  const mode = alignCorners ? 'align_corners' : halfPixelCenters ? 'half_pixel' : 'asymmetric';
  const made = [t, sizes];
  const y = using(made, () => one(what, 'Resize', [as(t, 'float32', made), null, null, sizes],
    { mode: { s: 'linear' }, coordinate_transformation_mode: { s: mode } }));
  return using([y], () => fromNchw(y, batched, what));
}

/**
 * TF.js's resizeNearestNeighbor: the source pixel is floor(dst * in / out),
 * rounded with alignCorners, from pixel centers with halfPixelCenters; the dtype is kept.
 */
function resizeNearestNeighbor(images: T, size: [number, number], alignCorners = false, halfPixelCenters = false): Tensor {
  const what = 'kiln.resizeNearestNeighbor';
  if (alignCorners && halfPixelCenters) throw new Error(`${what}: alignCorners and halfPixelCenters cannot both be true`);
  const input = $(images, what);
  const { t, batched } = toNchw(input, what);
  const sizes = i64([t.shape[0], t.shape[1], size[0], size[1]]);
  const made = [t, sizes];
  const ctm = alignCorners ? 'align_corners' : halfPixelCenters ? 'tf_half_pixel_for_nn' : 'asymmetric';
  const y = using(made, () => one(what, 'Resize', [as(t, 'float32', made), null, null, sizes],
    { mode: { s: 'nearest' }, coordinate_transformation_mode: { s: ctm }, nearest_mode: { s: alignCorners ? 'round_prefer_ceil' : 'floor' } }));
  const back = using([y], () => fromNchw(y, batched, what));
  return back.dtype === input.dtype ? back : using([back], () => cast(back, input.dtype));
}

/** TF.js's flipLeftRight: each image of a [batch, height, width, channels] tensor mirrored. */
function flipLeftRight(image: T): Tensor {
  const t = $(image, 'kiln.flipLeftRight');
  if (t.rank !== 4) throw new Error(`kiln.flipLeftRight: expects a [batch, height, width, channels] tensor, got [${t.shape}]`);
  return reverse(t, 2);
}

/**
 * TF.js's nonMaxSuppression: indices (int32) of at most maxOutputSize boxes
 * ([y1, x1, y2, x2] rows), highest score first, each overlapping no kept box
 * by more than iouThreshold and scoring above scoreThreshold (the core's
 * NonMaxSuppression).
 */
function nonMaxSuppression(boxes: T, scores: T, maxOutputSize: number, iouThreshold = 0.5, scoreThreshold = -Infinity): Tensor {
  const what = 'kiln.image.nonMaxSuppression';
  const b = $(boxes, what), sc = $(scores, what);
  if (b.rank !== 2 || b.shape[1] !== 4) throw new Error(`${what}: boxes must be [numBoxes, 4], got [${b.shape}]`);
  if (sc.rank !== 1 || sc.shape[0] !== b.shape[0]) throw new Error(`${what}: scores must be [${b.shape[0]}], got [${sc.shape}]`);
  if (!Number.isInteger(maxOutputSize) || maxOutputSize < 0) throw new Error(`${what}: maxOutputSize must be a non-negative integer, got ${maxOutputSize}`);
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) throw new Error(`${what}: iouThreshold must be in [0, 1], got ${iouThreshold}`);
  const made: Tensor[] = [];
  return using(made, () => {
    const step = (x: Tensor) => (made.push(x), x);
    const b3 = step(reshape(as(b, 'float32', made), [1, b.shape[0], 4]));
    const s3 = step(reshape(as(sc, 'float32', made), [1, 1, sc.shape[0]]));
    // TF.js drops a box whose IoU reaches the threshold (>=), ONNX one that passes it (>):
    // the float32 just below the threshold makes the core's test TF.js's.
    const below = new Float32Array([iouThreshold]);
    const bits = new Int32Array(below.buffer);
    bits[0] += below[0] > 0 ? -1 : below[0] === 0 ? -2147483647 : 1;  // one ulp toward -infinity (0: the smallest negative)
    const inputs = [b3, s3, step(i64([maxOutputSize])), step(tensor(below, [1], 'float32'))];
    if (scoreThreshold !== -Infinity) {
      // TF.js compares the float32 scores with the threshold as a double: the
      // largest float32 not above it makes the core's float32 test the same.
      const t = new Float32Array([scoreThreshold]);
      if (t[0] > scoreThreshold) new Int32Array(t.buffer)[0] += t[0] > 0 ? -1 : 1;
      inputs.push(step(tensor(t, [1], 'float32')));
    }
    const selected = step(one(what, 'NonMaxSuppression', inputs));
    const column = step(slice(selected, [0, 2], [selected.shape[0], 1]));
    return cast(step(reshape(column, [selected.shape[0]])), 'int32');
  });
}

/** The same, resolving a promise (TF.js's nonMaxSuppressionAsync). */
async function nonMaxSuppressionAsync(boxes: T, scores: T, maxOutputSize: number, iouThreshold = 0.5, scoreThreshold = -Infinity): Promise<Tensor> {
  return nonMaxSuppression(boxes, scores, maxOutputSize, iouThreshold, scoreThreshold);
}

/**
 * TF.js's cropAndResize: for each box ([y1, x1, y2, x2], normalized) of
 * image boxInd[i], a cropSize sample grid, bilinear or nearest, with
 * extrapolationValue where a sample falls outside the image. The grid is
 * built with ops and sampled by the core's GridSample.
 */
function cropAndResize(image: T, boxes: T, boxInd: T, cropSize: [number, number], method: 'bilinear' | 'nearest' = 'bilinear',
  extrapolationValue = 0): Tensor {
  const what = 'kiln.image.cropAndResize';
  const img = $(image, what), b = $(boxes, what), ind = $(boxInd, what, 'int32');
  if (img.rank !== 4) throw new Error(`${what}: image must be [batch, height, width, channels], got [${img.shape}]`);
  if (b.rank !== 2 || b.shape[1] !== 4) throw new Error(`${what}: boxes must be [numBoxes, 4], got [${b.shape}]`);
  if (ind.rank !== 1 || ind.shape[0] !== b.shape[0]) throw new Error(`${what}: boxInd must be [${b.shape[0]}], got [${ind.shape}]`);
  if (!Array.isArray(cropSize) || cropSize.length !== 2 || cropSize.some((d) => !Number.isInteger(d) || d <= 0))
    throw new Error(`${what}: cropSize must be [height, width] of positive integers`);
  if (method !== 'bilinear' && method !== 'nearest') throw new Error(`${what}: method must be 'bilinear' or 'nearest', got '${method}'`);
  const [, h, w] = img.shape;
  const [ch, cw] = cropSize;
  const made: Tensor[] = [];
  return using(made, () => {
    const step = (x: Tensor) => (made.push(x), x);
    // Coordinates in float64, as TF.js's kernel computes them (rounding for 'nearest' depends on it).
    const box = step(as(b, 'float64', made));
    const col = (k: number) => step(slice(box, [0, k], [box.shape[0], 1]));  // [n, 1]
    // Source coordinates, as TF: y1 (h - 1) + i (y2 - y1) (h - 1) / (ch - 1); the box's middle for one sample.
    const f64 = (v: number) => step(tensor(v, [], 'float64'));  // scalars in float64 too (numbers convert to float32)
    const coords = (lo: Tensor, hi: Tensor, size: number, count: number): Tensor => {
      const extent = f64(size - 1);
      if (count === 1) return step(mul(step(mul(step(add(lo, hi)), f64(0.5))), extent));
      const steps = step(reshape(step(cast(step(range(0, count, 1, 'int32')), 'float64')), [1, count]));
      const stride = step(div(step(mul(step(sub(hi, lo)), extent)), f64(count - 1)));
      return step(add(step(mul(lo, extent)), step(mul(steps, stride))));  // [n, count]
    };
    let ys = coords(col(0), col(2), h, ch), xs = coords(col(1), col(3), w, cw);
    const outside = step(logicalOr(step(reshape(step(logicalOr(step(less(ys, f64(0))), step(greater(ys, f64(h - 1))))), [-1, ch, 1])),
      step(reshape(step(logicalOr(step(less(xs, f64(0))), step(greater(xs, f64(w - 1))))), [-1, 1, cw]))));  // [n, ch, cw]
    // TF rounds half away from zero; GridSample's nearest rounds half to even: give it whole coordinates.
    if (method === 'nearest') ys = step(floor(step(add(ys, f64(0.5))))), xs = step(floor(step(add(xs, f64(0.5)))));
    // GridSample with aligned corners: -1 and 1 are the first and last pixel centers.
    const normal = (v: Tensor, size: number) => (size > 1 ? step(sub(step(div(step(mul(v, f64(2))), f64(size - 1))), f64(1))) : step(mul(v, f64(0))));
    const gy = step(expandDims(step(reshape(normal(ys, h), [-1, ch, 1])), 3)), gx = step(expandDims(step(reshape(normal(xs, w), [-1, 1, cw])), 3));
    const full = [b.shape[0], ch, cw, 1];
    const grid = step(cast(step(concat([step(add(gx, step(zeros(full, 'float64')))), step(add(gy, step(zeros(full, 'float64'))))], 3)), 'float32'));  // (x, y)
    const picked = step(gather(step(as(img, 'float32', made)), ind, 0));
    const nchw = step(one(what, 'Transpose', [picked], { perm: { ints: [0, 3, 1, 2] } }));
    const sampled = step(one(what, 'GridSample', [nchw, grid], { mode: { s: method }, padding_mode: { s: 'zeros' }, align_corners: { i: 1 } }));
    const nhwc = step(one(what, 'Transpose', [sampled], { perm: { ints: [0, 2, 3, 1] } }));
    return where(step(expandDims(outside, 3)), extrapolationValue, nhwc);
  });
}

/** tf.image: image ops. */
export const image = { resizeBilinear, resizeNearestNeighbor, flipLeftRight, nonMaxSuppression, nonMaxSuppressionAsync, cropAndResize, ...imageOps };

/** TF.js's batchNorm: (x - mean) / sqrt(variance + varianceEpsilon) * scale + offset, each broadcast. */
export function batchNorm(x: T, mean: T, variance: T, offset?: T, scale?: T, varianceEpsilon = 0.001): Tensor {
  const made: Tensor[] = [];
  return using(made, () => {
    const step = (t: Tensor) => (made.push(t), t);
    const centered = step(sub(x, mean));
    const inv = step(rsqrt(step(add(variance, varianceEpsilon))));
    let y = mul(centered, scale === undefined ? inv : step(mul(inv, scale)));
    if (offset !== undefined) {
      made.push(y);
      y = add(y, offset);
    }
    return y;
  });
}

/** Mean and variance over `axis` (all axes when absent). */
export function moments(x: T, axis?: number | number[], keepDims = false): { mean: Tensor; variance: Tensor } {
  const t = $(x, 'kiln.moments');
  const m = mean(t, axis, true);
  const d = squaredDifference(t, m);
  const variance = using([d], () => mean(d, axis, keepDims));
  return { mean: keepDims ? m : using([m], () => reshape(m, variance.shape)), variance };
}

/** TF.js's norm: 'euclidean' (2), 1, Infinity, -Infinity, or 'fro' over one or two axes. */
export function norm(x: T, ord: number | 'euclidean' | 'fro' = 'euclidean', axis?: number | number[], keepDims = false): Tensor {
  const what = 'kiln.norm';
  const t = $(x, what);
  if (ord === 'euclidean' || ord === 'fro' || ord === 2) return reduce('norm', 'ReduceL2', t, axis, keepDims);
  if (ord === 1) return reduce('norm', 'ReduceL1', t, axis, keepDims);
  if (ord === Infinity || ord === -Infinity) {
    const a = abs(t);
    return using([a], () => (ord === Infinity ? max : min)(a, axis, keepDims));
  }
  throw new Error(`${what}: ord ${String(ord)} is not supported ('euclidean', 'fro', 1, 2, Infinity, -Infinity)`);
}

// ---- random ------------------------------------------------------------------------------

/** Values from the core's seeded generator (PCG32): a seed repeats them; without one each call differs. */
function random(what: string, type: string, shape: Shape, attrs: Record<string, Attribute>, dtype: DataType, seed?: number): Tensor {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`${what}: invalid shape [${shape}]`);
  if (seed !== undefined && !Number.isFinite(seed)) throw new Error(`${what}: seed must be a number, got ${seed}`);
  const all = { ...attrs, shape: { ints: shape } as Attribute, ...(seed !== undefined ? { seed: { f: Math.trunc(seed) } as Attribute } : {}) };
  if (dtype === 'float32') return one(what, type, [], all);
  if (dtype !== 'int32') throw new Error(`${what}: dtype must be float32 or int32, got ${dtype}`);
  const v = one(what, type, [], all);
  return using([v], () => {
    const f = one(what, 'Floor', [v]);
    return using([f], () => cast(f, 'int32'));
  });
}

/** Uniform in [minval, maxval); int32 values are floored, as TF.js's. */
export function randomUniform(shape: Shape, minval = 0, maxval = 1, dtype: DataType = 'float32', seed?: number): Tensor {
  if (!(minval < maxval)) throw new Error(`kiln.randomUniform: minval (${minval}) must be less than maxval (${maxval})`);
  return random('kiln.randomUniform', 'RandomUniform', shape, { low: { f: minval }, high: { f: maxval } }, dtype, seed);
}

export function randomNormal(shape: Shape, mean = 0, stdDev = 1, dtype: DataType = 'float32', seed?: number): Tensor {
  if (!(stdDev >= 0)) throw new Error(`kiln.randomNormal: stdDev must not be negative, got ${stdDev}`);
  return random('kiln.randomNormal', 'RandomNormal', shape, { mean: { f: mean }, scale: { f: stdDev } }, dtype, seed);
}

/**
 * Class indices drawn from each row of logits (unnormalized log-probabilities,
 * or probabilities when normalized), as TF.js's multinomial: int32
 * [numSamples] for 1-D logits, [batch, numSamples] for 2-D.
 */
export function multinomial(logits: T, numSamples: number, seed?: number, normalized = false): Tensor {
  const what = 'kiln.multinomial';
  const t = $(logits, what);
  if (t.rank !== 1 && t.rank !== 2) throw new Error(`${what}: logits must be 1-D or 2-D, got shape [${t.shape}]`);
  if (!Number.isInteger(numSamples) || numSamples < 0) throw new Error(`${what}: numSamples must be a non-negative integer, got ${numSamples}`);
  if (seed !== undefined && !Number.isFinite(seed)) throw new Error(`${what}: seed must be a number, got ${seed}`);
  const made: Tensor[] = [];
  return using(made, () => {
    const step = (x: Tensor) => (made.push(x), x);
    const floats = step(cast(t, 'float32'));
    const rows = t.rank === 1 ? step(expandDims(floats, 0)) : floats;
    const input = normalized ? step(one(what, 'Log', [rows])) : rows;
    const attrs: Record<string, Attribute> = { sample_size: { i: numSamples }, dtype: { i: 6 } };
    if (seed !== undefined) attrs.seed = { f: Math.trunc(seed) };
    const drawn = one(what, 'Multinomial', [input], attrs);
    if (t.rank === 2) return drawn;
    made.push(drawn);
    return reshape(drawn, [numSamples]);
  });
}

/** Normal values, those beyond two standard deviations drawn again (TF.js's truncatedNormal). */
export function truncatedNormal(shape: Shape, mean = 0, stdDev = 1, dtype: DataType = 'float32', seed?: number): Tensor {
  if (!(stdDev >= 0)) throw new Error(`kiln.truncatedNormal: stdDev must not be negative, got ${stdDev}`);
  return random('kiln.truncatedNormal', 'TruncatedNormal', shape, { mean: { f: mean }, scale: { f: stdDev } }, dtype, seed);
}

// ---- creation ------------------------------------------------------------------

function filled(shape: Shape, value: number, dtype: DataType): Tensor {
  const t = tensor(value, [], dtype);
  const s = i64(shape);
  return using([t, s], () => one('kiln.fill', 'Expand', [t, s]));
}
export const zeros = (shape: Shape, dtype: DataType = 'float32') => filled(shape, 0, dtype);
export const ones = (shape: Shape, dtype: DataType = 'float32') => filled(shape, 1, dtype);
export function fill(shape: Shape, value: number, dtype: DataType = 'float32'): Tensor {
  return filled(shape, value, dtype);
}
export const zerosLike = (x: T) => { const t = $(x, 'kiln.zerosLike'); return zeros(t.shape, t.dtype); };
export const onesLike = (x: T) => { const t = $(x, 'kiln.onesLike'); return ones(t.shape, t.dtype); };

export function range(start: number, stop?: number, step = 1, dtype: 'float32' | 'int32' = 'float32'): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('kiln.range: step cannot be 0');
  const made = [tensor(start, [], dtype), tensor(stop, [], dtype), tensor(step, [], dtype)];
  return using(made, () => one('kiln.range', 'Range', made));
}

export function linspace(start: number, stop: number, num: number): Tensor {
  if (!Number.isInteger(num) || num < 1) throw new Error(`kiln.linspace: num must be a positive integer, got ${num}`);
  const steps = range(0, num, 1, 'float32');
  return using([steps], () => {
    const scaled = mul(steps, num > 1 ? (stop - start) / (num - 1) : 0);
    return using([scaled], () => add(scaled, start));
  });
}

export function eye(numRows: number, numColumns = numRows, batchShape?: number[], dtype: DataType = 'float32'): Tensor {
  const z = zeros([numRows, numColumns], dtype);
  const e = using([z], () => one('kiln.eye', 'EyeLike', [z]));
  if (!batchShape || batchShape.length === 0) return e;
  const s = i64([...batchShape, numRows, numColumns]);
  return using([e, s], () => one('kiln.eye', 'Expand', [e, s]));
}

export const tensor1d = (values: TensorLike, dtype?: DataType) => ranked('tensor1d', 1, values, undefined, dtype);
export const tensor3d = (values: TensorLike, shape?: Shape, dtype?: DataType) => ranked('tensor3d', 3, values, shape, dtype);
export const tensor4d = (values: TensorLike, shape?: Shape, dtype?: DataType) => ranked('tensor4d', 4, values, shape, dtype);
function ranked(name: string, rank: number, values: TensorLike, shape?: Shape, dtype?: DataType): Tensor {
  const t = tensor(values, shape, dtype);
  if (t.rank !== rank) {
    t.dispose();
    throw new Error(`kiln.${name}: expected rank ${rank}, got shape [${t.shape}]`);
  }
  return t;
}

// ---- chainable Tensor methods ----------------------------------------------------------

const METHODS = {
  add, sub, mul, div, floorDiv, mod, pow, maximum, minimum, squaredDifference, equal, notEqual, less, lessEqual, greater,
  greaterEqual, logicalAnd, logicalOr, logicalXor, logicalNot, abs, neg, sign, relu, relu6, floor, ceil, round, exp, log,
  log1p, expm1, sqrt, rsqrt, square, reciprocal, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, asinh, acosh, atanh,
  sigmoid, softplus, erf, elu, selu, leakyRelu, isNaN, isInf, isFinite, clipByValue, matMul, dot, transpose, sum, prod,
  max, min, mean, logSumExp, all, any, argMax, argMin, softmax, logSoftmax, reshape, expandDims, squeeze, cast, clone,
  slice, reverse, gather, tile, pad, split, unstack, topk, conv1d, conv2d, conv2dTranspose, depthwiseConv2d, separableConv2d,
  maxPool, avgPool,
  batchNorm, moments, norm,
};
type Methods = typeof METHODS;
type Rest<F> = F extends (x: any, ...rest: infer R) => infer Out ? (...rest: R) => Out : never;

declare module './tensor.js' {
  interface Tensor extends TensorOps {}
}
export type TensorOps = { [K in keyof Methods]: Rest<Methods[K]> } & {
  flatten(): Tensor;
  asType(dtype: DataType): Tensor;
  toFloat(): Tensor;
  toInt(): Tensor;
  toBool(): Tensor;
  reshapeAs(x: Tensor): Tensor;
  concat(tensors: T | T[], axis?: number): Tensor;
};

for (const [name, fn] of Object.entries(METHODS))
  Object.defineProperty(Tensor.prototype, name, {
    value(this: Tensor, ...args: unknown[]) { return (fn as (...a: unknown[]) => unknown)(this, ...args); },
    writable: true, configurable: true,
  });
Object.assign(Tensor.prototype, {
  flatten(this: Tensor) { return reshape(this, [-1]); },
  asType(this: Tensor, dtype: DataType) { return cast(this, dtype); },
  toFloat(this: Tensor) { return cast(this, 'float32'); },
  toInt(this: Tensor) { return cast(this, 'int32'); },
  toBool(this: Tensor) { return cast(this, 'bool'); },
  reshapeAs(this: Tensor, x: Tensor) { return reshape(this, x.shape); },
  concat(this: Tensor, tensors: T | T[], axis = 0) { return concat([this, ...(Array.isArray(tensors) ? tensors : [tensors])], axis); },
});
