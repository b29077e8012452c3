// One op of the core's op set on tensors (src/onnx/eager_op.h through
// kiln_op_run): the inputs' bytes go into the wasm heap, the outputs come
// back as new tensors. Every op of the ops API (ops.ts) computes here.
import { alloc, coreError, free, heapI32, heapU32, heapU8, mod, withCString } from './backend.js';
import { dataTypeOfOnnx, DataType, DTYPES } from './dtypes.js';
import { Tensor } from './tensor.js';

/** An attribute of the op, typed as the core reads it. */
export type Attribute = { i: number } | { f: number } | { s: string } | { ints: number[] } | { floats: number[] };

/**
 * Runs op `type` (an ONNX operator name, opset 18) on `inputs` (null: an
 * omitted optional input) and returns its first `outputs` results. `what`
 * names the API call in errors ("kiln.add").
 */
export function runOp(what: string, type: string, inputs: (Tensor | null)[], attributes: Record<string, Attribute> = {}, outputs = 1): Tensor[] {
  const m = mod();
  for (const t of inputs) if (t && t.isDisposed) throw new Error(`${what}: a tensor it was given is disposed`);
  const n = inputs.length;
  const given = inputs.filter((t): t is Tensor => t !== null);
  const totalDims = given.reduce((s, t) => s + t.shape.length, 0);
  // int32 tables: per input its type code, data pointer, byte size and rank; then all dims.
  const table = alloc(4 * (4 * Math.max(n, 1) + totalDims), 'op input descriptors');
  const ptrs: number[] = [];
  try {
    const types = table >> 2, data = types + n, sizes = data + n, ranks = sizes + n;
    let d = ranks + n;
    inputs.forEach((t, i) => {
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
    const ok = withCString(type, 'an op name', (op) =>
      withCString(JSON.stringify(attributes), 'op attributes', (attrs) =>
        m._kiln_op_run(op, attrs, n, 4 * types, 4 * data, 4 * sizes, 4 * ranks, 4 * (ranks + n), outputs)));
    if (!ok) throw coreError(what);
    const results: Tensor[] = [];
    for (let r = 0; r < outputs; r++) {
      const code = m._kiln_op_result_type(r);
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
