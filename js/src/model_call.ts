// A model called on tensors (TF.js's model.apply(tensor), model.call, and
// predict inside a gradient function): inside kiln.grad, variableGrads or
// optimizer.minimize the call goes on the autograd tape as one entry, whose
// gradient is the model's own backward pass in the core (Model::call_forward
// and call_backward, src/api/model_call.cc): d/d input for the ops before it,
// and d/d weight for the model's trainable weights, which are Variables
// (weight_variables.ts). The forward pass runs once; the core keeps what its
// backward pass needs until the gradient is taken or the tape is freed.
import { alloc, coreError, copyIn, free, heapF32, heapU32, mod } from './backend.js';
import { EAGER_OPSET } from './op_runner.js';
import { activeTape, recordOp } from './tape.js';
import { float32Data, Tensor } from './tensor.js';
import type { Variable } from './variable.js';

export interface CallableModel {
  readonly name: string;
  /** The core model (0 once disposed). */
  readonly handle: number;
  /** Each output's shape for n samples. */
  outputShapes(n: number): number[][];
  /** The weights as Variables, in getWeights order. */
  weightVariables(): Variable[];
  /** An inference run with nothing recorded (predict). */
  predictTensors(xs: Tensor[]): Tensor[];
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// Float32 copies of `list` in the heap and a pointer table to them (nulls where a list entry is null).
function pointerTable(list: (Float32Array | number | null)[], owned: number[], what: string): { table: number; ptrs: number[] } {
  const table = alloc(4 * Math.max(list.length, 1), `${what} pointers`);
  owned.push(table);
  const ptrs = list.map((v) => {
    if (v === null) return 0;
    const p = typeof v === 'number' ? alloc(4 * Math.max(v, 1), what) : copyIn(v, what);
    owned.push(p);
    return p;
  });
  ptrs.forEach((p, k) => (heapU32()[(table >> 2) + k] = p));
  return { table, ptrs };
}

const read = (ptr: number, shape: number[]) => new Tensor(heapF32().slice(ptr >> 2, (ptr >> 2) + numel(shape)), shape);

/** Runs `model` on `xs` (checked by the caller), recording it for the gradient where a tape watches its inputs or weights. */
export function callModel(model: CallableModel, xs: Tensor[], training: boolean): Tensor[] {
  const tape = activeTape();
  const variables = model.weightVariables();
  const trainable = variables.map((v, i) => ({ v, i })).filter(({ v }) => v.trainable);
  const watched = !!tape && (xs.some((x) => tape.watches(x)) || trainable.some(({ v }) => tape.watches(v)));
  if (!watched && !training) return model.predictTensors(xs);

  const n = xs[0].shape[0];
  const outShapes = model.outputShapes(n);
  const m = mod();
  const owned: number[] = [];
  let call = 0;
  let outputs: Tensor[];
  try {
    const ins = pointerTable(xs.map(float32Data), owned, 'apply input');
    const outs = pointerTable(outShapes.map(numel), owned, 'apply output');
    call = m._kiln_model_call(model.handle, ins.table, n, training ? 1 : 0, outs.table);
    if (!call) throw coreError(`${model.name}.apply`);
    outputs = outShapes.map((s, k) => read(outs.ptrs[k], s));
  } finally {
    for (const p of owned) free(p);
  }
  const handle = model.handle;
  const release = () => {
    if (model.handle === handle) m._kiln_model_call_release(handle, call);  // a disposed model freed its calls
  };
  const backward = (dys: Tensor[]): (Tensor | null)[] => {
    if (model.handle !== handle) throw new Error(`${model.name}: the model was disposed before the gradient of its call was taken`);
    const mine: number[] = [];
    try {
      const d = pointerTable(dys.map(float32Data), mine, 'apply output gradient');
      const dxs = pointerTable(xs.map((x) => numel(x.shape)), mine, 'apply input gradient');
      const wanted = new Set(trainable.map(({ i }) => i));
      const dws = pointerTable(variables.map((v, i) => (wanted.has(i) ? numel(v.shape) : null)), mine, 'apply weight gradient');
      if (!m._kiln_model_call_backward(handle, call, d.table, dxs.table, dws.table)) throw coreError(`${model.name}: the gradient of apply`);
      return [...xs.map((x, k) => read(dxs.ptrs[k], x.shape.slice())), ...trainable.map(({ v, i }) => read(dws.ptrs[i], v.shape.slice()))];
    } finally {
      for (const p of mine) free(p);
    }
  };
  if (!watched || !recordOp('ModelCall', {}, [...xs, ...trainable.map(({ v }) => v)], outputs, EAGER_OPSET, backward, release)) release();
  return outputs;
}
