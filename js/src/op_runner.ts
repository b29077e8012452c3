// One op of the core's op set on tensors (src/onnx/eager_op.h through
// kiln_op_run): the inputs' bytes go into the wasm heap, the outputs come
// back as new tensors. Every op of the ops API (ops.ts) computes here, and
// here the autograd tape (tape.ts) sees each op. runOpGradient asks the
// core for an op's gradients (src/onnx/gradient.h through kiln_op_grad).
import { alloc, coreError, free, heapI32, heapU32, heapU8, mod } from './backend.js';
import { withCString } from './backend.js';
import { dataTypeOfOnnx, DataType, DTYPES } from './dtypes.js';
import { Tensor } from './tensor.js';
import { recordOp } from './tape.js';

/** An attribute of the op, typed as the core reads it. */
export type Attribute = { i: number } | { f: number } | { s: string } | { ints: number[] } | { floats: number[] };
export type Attributes = Record<string, Attribute>;

/**
 * Runs op `type` (an ONNX operator name, opset 18) on `inputs` (null: an
 * omitted optional input) and returns its first `outputs` results. `what`
 * names the API call in errors ("kiln.add").
 */
export function runOp(what: string, type: string, inputs: (Tensor | null)[], attributes: Attributes = {}, outputs = 1): Tensor[] {
  for (const t of inputs) if (t && t.isDisposed) throw new Error(`${what}: a tensor it was given is disposed`);
  const results = call(what, inputs, (m, table) =>
    withCString(type, 'an op name', (op) =>
      withCString(JSON.stringify(attributes), 'op attributes', (attrs) => m._kiln_op_run(op, attrs, ...table, outputs))), outputs);
  const made = results.map((r) => r!);
  recordOp(type, attributes, inputs, made);
  return made;
}

/**
 * The gradients of op `type` that ran on `inputs` and gave `outputs`, given
 * one gradient per output: one per input, null where the input takes none.
 */
export function runOpGradient(what: string, type: string, attributes: Attributes, inputs: (Tensor | null)[], outputs: Tensor[],
  outputGrads: Tensor[]): (Tensor | null)[] {
  return call(what, [...inputs, ...outputs, ...outputGrads], (m, [, ...table]) =>
    withCString(type, 'an op name', (op) =>
      withCString(JSON.stringify(attributes), 'op attributes', (attrs) =>
        m._kiln_op_grad(op, attrs, inputs.length, outputs.length, ...table))), inputs.length);
}

type Table = [n: number, types: number, data: number, sizes: number, ranks: number, dims: number];

// Writes `tensors` into the heap as the C ABI's tensor table, calls `run`
// with it, and reads `count` results (null where the core gave none).
function call(what: string, tensors: (Tensor | null)[], run: (m: ReturnType<typeof mod>, table: Table) => number, count: number): (Tensor | null)[] {
  const m = mod();
  const n = tensors.length;
  const given = tensors.filter((t): t is Tensor => t !== null);
  const totalDims = given.reduce((s, t) => s + t.shape.length, 0);
  // int32 tables: per tensor its type code, data pointer, byte size and rank; then all dims.
  const table = alloc(4 * (4 * Math.max(n, 1) + totalDims), 'op input descriptors');
  const ptrs: number[] = [];
  try {
    const types = table >> 2, data = types + n, sizes = data + n, ranks = sizes + n;
    let d = ranks + n;
    tensors.forEach((t, i) => {
      heapI32()[types + i] = t ? DTYPES[t.dtype].onnx : 0;
      if (!t) return;
      const v = t.dataSync();
      const p = alloc(Math.max(v.byteLength, 1), 'an op input');
      ptrs.push(p);
      heapU8().set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), p);
      const h32 = heapI32(), hu32 = heapU32();  // alloc may have grown the memory
      hu32[data + i] = p;
      hu32[sizes + i] = v.byteLength;
      h32[ranks + i] = t.shape.length;
      for (const dim of t.shape) h32[d++] = dim;
    });
    if (!run(m, [n, 4 * types, 4 * data, 4 * sizes, 4 * ranks, 4 * (ranks + n)])) throw coreError(what);
    const results: (Tensor | null)[] = [];
    for (let r = 0; r < count; r++) {
      const code = m._kiln_op_result_type(r);
      if (code === 0) {
        results.push(null);
        continue;
      }
      const dtype: DataType | null = dataTypeOfOnnx(code);
      if (!dtype) throw new Error(`${what}: the result's element type (code ${code}) has no kiln.Tensor dtype`);
      const shape = Array.from({ length: m._kiln_op_result_rank(r) }, (_, k) => m._kiln_op_result_dim(r, k));
      const array = DTYPES[dtype].array;
      const bytes = shape.reduce((a, b) => a * b, 1) * array.BYTES_PER_ELEMENT;
      const ptr = m._kiln_op_result_data(r);
      // A copy starts its own buffer, so 8-byte types are aligned.
      results.push(new Tensor(new array(heapU8().slice(ptr, ptr + bytes).buffer), shape, dtype));
    }
    return results;
  } finally {
    m._kiln_op_release();
    for (const p of ptrs) free(p);
    free(table);
  }
}
