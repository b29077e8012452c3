// One op of the core's op set on tensors (src/onnx/eager_op.h through
// kiln_op_run): inputs already in the wasm heap are passed where they are,
// others copied in; the outputs stay in the heap as new tensors. Every op of the ops API (ops.ts) computes here, and
// here the autograd tape (tape.ts) sees each op. runOpGradient asks the
// core for an op's gradients (src/onnx/gradient.h through kiln_op_grad).
import { alloc, coreError, free, heapI32, heapU32, heapU8, mod } from './backend.js';
import { dataTypeOfOnnx, DataType, DTYPES } from './dtypes.js';
import { withoutCounting } from './engine.js';
import { debugMode } from './environment.js';
import { handleFinalizer, HeapStorage } from './heap_storage.js';
import { CpuStorage } from './storage.js';
import { Tensor } from './tensor.js';
import { recordOp, setSnapshot } from './tape.js';

// Op names and attribute texts repeat from call to call: each is written into
// the heap once and kept (up to a bound, then the cache starts over), which
// saves two allocations and two UTF-8 encodings per op.
const cStrings = new Map<string, number>();
const MAX_CACHED_STRINGS = 512;
function cString(s: string): number {
  let ptr = cStrings.get(s);
  if (ptr === undefined) {
    if (cStrings.size >= MAX_CACHED_STRINGS) {
      for (const p of cStrings.values()) free(p);
      cStrings.clear();
    }
    const m = mod();
    const bytes = m.lengthBytesUTF8(s) + 1;
    ptr = alloc(bytes, 'an op name or its attributes');
    m.stringToUTF8(s, ptr, bytes);
    cStrings.set(s, ptr);
  }
  return ptr;
}

/** The ONNX opset whose semantics the ops API's ops follow (src/onnx/eager_op.h's kEagerOpset). */
export const EAGER_OPSET = 18;

/** An attribute of the op, typed as the core reads it. */
export type Attribute = { i: number } | { f: number } | { s: string } | { ints: number[] } | { floats: number[] };
export type Attributes = Record<string, Attribute>;

/**
 * Runs op `type` (an ONNX operator name, opset 18) on `inputs` (null: an
 * omitted optional input) and returns its first `outputs` results, kept in
 * the wasm heap (heap_storage.ts). `what` names the API call in errors ("kiln.add").
 */
export function runOp(what: string, type: string, inputs: (Tensor | null)[], attributes: Attributes = {}, outputs = 1,
  opset = EAGER_OPSET): Tensor[] {
  for (const t of inputs) if (t && t.isDisposed) throw new Error(`${what}: a tensor it was given is disposed`);
  const results = call(what, inputs, (m, table) =>
    m._kiln_op_run(cString(type), cString(JSON.stringify(attributes)), inputs.length, table, outputs, opset), outputs);
  const made = results.map((r) => {
    if (!r) throw coreError(what);  // out of memory for a handle
    return r;
  });
  recordOp(type, attributes, inputs, made, opset);
  if (debugMode()) checkNaN(what, type, made);
  return made;
}

/**
 * The gradients of op `type` that ran on `inputs` and gave `outputs`, given
 * one gradient per output: one per input, null where the input takes none.
 */
export function runOpGradient(what: string, type: string, attributes: Attributes, inputs: (Tensor | null)[], outputs: Tensor[],
  outputGrads: Tensor[], opset = EAGER_OPSET): (Tensor | null)[] {
  return call(what, [...inputs, ...outputs, ...outputGrads], (m, table) =>
    m._kiln_op_grad(cString(type), cString(JSON.stringify(attributes)), inputs.length, outputs.length, table, opset), inputs.length);
}

// kiln.env().set('DEBUG', true): as TF.js's debug mode, an op whose float
// result holds a NaN is an error naming it (its inputs had none, or the
// earlier op would have thrown).
function checkNaN(what: string, type: string, results: Tensor[]): void {
  for (const t of results) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'float16') continue;
    const v = t.dataSync();
    const nan = t.dtype === 'float16' ? (x: number) => (x & 0x7c00) === 0x7c00 && (x & 0x3ff) !== 0 : Number.isNaN;
    for (let i = 0; i < v.length; i++)
      if (nan(v[i] as number)) throw new Error(`${what}: the result of '${type}' is NaN (kiln.env() DEBUG is on)`);
  }
}

// Words in the heap kept between calls (an op's handle table, a value's type
// and dims): allocated once, grown when a call needs more; a call made while
// one is in use (none today) gets its own.
class Scratch {
  private ptr = 0;
  private words = 0;
  private busy = false;
  use<R>(words: number, what: string, fn: (ptr: number) => R): R {
    if (this.busy) {
      const ptr = alloc(4 * Math.max(words, 1), what);
      try {
        return fn(ptr);
      } finally {
        free(ptr);
      }
    }
    const ptr = this.pointer(words, what);
    this.busy = true;
    try {
      return fn(ptr);
    } finally {
      this.busy = false;
    }
  }
  /** The kept words themselves, for a call that cannot re-enter (it runs no JavaScript). */
  pointer(words: number, what: string): number {
    if (words > this.words) {
      if (this.ptr) free(this.ptr);
      this.ptr = 0;
      this.words = 0;
      this.ptr = alloc(4 * Math.max(64, words), what);
      this.words = Math.max(64, words);
    }
    return this.ptr;
  }
}
const handleTables = new Scratch(), valueInfo = new Scratch();

const MAX_RANK = 32;

/** A tensor of the core's value `handle` (taken over: disposing the tensor frees it). */
export function tensorOfHandle(handle: number): Tensor {
  const m = mod();
  // Read in place (every op's results pass here: no closure, no array copies).
  const ptr = valueInfo.pointer(2 + MAX_RANK, 'a shape');
  const rank = m._kiln_value_info(handle, ptr, MAX_RANK);
  if (rank < 0) {
    m._kiln_value_free(handle);
    throw new Error(`kiln: a result of rank above ${MAX_RANK}, or not a live value`);
  }
  const heap = heapI32(), at = ptr >> 2;
  const code = heap[at];
  const dtype: DataType | null = dataTypeOfOnnx(code);
  if (!dtype) {
    m._kiln_value_free(handle);
    throw new Error(`kiln: a result's element type (code ${code}) has no kiln.Tensor dtype`);
  }
  const shape: number[] = new Array(rank);
  let size = 1;
  for (let d = 0; d < rank; d++) size *= shape[d] = heap[at + 2 + d];
  return new Tensor(null, shape, dtype, new HeapStorage(handle, dtype, size * DTYPES[dtype].array.BYTES_PER_ELEMENT));
}

/** Another tensor on the same values as `t` (heap or JavaScript), counted in memory() only when `counted`. */
export function sharedTensor(t: Tensor, counted = false): Tensor {
  const make = () => {
    const s = t.storage;
    if (s instanceof HeapStorage && s.handle) {
      const h = mod()._kiln_value_share(s.handle);
      if (!h) throw coreError('kiln');
      return tensorOfHandle(h);
    }
    return new Tensor(t.dataSync(), t.shape.slice(), t.dtype);
  };
  return counted ? make() : withoutCounting(make);
}

// A JavaScript-memory tensor's values copied into the heap once, on its
// first use by an op, and kept for the next ops until the storage is
// disposed or (a Variable's) its values are replaced by assign().
const heapCopies = new WeakMap<CpuStorage, number>();

function upload(t: Tensor, what: string): number {
  const m = mod();
  const v = t.dataSync();
  const dims = alloc(4 * Math.max(t.shape.length, 1), 'a shape');
  let h = 0;
  try {
    heapI32().set(t.shape, dims >> 2);
    h = m._kiln_value_create(DTYPES[t.dtype].onnx, t.shape.length, dims);
  } finally {
    free(dims);
  }
  if (!h) throw coreError(what);
  if (v.byteLength) heapU8().set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), m._kiln_value_data(h));
  return h;
}

// Hands `tensors` to the core as value handles (a heap tensor's own, a
// JavaScript tensor's kept copy), calls `run` with the handle table, and
// takes `count` results (null where the core gave none).
function call(what: string, tensors: (Tensor | null)[], run: (m: ReturnType<typeof mod>, table: number) => number, count: number): (Tensor | null)[] {
  const m = mod();
  return handleTables.use(tensors.length, 'op input handles', (table) => callWith(m, table, what, tensors, run, count));
}

function callWith(m: ReturnType<typeof mod>, table: number, what: string, tensors: (Tensor | null)[],
  run: (m: ReturnType<typeof mod>, table: number) => number, count: number): (Tensor | null)[] {
  const temps: number[] = [];
  try {
    const handles = tensors.map((t) => {
      if (!t) return 0;
      const s = t.storage;
      if (s instanceof HeapStorage && s.handle) return s.handle;
      if (!(s instanceof CpuStorage)) {  // a storage of another kind: copied for this call
        const h = upload(t, what);
        temps.push(h);
        return h;
      }
      const kept = heapCopies.get(s);
      if (kept) return kept;
      const h = upload(t, what);
      heapCopies.set(s, h);
      s.keepCopy(() => {
        heapCopies.delete(s);
        handleFinalizer?.unregister(s);
        m._kiln_value_free(h);
      });
      handleFinalizer?.register(s, h, s);
      return h;
    });
    heapU32().set(handles, table >> 2);
    if (!run(m, table)) throw coreError(what);
    const results: (Tensor | null)[] = [];
    for (let r = 0; r < count; r++) {
      const h = m._kiln_op_result_take(r);
      results.push(h ? tensorOfHandle(h) : null);
    }
    return results;
  } finally {
    m._kiln_op_release();
    for (const h of temps) m._kiln_value_free(h);
  }
}

setSnapshot((t) => sharedTensor(t));
