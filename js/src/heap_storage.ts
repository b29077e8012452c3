// Tensor values kept in the wasm heap as a core value handle
// (src/wasm/c_api_ops.cc): what every op of the ops API returns, so the next
// op reads it where it is and a chain of ops copies nothing between
// JavaScript and the heap. The values come out when the program reads them
// (dataSync/data: copied once, then kept beside the heap copy). A tensor
// dropped without dispose() gives its heap bytes back when the garbage
// collector takes it (FinalizationRegistry), as a JavaScript-memory tensor would.
import { heapU8, mod } from './backend.js';
import { DataType, DTYPES, TypedArray } from './dtypes.js';
import type { TensorStorage } from './storage.js';

/** Frees a value handle when the object holding it is garbage-collected (op_runner.ts's kept copies use it too). */
export const handleFinalizer = typeof FinalizationRegistry === 'undefined' ? null : new FinalizationRegistry<number>((handle) => {
  mod()._kiln_value_free(handle);
});

export class HeapStorage implements TensorStorage {
  readonly location = 'wasm' as const;
  private handleValue: number;
  private values: TypedArray | null = null;
  private readonly bytes: number;

  constructor(handle: number, private readonly dtype: DataType, bytes: number) {
    this.handleValue = handle;
    this.bytes = bytes;
    handleFinalizer?.register(this, handle, this);
  }

  /** The core's handle of the values (0 once disposed). */
  get handle(): number { return this.handleValue; }
  get disposed(): boolean { return this.handleValue === 0; }
  get byteLength(): number { return this.handleValue ? this.bytes : 0; }

  readSync(): TypedArray {
    if (!this.handleValue) throw new Error('tensor: this tensor was disposed');
    if (!this.values) {
      const array = DTYPES[this.dtype].array;
      const ptr = mod()._kiln_value_data(this.handleValue);
      // A copy starts its own buffer, so 8-byte types are aligned.
      this.values = this.bytes ? new array(heapU8().slice(ptr, ptr + this.bytes).buffer) : new array(0);
    }
    return this.values;
  }
  async read(): Promise<TypedArray> { return this.readSync(); }

  dispose(): void {
    if (!this.handleValue) return;
    handleFinalizer?.unregister(this);
    mod()._kiln_value_free(this.handleValue);
    this.handleValue = 0;
    this.values = null;
  }
}
