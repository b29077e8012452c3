// Tensors: float32 values with a shape, held in JavaScript memory (the wasm
// heap is a scratch area during calls). Mirrors TF.js's Tensor surface.

export type Shape = number[];
export type TensorLike = Float32Array | number[] | number | TensorLike[];

export class Tensor {
  readonly shape: Shape;
  readonly dtype = 'float32' as const;
  readonly size: number;
  private values: Float32Array | null;

  constructor(values: Float32Array, shape: Shape) {
    const size = shapeSize(shape);
    if (size !== values.length)
      throw new Error(`tensor: shape [${shape}] needs ${size} values but ${values.length} were given`);
    this.shape = shape.slice();
    this.size = size;
    this.values = values;
  }

  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this.values === null; }

  dataSync(): Float32Array {
    if (!this.values) throw new Error('tensor: this tensor was disposed');
    return this.values;
  }
  async data(): Promise<Float32Array> { return this.dataSync(); }

  arraySync(): any {
    const v = this.dataSync();
    if (this.rank === 0) return v[0];
    const build = (dim: number, offset: number): any => {
      const n = this.shape[dim];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out = [];
      for (let i = 0; i < n; i++) out.push(dim === this.rank - 1 ? v[offset + i] : build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }
  async array(): Promise<any> { return this.arraySync(); }

  dispose(): void { this.values = null; }
  toString(): string { return `Tensor float32 [${this.shape}]`; }
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`tensor: invalid shape [${shape}] (dimensions must be non-negative integers)`);
    n *= d;
  }
  return n;
}

function flatten(values: TensorLike, out: number[], shape: number[], depth: number): void {
  if (Array.isArray(values)) {
    if (shape.length <= depth) shape.push(values.length);
    else if (shape[depth] !== values.length) throw new Error('tensor: nested arrays are ragged');
    for (const v of values) flatten(v as TensorLike, out, shape, depth + 1);
  } else if (values instanceof Float32Array) {
    if (shape.length <= depth) shape.push(values.length);
    for (const v of values) out.push(v);
  } else if (typeof values === 'number') {
    out.push(values);
  } else {
    throw new Error(`tensor: values must be numbers, arrays or a Float32Array, got ${typeof values}`);
  }
}

/** kiln.tensor(values, shape?, dtype?) as in TF.js; float32 only for now. */
export function tensor(values: TensorLike, shape?: Shape, dtype: string = 'float32'): Tensor {
  if (dtype !== 'float32') throw new Error(`tensor: dtype '${dtype}' is not supported (Kiln tensors are float32)`);
  let data: Float32Array;
  let inferred: number[] = [];
  if (values instanceof Float32Array) {
    data = values;
    inferred = [values.length];
  } else {
    const flat: number[] = [];
    flatten(values, flat, inferred, 0);
    data = Float32Array.from(flat);
  }
  return new Tensor(data, shape ?? inferred);
}

export function tensor2d(values: TensorLike, shape?: [number, number]): Tensor {
  const t = tensor(values, shape);
  if (t.rank !== 2) throw new Error(`tensor2d: expected rank 2, got shape [${t.shape}]`);
  return t;
}

export function scalar(value: number): Tensor { return new Tensor(Float32Array.of(value), []); }
