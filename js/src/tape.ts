// The autograd tape (TF.js's engine tape): while a gradient is being taken,
// every op of the op set that reads a watched tensor (a source, or a result
// of an op that did) is written down with its inputs and outputs; the
// backward pass walks the list from the end, asking the core for each op's
// gradients (runOpGradient, src/onnx/gradient.h) and summing what reaches
// each tensor. Entries keep the values, not the Tensor objects, so disposing
// a tensor inside the function (tidy, using) does not lose what the
// gradient needs; a Variable's assign() swaps its values, never changes them.
import type { Tensor } from './tensor.js';
import type { Attributes } from './op_runner.js';

interface Entry {
  type: string;
  opset: number;
  attributes: Attributes;
  inputs: (Tensor | null)[];   // snapshots: the values as the op read them
  inputIds: (number | null)[];
  outputs: Tensor[];
  outputIds: number[];
  /** customGrad's (or a model call's) gradient function, in place of the core's; its inputs are not kept. */
  custom?: (outputGrads: Tensor[]) => (Tensor | null)[];
  /** Frees what the entry holds outside the tape (a model call's pending backward pass). */
  release?: () => void;
}

export class Tape {
  readonly entries: Entry[] = [];
  readonly watched = new Set<number>();
  /**
   * Tensors watched besides `watched` (variableGrads without a list: every
   * trainable variable, those of models first built inside the function too).
   */
  watchesAlso: ((t: Tensor) => boolean) | null = null;

  /** Whether the gradient flows back to `t`. */
  watches(t: Tensor): boolean {
    return this.watched.has(tensorId(t)) || (this.watchesAlso?.(t) ?? false);
  }

  /** Frees the values the entries keep. */
  dispose(): void {
    for (const e of this.entries) {
      for (const t of [...e.inputs, ...e.outputs]) t?.dispose();
      e.release?.();
    }
    this.entries.length = 0;
  }
}

const tapes: Tape[] = [];
let paused = 0;
let nextId = 1;
const ids = new WeakMap<Tensor, number>();

/** A tensor's identity on the tape. */
export function tensorId(t: Tensor): number {
  let id = ids.get(t);
  if (id === undefined) ids.set(t, (id = nextId++));
  return id;
}

// A tensor sharing t's values as they are now, not counted in memory()
// (op_runner.ts's sharedTensor, set there: it imports this file).
let snapshot: (t: Tensor) => Tensor = () => {
  throw new Error('kiln: the tape has no snapshot function');
};
/** @internal */
export function setSnapshot(fn: (t: Tensor) => Tensor): void {
  snapshot = fn;
}

export function activeTape(): Tape | undefined {
  return paused ? undefined : tapes[tapes.length - 1];
}

/** Runs fn with `tape` recording. */
export function recording<R>(tape: Tape, fn: () => R): R {
  tapes.push(tape);
  try {
    return fn();
  } finally {
    tapes.pop();
  }
}

/** Runs fn with no tape recording (the backward pass itself). */
export function notRecording<R>(fn: () => R): R {
  paused++;
  try {
    return fn();
  } finally {
    paused--;
  }
}

/** True inside a function whose gradient is being taken (a backward pass here would be a gradient of a gradient). */
export function nested(): boolean {
  return tapes.length > 0;
}

/**
 * Called by runOp for every op: writes it down when it reads a watched
 * tensor, and says whether it did. An entry with its own gradient function
 * (`custom`) keeps no copy of its inputs; `release` runs when the tape is freed.
 */
export function recordOp(type: string, attributes: Attributes, inputs: (Tensor | null)[], outputs: Tensor[], opset: number,
  custom?: Entry['custom'], release?: Entry['release']): boolean {
  const tape = activeTape();
  if (!tape) return false;
  if (!inputs.some((t) => t && tape.watches(t))) return false;
  const inputIds = inputs.map((t) => (t ? tensorId(t) : null));
  const outputIds = outputs.map(tensorId);
  for (const id of outputIds) tape.watched.add(id);
  tape.entries.push({
    type, opset, attributes, inputIds, outputIds, custom, release,
    inputs: inputs.map((t) => (t && !custom ? snapshot(t) : null)),
    outputs: outputs.map(snapshot),
  });
  return true;
}

export type { Entry as TapeEntry };
