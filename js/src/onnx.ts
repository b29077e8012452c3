// Running ONNX models: `const session = await kiln.onnx.load(bytes)`, then
// `await session.run({[session.inputNames[0]]: tensor})` returns the outputs by
// name. The model is parsed and checked in the C++ core (src/onnx): every
// operator must have a kernel, constant subgraphs are folded at load, and any
// batch size runs. Inputs go in with their dtype and bytes (the core checks
// each against the type the model declares); outputs come back in their own
// dtype (int64 indices as BigInt64Array, bool masks as 0/1 Uint8Array, ...).
// An ONNX sequence goes in and comes out as an array of tensors, an empty
// optional as null (an optional holding a value is that value).
//
// The other way: `const bytes = await kiln.onnx.export(model)` writes a Kiln
// model as an ONNX file (src/io/onnx_export.h) that ONNX runtimes run with
// the same channels-last inputs and outputs.

import { alloc, coreError, free, heapI32, heapU32, heapU8, mod } from './backend.js';
import { DTYPES, dataTypeOfOnnx } from './dtypes.js';
import type { LayersModel } from './model.js';
import { Tensor } from './tensor.js';

const registry = typeof FinalizationRegistry !== 'undefined'
  ? new FinalizationRegistry<number>((handle) => { try { mod()._kiln_onnx_free(handle); } catch { /* module gone */ } })
  : null;

/**
 * An input's or output's declaration. dtype: the element type, a kiln dtype
 * name where kiln.Tensor has it, else ONNX's name ('string', 'bfloat16');
 * null when undeclared. shape: numbers where fixed, null where symbolic (a
 * dynamic batch); null when the rank is unknown.
 */
export interface OnnxValueInfo {
  name: string;
  /** 'tensor', 'sequence', 'optional' (or 'map', 'sparse_tensor', which Kiln does not run); null when undeclared. */
  kind: string | null;
  dtype: string | null;
  shape: (number | null)[] | null;
}
export type OnnxInputInfo = OnnxValueInfo;
/** What run() takes and gives per input / output: a tensor, a sequence's tensors, or null for an empty optional. */
export type OnnxOutput = Tensor | Tensor[] | null;
export type OnnxFeed = OnnxOutput;

const KINDS = [null, 'tensor', 'sequence', 'map', 'optional', 'sparse_tensor'];

const typeName = (code: number): string => mod().UTF8ToString(mod()._kiln_onnx_type_name(code));

function describe(handle: number, io: 0 | 1): OnnxValueInfo[] {
  const m = mod();
  return Array.from({ length: m._kiln_onnx_count(handle, io) }, (_, i) => {
    const rank = m._kiln_onnx_info_rank(handle, io, i);
    const shape = rank < 0 ? null : Array.from({ length: rank }, (_, d) => {
      const v = m._kiln_onnx_info_dim(handle, io, i, d);
      return v < 0 ? null : v;
    });
    const code = m._kiln_onnx_info_type(handle, io, i);
    return {
      name: m.UTF8ToString(m._kiln_onnx_info_name(handle, io, i)), kind: KINDS[m._kiln_onnx_info_kind(handle, io, i)] ?? null,
      dtype: code ? typeName(code) : null, shape,
    };
  });
}

export class OnnxSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputs: OnnxValueInfo[];
  readonly outputs: OnnxValueInfo[];
  private handle: number;

  /** @internal */
  constructor(handle: number) {
    this.handle = handle;
    this.inputs = describe(handle, 0);
    this.outputs = describe(handle, 1);
    this.inputNames = this.inputs.map((x) => x.name);
    this.outputNames = this.outputs.map((x) => x.name);
    registry?.register(this, handle, this);
  }

  /**
   * Runs the model on one value per input name: a tensor of the dtype the
   * model declares, an array of tensors for a sequence input, null for an
   * empty optional. Resolves to the outputs by name.
   */
  async run(feeds: Record<string, OnnxFeed>): Promise<Record<string, OnnxOutput>> {
    const list = this.feedList(feeds, 'onnx session.run');
    const tensors = list.flatMap((f) => f.tensors);
    return this.runOn(list, tensors, await Promise.all(tensors.map((t) => t.data())), 'onnx session.run');
  }

  /** run() without awaiting: the inputs' values must be readable synchronously (CPU tensors). @internal */
  runSync(feeds: Record<string, OnnxFeed>, what: string): Record<string, OnnxOutput> {
    const list = this.feedList(feeds, what);
    const tensors = list.flatMap((f) => f.tensors);
    return this.runOn(list, tensors, tensors.map((t) => t.dataSync()), what);
  }

  // Per input: its kind for the core (0 a tensor, 1 a sequence, 2 an empty optional) and its tensors.
  private feedList(feeds: Record<string, OnnxFeed>, what: string): { kind: number; tensors: Tensor[] }[] {
    if (!this.handle) throw new Error(`${what}: the model is disposed`);
    if (feeds === null || typeof feeds !== 'object') throw new Error(`${what}: expected an object of input tensors by name`);
    for (const name of Object.keys(feeds))
      if (!this.inputNames.includes(name)) throw new Error(`${what}: the model has no input '${name}' (inputs: ${this.inputNames.join(', ')})`);
    const check = (name: string, t: unknown): Tensor => {
      if (!(t instanceof Tensor)) throw new Error(`${what}: input '${name}' is missing or not a kiln.Tensor`);
      if (t.isDisposed) throw new Error(`${what}: input '${name}' is disposed`);
      return t;
    };
    return this.inputs.map(({ name, kind }) => {
      const f = feeds[name];
      if (f === null && kind === 'optional') return { kind: 2, tensors: [] };
      if (Array.isArray(f)) return { kind: 1, tensors: f.map((t) => check(name, t)) };
      return { kind: 0, tensors: [check(name, f)] };
    });
  }

  private runOn(feeds: { kind: number; tensors: Tensor[] }[], tensors: Tensor[], values: ArrayBufferView[], what: string): Record<string, OnnxOutput> {
    const m = mod();
    const inputs = Math.max(feeds.length, 1), n = Math.max(tensors.length, 1);
    const totalDims = tensors.reduce((s, t) => s + t.shape.length, 0);
    const ptrs: number[] = [];
    // int32 tables: per input its kind and tensor count; per tensor its type,
    // data pointer, byte size and rank; then all dims.
    const table = alloc(4 * (2 * inputs + 4 * n + totalDims), 'ONNX input descriptors');
    try {
      for (const v of values) {
        const p = alloc(v.byteLength, 'an ONNX input');
        ptrs.push(p);
        heapU8().set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), p);
      }
      const kinds = table >> 2, counts = kinds + inputs, types = counts + inputs, data = types + n, sizes = data + n, ranks = sizes + n;
      const i32 = heapI32(), u32 = heapU32();
      feeds.forEach((f, i) => {
        i32[kinds + i] = f.kind;
        i32[counts + i] = f.tensors.length;
      });
      let d = ranks + n;
      tensors.forEach((t, i) => {
        i32[types + i] = DTYPES[t.dtype].onnx;
        u32[data + i] = ptrs[i];
        u32[sizes + i] = values[i].byteLength;
        i32[ranks + i] = t.shape.length;
        for (const dim of t.shape) i32[d++] = dim;
      });
      if (!m._kiln_onnx_run(this.handle, 4 * kinds, 4 * counts, 4 * types, 4 * data, 4 * sizes, 4 * ranks, 4 * (ranks + n))) throw coreError(what);
      const result = (name: string, r: number): Tensor => {
        const code = m._kiln_onnx_result_type(this.handle, r);
        const dtype = dataTypeOfOnnx(code);
        if (!dtype) throw new Error(`${what}: output '${name}' is ${typeName(code)}, which kiln.Tensor cannot hold`);
        const rank = m._kiln_onnx_result_rank(this.handle, r);
        const shape = Array.from({ length: rank }, (_, k) => m._kiln_onnx_result_dim(this.handle, r, k));
        const array = DTYPES[dtype].array;
        const bytes = shape.reduce((a, b) => a * b, 1) * array.BYTES_PER_ELEMENT;
        const ptr = m._kiln_onnx_result_data(this.handle, r);
        // A copy of the bytes starts its own buffer, so 8-byte types are aligned.
        return new Tensor(new array(heapU8().slice(ptr, ptr + bytes).buffer), shape, dtype);
      };
      const out: Record<string, OnnxOutput> = {};
      this.outputNames.forEach((name, i) => {
        const kind = m._kiln_onnx_output_kind(this.handle, i);
        const first = m._kiln_onnx_output_first(this.handle, i);
        if (kind === 2) out[name] = null;
        else if (kind === 1) out[name] = Array.from({ length: m._kiln_onnx_output_count(this.handle, i) }, (_, k) => result(name, first + k));
        else out[name] = result(name, first);
      });
      return out;
    } finally {
      for (const p of ptrs) free(p);
      free(table);
    }
  }

  /**
   * Times every kernel call of the runs that follow (ONNX Runtime Web's name);
   * endProfiling() returns them.
   */
  startProfiling(): void {
    if (!this.handle) throw new Error('onnx session: the model is disposed');
    mod()._kiln_onnx_profiling(this.handle, 1);
  }

  /**
   * Stops profiling and returns one entry per run since startProfiling(): each
   * kernel call of the session's plan (as `kiln inspect` lists them), the
   * shapes of its inputs and its wall time in ms.
   */
  endProfiling(): { call: string; inputShapes: string; ms: number }[][] {
    if (!this.handle) throw new Error('onnx session: the model is disposed');
    return JSON.parse(mod().UTF8ToString(mod()._kiln_onnx_profiling(this.handle, 0)));
  }

  /** Frees the model in the wasm heap. */
  dispose(): void {
    if (!this.handle) return;
    registry?.unregister(this);
    mod()._kiln_onnx_free(this.handle);
    this.handle = 0;
  }
}

/** Loads an ONNX model (the bytes of a .onnx file). */
export async function load(source: Uint8Array | ArrayBuffer): Promise<OnnxSession> {
  const bytes = source instanceof Uint8Array ? source : source instanceof ArrayBuffer ? new Uint8Array(source) : null;
  if (!bytes) throw new Error('onnx.load: expected the .onnx file as a Uint8Array or ArrayBuffer');
  const m = mod();
  const ptr = alloc(bytes.length, 'the ONNX file');
  try {
    heapU8().set(bytes, ptr);
    const handle = m._kiln_onnx_load(ptr, bytes.length);
    if (!handle) throw coreError('onnx.load');
    return new OnnxSession(handle);
  } finally {
    free(ptr);
  }
}

/**
 * Writes `model` as an ONNX file (IR 8, opset 17, a symbolic batch dimension):
 * the same inputs give the same outputs in ONNX Runtime and in kiln.onnx.load.
 * Rejects, naming the layer, a model with a layer that has no ONNX form.
 * Exposed as `kiln.onnx.export` (`export` is a reserved word for a declaration).
 */
async function exportModel(model: LayersModel): Promise<Uint8Array> {
  if (!model || typeof (model as { save?: unknown }).save !== 'function')
    throw new Error('onnx.export: expected a kiln model (kiln.sequential() or kiln.model())');
  const saved = await model.save();
  const m = mod();
  const ptr = alloc(saved.length, 'the model to export');
  try {
    heapU8().set(saved, ptr);
    const out = m._kiln_onnx_export(ptr, saved.length);
    if (!out) throw coreError('onnx.export');
    return heapU8().slice(out, out + m._kiln_onnx_exported_size());
  } finally {
    free(ptr);
  }
}
export { exportModel as export };
export { loadModel } from './onnx_import.js';
export { loadGraph, OnnxGraph } from './onnx_graph.js';
export type { OnnxGraphInput } from './onnx_graph.js';
