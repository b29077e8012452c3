// TF.js's gradient functions: grad, grads, valueAndGrad, valueAndGrads,
// variableGrads and customGrad. The function runs with a tape recording
// (tape.ts); the backward pass then asks the core for each recorded op's
// gradients (src/onnx/gradient.h), so every gradient is computed by the op
// set, on every backend it has. The tensors the function made are disposed
// as tidy() disposes them; the results belong to the caller.
import { collectingMade, tidy, withoutCounting } from './engine.js';
import { Attributes, EAGER_OPSET, runOp, runOpGradient, sharedTensor } from './op_runner.js';
import { activeTape, nested, notRecording, recordOp, recording, Tape, TapeEntry, tensorId } from './tape.js';
import { cast, fill } from './ops.js';
import { Tensor } from './tensor.js';
import { registeredVariables, Variable } from './variable.js';

const isFloat = (t: Tensor) => t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16';

// A tensor like `like` filled with `value` (the seed of the pass, or a zero gradient).
const filled = (like: Tensor, value: number): Tensor => withoutCounting(() => fill(like.shape, value, like.dtype));

/**
 * The gradients of y with respect to `sources` (null where y does not
 * depend on one), by walking `tape` backwards from y with dy.
 */
function backward(what: string, tape: Tape, y: Tensor, dy: Tensor | undefined, sources: Tensor[]): (Tensor | null)[] {
  if (dy !== undefined && !(dy instanceof Tensor)) throw new Error(`${what}: dy must be a Tensor`);
  if (!isFloat(y)) throw new Error(`${what}: the function's result is ${y.dtype}; gradients need a float result`);
  const seed = dy ? (dy.dtype === y.dtype ? dy : withoutCounting(() => cast(dy, y.dtype))) : filled(y, 1);
  try {
    return tapeGradients(what, tape, [y], [seed], sources);
  } finally {
    if (seed !== dy) seed.dispose();
  }
}

/**
 * @internal The gradients with respect to `sources` (null where the results
 * do not depend on one) of results `ys` recorded on `tape`, given d/dy of
 * each (custom layers' backward passes use it too).
 */
export function tapeGradients(what: string, tape: Tape, ys: Tensor[], dys: Tensor[], sources: Tensor[]): (Tensor | null)[] {
  if (nested()) throw new Error(`${what}: gradients of gradients (a gradient taken inside another gradient's function) are not supported yet`);
  ys.forEach((y, k) => {
    const dy = dys[k];
    if (dy.shape.length !== y.shape.length || dy.shape.some((d, i) => d !== y.shape[i]))
      throw new Error(`${what}: dy's shape [${dy.shape}] must match the result's [${y.shape}]`);
  });
  // Every tensor the pass makes is disposed at its end (they hold heap
  // memory); the gradients handed back share the values of the final ones.
  const { result, made } = collectingMade(() => notRecording(() => withoutCounting(() => {
    const grads = new Map<number, Tensor>();
    ys.forEach((y, k) => grads.set(tensorId(y), dys[k]));
    for (let e = tape.entries.length - 1; e >= 0; e--) {
      const entry: TapeEntry = tape.entries[e];
      const outGrads = entry.outputIds.map((id) => grads.get(id));
      if (outGrads.every((g) => g === undefined)) continue;
      const full = outGrads.map((g, k) => g ?? filled(entry.outputs[k], 0));
      const inGrads = entry.custom
        ? entry.custom(full)
        : runOpGradient(`${what}: the gradient of ${entry.type}`, entry.type, entry.attributes, entry.inputs, entry.outputs, full, entry.opset);
      entry.inputIds.forEach((id, i) => {
        const g = inGrads[i];
        if (id === null || !g) return;
        const prev = grads.get(id);
        grads.set(id, prev ? runOp(what, 'Add', [prev, g])[0] : g);
      });
    }
    return sources.map((s) => grads.get(tensorId(s)) ?? null);
  })));
  try {
    return result.map((g) => (g ? owned(g) : null));
  } finally {
    for (const t of made) t.dispose();
  }
}

/** A result the caller owns: counted in memory(), sharing the values. */
function owned(t: Tensor): Tensor {
  return sharedTensor(t, true);
}

/** Runs f on a fresh tape watching `sources`; the tensors f made, but its result, are disposed. */
function taped(what: string, sources: Tensor[], f: () => Tensor, watchesAlso: Tape['watchesAlso'] = null): { tape: Tape; y: Tensor } {
  const tape = new Tape();
  for (const s of sources) tape.watched.add(tensorId(s));
  tape.watchesAlso = watchesAlso;
  let y: Tensor;
  try {
    y = tidy(() => recording(tape, f));
    if (!(y instanceof Tensor)) throw new Error(`${what}: the function must return a Tensor`);
  } catch (e) {
    tape.dispose();
    throw e;
  }
  return { tape, y };
}

function checkSources(what: string, xs: unknown[]): Tensor[] {
  xs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new Error(`${what}: argument ${i} must be a Tensor`);
    if (x.isDisposed) throw new Error(`${what}: argument ${i} is disposed`);
  });
  return xs as Tensor[];
}

// The gradients from a taped run; the tape is freed either way, the result y too if they fail.
function gradientsOf(what: string, tape: Tape, y: Tensor, dy: Tensor | undefined, sources: Tensor[]): (Tensor | null)[] {
  try {
    return backward(what, tape, y, dy, sources);
  } catch (e) {
    y.dispose();
    throw e;
  } finally {
    tape.dispose();
  }
}

function valuesAndGrads(what: string, f: (...xs: Tensor[]) => Tensor, xs: Tensor[], dy?: Tensor): { value: Tensor; grads: Tensor[] } {
  const sources = checkSources(what, xs);
  const { tape, y } = taped(what, sources, () => f(...sources));
  const grads = gradientsOf(what, tape, y, dy, sources);
  return {
    value: y,
    grads: grads.map((g, i) => {
      if (!g) throw new Error(`${what}: the result does not depend on argument ${i}; make sure the function computes it from its arguments with kiln ops`);
      return g;
    }),
  };
}

/** tf.grad: f(x) -> (x, dy?) => df/dx. */
export function grad(f: (x: Tensor) => Tensor): (x: Tensor, dy?: Tensor) => Tensor {
  if (typeof f !== 'function') throw new Error('kiln.grad: f must be a function');
  return (x, dy) => {
    const { value, grads } = valuesAndGrads('kiln.grad', f, [x], dy);
    value.dispose();
    return grads[0];
  };
}

/** tf.grads: f(...xs) -> (xs, dy?) => [df/dx0, df/dx1, ...]. */
export function grads(f: (...xs: Tensor[]) => Tensor): (xs: Tensor[], dy?: Tensor) => Tensor[] {
  if (typeof f !== 'function') throw new Error('kiln.grads: f must be a function');
  return (xs, dy) => {
    if (!Array.isArray(xs)) throw new Error('kiln.grads: the arguments must be an array of Tensors');
    const { value, grads: g } = valuesAndGrads('kiln.grads', f, xs, dy);
    value.dispose();
    return g;
  };
}

/** tf.valueAndGrad: like grad, and f's result too. */
export function valueAndGrad(f: (x: Tensor) => Tensor): (x: Tensor, dy?: Tensor) => { value: Tensor; grad: Tensor } {
  if (typeof f !== 'function') throw new Error('kiln.valueAndGrad: f must be a function');
  return (x, dy) => {
    const { value, grads: g } = valuesAndGrads('kiln.valueAndGrad', f, [x], dy);
    return { value, grad: g[0] };
  };
}

/** tf.valueAndGrads: like grads, and f's result too. */
export function valueAndGrads(f: (...xs: Tensor[]) => Tensor): (xs: Tensor[], dy?: Tensor) => { value: Tensor; grads: Tensor[] } {
  if (typeof f !== 'function') throw new Error('kiln.valueAndGrads: f must be a function');
  return (xs, dy) => {
    if (!Array.isArray(xs)) throw new Error('kiln.valueAndGrads: the arguments must be an array of Tensors');
    return valuesAndGrads('kiln.valueAndGrads', f, xs, dy);
  };
}

/**
 * tf.variableGrads: the value of f (a scalar) and its gradient with respect
 * to each variable of `varList` (default: every trainable variable) that it
 * depends on, by variable name.
 */
export function variableGrads(f: () => Tensor, varList?: Variable[]): { value: Tensor; grads: Record<string, Tensor> } {
  const what = 'kiln.variableGrads';
  if (typeof f !== 'function') throw new Error(`${what}: f must be a function`);
  (varList ?? []).forEach((v) => {
    if (!(v instanceof Variable)) throw new Error(`${what}: varList must hold kiln.Variable objects`);
  });
  // Without a list: every trainable variable, those of models first built inside f too.
  const everyVariable = varList ? null : (t: Tensor) => t instanceof Variable && t.trainable;
  const { tape, y } = taped(what, varList ?? [], f, everyVariable);
  const vars = varList ?? [...registeredVariables().values()].filter((v) => v.trainable);
  if (y.rank !== 0) {
    y.dispose();
    tape.dispose();
    throw new Error(`${what}: the function must return a scalar, got shape [${y.shape}]`);
  }
  const found = gradientsOf(what, tape, y, undefined, vars);
  const result: Record<string, Tensor> = {};
  vars.forEach((v, i) => {
    const g = found[i];
    if (g) result[v.name] = g;
  });
  if (Object.keys(result).length === 0 && vars.length > 0) {
    y.dispose();
    throw new Error(`${what}: the result depends on none of the variables; make sure f computes it from them with kiln ops`);
  }
  return { value: y, grads: result };
}

type GradFunc = (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[];

/**
 * tf.customGrad: f(...inputs, save) returns {value, gradFunc}; the result is
 * a function whose gradient is gradFunc(dy, saved) instead of the one its ops would give.
 */
export function customGrad(f: (...args: any[]) => { value: Tensor; gradFunc: GradFunc }): (...inputs: Tensor[]) => Tensor {
  const what = 'kiln.customGrad';
  if (typeof f !== 'function') throw new Error(`${what}: f must be a function`);
  return (...inputs) => {
    checkSources(what, inputs);
    let saved: Tensor[] = [];
    const save = (ts: Tensor[]) => {
      if (!Array.isArray(ts) || ts.some((t) => !(t instanceof Tensor))) throw new Error(`${what}: save() takes an array of Tensors`);
      saved = ts.map((t) => sharedTensor(t));
    };
    // Its own ops are not on the tape: only the custom entry is.
    const { value, gradFunc } = notRecording(() => f(...inputs, save));
    if (!(value instanceof Tensor) || typeof gradFunc !== 'function')
      throw new Error(`${what}: f must return {value: Tensor, gradFunc: function}`);
    if (activeTape()) {
      recordOp('CustomGrad', {} as Attributes, inputs, [value], EAGER_OPSET, ([dy]) => {
        const out = gradFunc(dy, saved);
        const list = Array.isArray(out) ? out : [out];
        if (list.length !== inputs.length) throw new Error(`${what}: gradFunc returned ${list.length} gradients for ${inputs.length} inputs`);
        list.forEach((g, i) => {
          if (!(g instanceof Tensor) || g.shape.length !== inputs[i].shape.length || g.shape.some((d, k) => d !== inputs[i].shape[k]))
            throw new Error(`${what}: gradFunc's gradient ${i} must be a Tensor of shape [${inputs[i].shape}]`);
        });
        return list;
      });
    }
    return value;
  };
}
