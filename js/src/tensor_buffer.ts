// TF.js's TensorBuffer (tf.buffer): a mutable array of values with a shape,
// written element by element in JavaScript and made into a tensor at the
// end (a program building a one-hot input, say). Its values are plain
// JavaScript memory; toTensor() copies them.
import { checkDataType, DataType, DTYPES, TypedArray } from './dtypes.js';
import { Shape, Tensor } from './tensor.js';

export class TensorBuffer {
  readonly shape: Shape;
  readonly dtype: DataType;
  readonly size: number;
  readonly values: TypedArray;
  readonly strides: number[];

  constructor(shape: Shape, dtype: DataType = 'float32', values?: TypedArray) {
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
      throw new Error(`buffer: shape must be a list of non-negative integers, got [${shape}]`);
    this.dtype = checkDataType(dtype, 'buffer');
    this.shape = shape.slice();
    this.size = shape.reduce((a, b) => a * b, 1);
    const array = DTYPES[this.dtype].array;
    if (values !== undefined) {
      if (!(values instanceof array)) throw new Error(`buffer: ${this.dtype} values are held in a ${array.name}`);
      if (values.length !== this.size) throw new Error(`buffer: shape [${shape}] needs ${this.size} values, got ${values.length}`);
      this.values = values;
    } else {
      this.values = new array(this.size);
    }
    this.strides = [];
    for (let d = shape.length - 2, s = 1; d >= 0; d--) this.strides.unshift(s *= shape[d + 1]);
  }

  /** The flat index of a location (one coordinate per axis). */
  locToIndex(locs: number[]): number {
    if (locs.length !== this.shape.length)
      throw new Error(`buffer: a location needs ${this.shape.length} coordinates, got ${locs.length}`);
    let index = 0;
    locs.forEach((c, d) => {
      if (!Number.isInteger(c) || c < 0 || c >= this.shape[d])
        throw new Error(`buffer: coordinate ${c} of axis ${d} is outside [0, ${this.shape[d]})`);
      index += d < this.strides.length ? c * this.strides[d] : c;
    });
    return index;
  }
  /** The location of a flat index. */
  indexToLoc(index: number): number[] {
    const locs: number[] = [];
    for (const s of this.strides) {
      locs.push(Math.floor(index / s));
      index -= locs[locs.length - 1] * s;
    }
    if (this.shape.length) locs.push(index);
    return locs;
  }
  set(value: number | bigint, ...locs: number[]): void {
    (this.values as unknown as (number | bigint)[])[this.locToIndex(locs)] = this.dtype === 'int64' || this.dtype === 'uint64' ? BigInt(value) : Number(value);
  }
  get(...locs: number[]): number | bigint {
    return this.values[this.locToIndex(locs)];
  }
  /** A tensor of a copy of the values. */
  toTensor(): Tensor {
    return new Tensor(this.values.slice() as TypedArray, this.shape, this.dtype);
  }
}

/** TF.js's tf.buffer(shape, dtype, values). */
export function buffer(shape: Shape, dtype: DataType = 'float32', values?: TypedArray): TensorBuffer {
  return new TensorBuffer(shape, dtype, values);
}

// TF.js's tensor.bufferSync() and tensor.buffer(): the values copied into a TensorBuffer.
declare module './tensor.js' {
  interface Tensor {
    /** The values in a new TensorBuffer (a copy; writing it leaves the tensor as it is). */
    bufferSync(): TensorBuffer;
    /** bufferSync(), as a promise (TF.js's async form). */
    buffer(): Promise<TensorBuffer>;
  }
}
Tensor.prototype.bufferSync = function bufferSync(this: Tensor): TensorBuffer {
  return new TensorBuffer(this.shape.slice(), this.dtype, this.dataSync().slice() as TypedArray);
};
Tensor.prototype.buffer = async function buffer(this: Tensor): Promise<TensorBuffer> {
  return this.bufferSync();
};
