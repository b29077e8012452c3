// Where a tensor's values live and how they are read: a typed array in
// JavaScript memory ('cpu': tensors the program made), or a value in the
// wasm heap ('wasm': results of ops, heap_storage.ts), read back on demand.
// This is the seam for a GPU backend: its storage would keep a device
// buffer, read() would map it back asynchronously and readSync() would have
// to wait or refuse (TF.js's WebGPU backend warns on dataSync), so data()
// awaits read().
import type { TypedArray } from './dtypes.js';

export type StorageLocation = 'cpu' | 'wasm';

export interface TensorStorage {
  readonly location: StorageLocation;
  readonly disposed: boolean;
  /** The bytes the values take (0 once disposed). */
  readonly byteLength: number;
  readSync(): TypedArray;
  read(): Promise<TypedArray>;
  dispose(): void;
}

export class CpuStorage implements TensorStorage {
  readonly location = 'cpu' as const;
  protected values: TypedArray | null;
  private release: (() => void) | null = null;

  constructor(values: TypedArray) { this.values = values; }

  /** @internal A copy kept elsewhere (the wasm heap, by op_runner.ts) and how to free it with this storage. */
  keepCopy(release: () => void): void {
    this.release?.();
    this.release = release;
  }

  get disposed(): boolean { return this.values === null; }
  get byteLength(): number { return this.values ? this.values.byteLength : 0; }
  readSync(): TypedArray {
    if (!this.values) throw new Error('tensor: this tensor was disposed');
    return this.values;
  }
  async read(): Promise<TypedArray> { return this.readSync(); }
  dispose(): void {
    this.values = null;
    this.dropCopy();
  }

  /** Frees the kept copy (it no longer matches the values). */
  protected dropCopy(): void {
    this.release?.();
    this.release = null;
  }
}

/** A Variable's storage: assign() puts new values in place of the old (never changed in place). */
export class VariableStorage extends CpuStorage {
  swap(values: TypedArray): void {
    if (this.values === null) throw new Error('variable: this variable was disposed');
    this.values = values;
    this.dropCopy();
  }
}
