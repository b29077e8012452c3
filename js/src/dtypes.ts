// The element types of kiln.Tensor: TF.js's names (float32, int32, bool) and
// ONNX Runtime Web's for the rest, each held in its typed array (bool as 0/1
// bytes, float16 as half bits), with its ONNX TensorProto code: the numbering
// kiln.onnx passes to the core (src/io/onnx_model.h).
import { floatToHalf, halfToFloat } from './float16.js';

export interface DataTypeMap {
  float32: Float32Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  uint8: Uint8Array;
  int8: Int8Array;
  float16: Uint16Array;
  float64: Float64Array;
  int16: Int16Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
}
export type DataType = keyof DataTypeMap;
export type TypedArray = DataTypeMap[DataType];
/** One element as JavaScript gives it. */
export type Scalar = number | bigint | boolean;

interface ArrayClass {
  new (length: number): TypedArray;
  new (buffer: ArrayBuffer): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

export const DTYPES: Record<DataType, { array: ArrayClass; onnx: number }> = {
  float32: { array: Float32Array, onnx: 1 },
  int32: { array: Int32Array, onnx: 6 },
  int64: { array: BigInt64Array, onnx: 7 },
  bool: { array: Uint8Array, onnx: 9 },
  uint8: { array: Uint8Array, onnx: 2 },
  int8: { array: Int8Array, onnx: 3 },
  float16: { array: Uint16Array, onnx: 10 },
  float64: { array: Float64Array, onnx: 11 },
  int16: { array: Int16Array, onnx: 5 },
  uint16: { array: Uint16Array, onnx: 4 },
  uint32: { array: Uint32Array, onnx: 12 },
  uint64: { array: BigUint64Array, onnx: 13 },
};
const NAMES = Object.keys(DTYPES) as DataType[];

function isDataType(name: unknown): name is DataType {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, name);
}

export function checkDataType(name: unknown, what: string): DataType {
  if (!isDataType(name)) throw new Error(`${what}: unknown dtype '${String(name)}' (supported: ${NAMES.join(', ')})`);
  return name;
}

/** The dtype of an ONNX TensorProto code, or null when kiln.Tensor has none (string, bfloat16). */
export function dataTypeOfOnnx(code: number): DataType | null {
  return NAMES.find((d) => DTYPES[d].onnx === code) ?? null;
}

export function isTypedArray(v: unknown): v is TypedArray | Uint8ClampedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** The dtype a value implies when none is given: its typed array's, else float32 for numbers, bool, int64 for bigints. */
export function inferDataType(leaf: unknown): DataType {
  if (leaf instanceof Uint8Array || leaf instanceof Uint8ClampedArray) return 'uint8';
  if (isTypedArray(leaf)) {
    const d = NAMES.find((n) => leaf instanceof DTYPES[n].array && n !== 'float16');
    if (!d) throw new Error(`tensor: a ${leaf.constructor.name} has no kiln dtype (supported: ${NAMES.join(', ')})`);
    return d;
  }
  if (typeof leaf === 'boolean') return 'bool';
  if (typeof leaf === 'bigint') return 'int64';
  return 'float32';
}

/** `values` (of dtype `from`) as dtype `to`'s typed array: the same array when it already is one. */
export function convert(values: ArrayLike<Scalar>, from: DataType, to: DataType): TypedArray {
  const target = DTYPES[to].array;
  if (values instanceof target && (from === to || (to === 'float16' && from === 'uint16'))) {
    // A Uint16Array given for float16 holds the half bits, as in ONNX Runtime Web.
    return values as TypedArray;
  }
  const read: (v: Scalar) => Scalar = from === 'float16' ? (v) => halfToFloat(v as number) : (v) => v;
  const write = writer(to, from);
  const out = new target(values.length) as unknown as { [i: number]: Scalar; length: number };
  for (let i = 0; i < values.length; i++) out[i] = write(read(values[i]));
  return out as unknown as TypedArray;
}

// How one element is stored, following TF.js's toTypedArray: floats take the
// number, integer arrays truncate and wrap (as typed arrays store numbers),
// bool is 1 where Math.round(x) !== 0.
function writer(to: DataType, from: DataType): (v: Scalar) => Scalar {
  switch (to) {
    case 'bool': return (v) => (typeof v === 'bigint' ? v !== 0n : Math.round(Number(v)) !== 0) ? 1 : 0;
    case 'float16': return from === 'uint16' ? (v) => v : (v) => floatToHalf(Number(v));
    case 'int64':
    case 'uint64': return toBigInt;
    default: return Number;
  }
}

// Numbers into 64-bit arrays as into Int32Array: truncated, non-finite to 0 (the array wraps).
function toBigInt(v: Scalar): bigint {
  if (typeof v === 'bigint') return v;
  const n = Number(v);
  return Number.isFinite(n) ? BigInt(Math.trunc(n)) : 0n;
}
