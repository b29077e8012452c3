// Tensors: typed values with a shape, held in a TensorStorage (storage.ts:
// JavaScript memory today). Mirrors TF.js's Tensor surface, with the dtypes of
// TF.js and ONNX Runtime Web (dtypes.ts).
import { checkDataType, convert, DataType, DataTypeMap, DTYPES, inferDataType, isTypedArray, Scalar, TypedArray } from './dtypes.js';
import { CpuStorage, TensorStorage } from './storage.js';
import { trackTensor, untrackTensor } from './engine.js';

export type Shape = number[];
export type TensorLike = TypedArray | Uint8ClampedArray | Scalar | TensorLike[];

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DataType;
  readonly size: number;
  readonly storage: TensorStorage;

  /**
   * `values` in `dtype`'s typed array (dtypes.ts), taken as they are: kiln.tensor() converts.
   * @internal `storage`: where they are kept instead (a Variable's, or the
   * wasm heap's, with values null).
   */
  constructor(values: TypedArray | null, shape: Shape, dtype: DataType = 'float32', storage?: TensorStorage) {
    const array = DTYPES[checkDataType(dtype, 'tensor')].array;
    const size = shapeSize(shape);
    if (values !== null || !storage) {
      if (!(values instanceof array))
        throw new Error(`tensor: ${dtype} values are held in a ${array.name}, got ${describe(values)}`);
      if (size !== values.length)
        throw new Error(`tensor: shape [${shape}] needs ${size} values but ${values.length} were given`);
    }
    this.shape = Object.freeze(shape.slice()) as Shape;
    this.dtype = dtype;
    this.size = size;
    this.storage = storage ?? new CpuStorage(values!);
    // Shape and dtype are fixed once made, as in TF.js: the core trusts them
    // to size its reads, so a caller must not be able to change them after
    // the data was checked (assignments throw in strict mode, do nothing
    // otherwise). A subclass freezes once its own fields are set.
    if (new.target === Tensor) Object.freeze(this);
    trackTensor(this);
  }

  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this.storage.disposed; }

  /** The values in the dtype's typed array; `D` only narrows the static type, as in TF.js. */
  dataSync<D extends DataType = DataType>(): DataTypeMap[D] { return this.checked(this.storage.readSync()) as DataTypeMap[D]; }
  async data<D extends DataType = DataType>(): Promise<DataTypeMap[D]> { return this.checked(await this.storage.read()) as DataTypeMap[D]; }

  // The values a caller handed over are kept, and a typed array on a
  // resizable ArrayBuffer can shrink later: checked at every read, so the
  // core never reads past them.
  private checked(values: TypedArray): TypedArray {
    if (values.length !== this.size)
      throw new Error(`tensor: its data now holds ${values.length} values but its shape [${this.shape}] needs ${this.size} (was its buffer resized?)`);
    return values;
  }

  /** Nested arrays of the elements (bigints for int64/uint64, 0/1 for bool, half bits for float16). */
  arraySync(): any { return nest(this.dataSync(), this.shape); }
  async array(): Promise<any> { return nest(await this.data(), this.shape); }

  /** Frees the values; later reads throw. Counted once (TF.js's memory().numTensors). */
  dispose(): void {
    if (this.storage.disposed) return;
    const bytes = this.storage.byteLength;
    this.storage.dispose();
    untrackTensor(this, bytes);
  }
  toString(): string { return `Tensor ${this.dtype} [${this.shape}]`; }
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`tensor: invalid shape [${shape}] (dimensions must be non-negative integers)`);
    n *= d;
  }
  return n;
}

function describe(v: unknown): string {
  return v === null || typeof v !== 'object' ? typeof v : (v.constructor?.name ?? 'an object');
}

function nest(v: TypedArray, shape: Shape): any {
  if (shape.length === 0) return v[0];
  const build = (dim: number, offset: number): any[] => {
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[dim] }, (_, i) => (dim === shape.length - 1 ? v[offset + i] : build(dim + 1, offset + i * stride)));
  };
  return build(0, 0);
}

function flatten(values: TensorLike, out: Scalar[], shape: number[], depth: number): void {
  const length = Array.isArray(values) || isTypedArray(values) ? values.length : null;
  if (length !== null) {
    if (shape.length <= depth) shape.push(length);
    else if (shape[depth] !== length) throw new Error('tensor: nested arrays are ragged');
  }
  if (Array.isArray(values)) for (const v of values) flatten(v, out, shape, depth + 1);
  else if (isTypedArray(values)) for (const v of values) out.push(v);
  else if (typeof values === 'number' || typeof values === 'boolean' || typeof values === 'bigint') out.push(values);
  else throw new Error(`tensor: values must be numbers, booleans, bigints, (nested) arrays or typed arrays, got ${describe(values)}`);
}

/**
 * kiln.tensor(values, shape?, dtype?) as in TF.js. Without a dtype it follows
 * the values: a typed array's own (Uint8Array: uint8, Uint16Array: uint16),
 * float32 for numbers, bool for booleans, int64 for bigints. A dtype that
 * differs converts as TF.js does: integers truncate and wrap, bool is
 * Math.round(x) !== 0, float16 rounds to the nearest half (a Uint16Array given
 * for float16 is taken as half bits). A typed array of the dtype is kept, not copied.
 */
export function tensor(values: TensorLike, shape?: Shape, dtype?: DataType): Tensor {
  const to = dtype === undefined ? undefined : checkDataType(dtype, 'tensor');
  let leaf: unknown = values;
  while (Array.isArray(leaf)) leaf = leaf[0];
  const from = inferDataType(leaf);
  let flat: ArrayLike<Scalar>;
  const inferred: number[] = [];
  if (isTypedArray(values)) {
    flat = values;
    inferred.push(values.length);
  } else {
    const leaves: Scalar[] = [];
    flatten(values, leaves, inferred, 0);
    flat = leaves;
  }
  return new Tensor(convert(flat, from, to ?? from), shape ?? inferred, to ?? from);
}

export function tensor2d(values: TensorLike, shape?: [number, number], dtype?: DataType): Tensor {
  const t = tensor(values, shape, dtype);
  if (t.rank !== 2) throw new Error(`tensor2d: expected rank 2, got shape [${t.shape}]`);
  return t;
}

export function scalar(value: Scalar, dtype?: DataType): Tensor {
  if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'bigint')
    throw new Error(`scalar: expected a number, boolean or bigint, got ${describe(value)}`);
  return tensor(value, [], dtype);
}

/** The values as float32, converted as TF.js's cast does: what Layers models compute on. */
export function float32Data(t: Tensor): Float32Array {
  return convert(t.dataSync(), t.dtype, 'float32') as Float32Array;
}
