// Running ONNX models: `const session = await kiln.onnx.load(bytes)`, then
// `await session.run({[session.inputNames[0]]: tensor})` returns the outputs by
// name. The model is parsed and checked in the C++ core (src/onnx): every
// operator must have a kernel, constant subgraphs are folded at load, and any
// batch size runs. Inputs are float32 tensors; outputs of other types (int64
// indices, bool masks) come back converted to float32.
//
// The other way: `const bytes = await kiln.onnx.export(model)` writes a Kiln
// model as an ONNX file (src/io/onnx_export.h) that ONNX runtimes run with
// the same channels-last inputs and outputs.

import { alloc, coreError, free, heapF32, heapI32, heapU8, mod } from './backend.js';
import type { LayersModel } from './model.js';
import { Tensor } from './tensor.js';

const registry = typeof FinalizationRegistry !== 'undefined'
  ? new FinalizationRegistry<number>((handle) => { try { mod()._kiln_onnx_free(handle); } catch { /* module gone */ } })
  : null;

/** An input's declared shape: numbers where fixed, null where symbolic (a dynamic batch). */
export interface OnnxInputInfo {
  name: string;
  shape: (number | null)[] | null;
}

export class OnnxSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputs: OnnxInputInfo[];
  private handle: number;

  /** @internal */
  constructor(handle: number) {
    const m = mod();
    this.handle = handle;
    const n = m._kiln_onnx_num_inputs(handle), k = m._kiln_onnx_num_outputs(handle);
    this.inputs = Array.from({ length: n }, (_, i) => {
      const rank = m._kiln_onnx_input_rank(handle, i);
      const shape = rank < 0 ? null : Array.from({ length: rank }, (_, d) => {
        const v = m._kiln_onnx_input_dim(handle, i, d);
        return v < 0 ? null : v;
      });
      return { name: m.UTF8ToString(m._kiln_onnx_input_name(handle, i)), shape };
    });
    this.inputNames = this.inputs.map((x) => x.name);
    this.outputNames = Array.from({ length: k }, (_, i) => m.UTF8ToString(m._kiln_onnx_output_name(handle, i)));
    registry?.register(this, handle, this);
  }

  /** Runs the model on one float32 tensor per input name; resolves to the outputs by name. */
  async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (!this.handle) throw new Error('onnx session: already disposed');
    if (feeds === null || typeof feeds !== 'object') throw new Error('onnx session.run: expected an object of input tensors by name');
    for (const name of Object.keys(feeds))
      if (!this.inputNames.includes(name)) throw new Error(`onnx session.run: the model has no input '${name}' (inputs: ${this.inputNames.join(', ')})`);
    const tensors = this.inputNames.map((name) => {
      const t = feeds[name];
      if (!(t instanceof Tensor)) throw new Error(`onnx session.run: input '${name}' is missing or not a kiln.Tensor`);
      return t;
    });
    const m = mod();
    const n = tensors.length;
    const totalDims = tensors.reduce((s, t) => s + t.shape.length, 0);
    const ptrs: number[] = [];
    const table = alloc(4 * Math.max(n, 1) * 3 + 4 * Math.max(totalDims, 1), 'ONNX input descriptors');
    try {
      for (const t of tensors) {
        const values = t.dataSync();
        const p = alloc(values.length * 4, 'an ONNX input');
        ptrs.push(p);
        heapF32().set(values, p >> 2);
      }
      const dataTable = table, rankTable = table + 4 * Math.max(n, 1), dimTable = table + 8 * Math.max(n, 1);
      const i32 = heapI32();
      let d = dimTable >> 2;
      tensors.forEach((t, i) => {
        i32[(dataTable >> 2) + i] = ptrs[i];
        i32[(rankTable >> 2) + i] = t.shape.length;
        for (const dim of t.shape) i32[d++] = dim;
      });
      if (!m._kiln_onnx_run(this.handle, dataTable, rankTable, dimTable)) throw coreError('onnx session.run');
      const out: Record<string, Tensor> = {};
      this.outputNames.forEach((name, i) => {
        const rank = m._kiln_onnx_result_rank(this.handle, i);
        const shape = Array.from({ length: rank }, (_, k) => m._kiln_onnx_result_dim(this.handle, i, k));
        const size = shape.reduce((a, b) => a * b, 1);
        const ptr = m._kiln_onnx_result_data(this.handle, i);
        out[name] = new Tensor(heapF32().slice(ptr >> 2, (ptr >> 2) + size), shape);
      });
      return out;
    } finally {
      for (const p of ptrs) free(p);
      free(table);
    }
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
