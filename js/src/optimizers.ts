// Optimizers, created like TF.js's kiln.train.* factories: a description
// model.compile() hands to the core, and minimize()/applyGradients() for
// variables (TF.js's optimizer API). The update rules, schedules and clipping
// live in the C++ core either way (src/train/optimizer.h documents every
// formula and whose semantics it follows), so a step taken by minimize() is
// the step fit() takes.
import { alloc, coreError, free, heapF32, heapI32, heapU32, heapU8, mod } from './backend.js';
import { variableGrads } from './autograd.js';
import { dispose, withoutCounting } from './engine.js';
import { Tensor } from './tensor.js';
import { registeredVariables, Variable } from './variable.js';

export type OptimizerKind = 'sgd' | 'adam' | 'adamw' | 'adamax' | 'adagrad' | 'adadelta' | 'rmsprop';
const KINDS: OptimizerKind[] = ['sgd', 'adam', 'adamw', 'adamax', 'adagrad', 'adadelta', 'rmsprop'];

/** A learning-rate schedule (Keras semantics), usable wherever a learning rate is. */
export interface LearningRateSchedule {
  readonly schedule: 'exponentialDecay' | 'piecewiseConstantDecay' | 'cosineDecay';
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  staircase: boolean;
  alpha: number;
  boundaries: number[];
  values: number[];
}
export type LearningRate = number | LearningRateSchedule;
const SCHEDULES = ['constant', 'exponentialDecay', 'piecewiseConstantDecay', 'cosineDecay'] as const;

export interface ClipOptions {
  clipValue?: number;
  clipNorm?: number;
  globalClipnorm?: number;
}

export interface OptimizerSpec {
  readonly kind: OptimizerKind;
  learningRate: LearningRate;
  momentum: number;
  useNesterov: boolean;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  decay: number;
  initialAccumulatorValue: number;
  rho: number;
  centered: boolean;
  clipValue: number;
  clipNorm: number;
  globalClipnorm: number;
}

// Per optimizer: the steps taken and each variable's state (by variable name).
const states = new WeakMap<Optimizer, { step: number; slots: Map<string, Float32Array[]> }>();

/**
 * An optimizer: its settings (the OptimizerSpec fields, own enumerable
 * properties, so it can be posted to a worker) and, for variables, TF.js's
 * minimize() and applyGradients(). Each keeps its own slots (momenta,
 * accumulators) per variable and its step count (iterations).
 */
export class Optimizer implements OptimizerSpec {
  declare readonly kind: OptimizerKind;
  declare learningRate: LearningRate;
  declare momentum: number;
  declare useNesterov: boolean;
  declare beta1: number;
  declare beta2: number;
  declare epsilon: number;
  declare weightDecay: number;
  declare decay: number;
  declare initialAccumulatorValue: number;
  declare rho: number;
  declare centered: boolean;
  declare clipValue: number;
  declare clipNorm: number;
  declare globalClipnorm: number;

  constructor(fields: OptimizerSpec) {
    Object.assign(this, fields);
  }

  /** Steps taken by applyGradients() / minimize(). */
  get iterations(): number { return states.get(this)?.step ?? 0; }

  /**
   * Takes one step on the variables f's scalar result depends on (varList,
   * or every trainable variable): its gradients by variableGrads(), then
   * applyGradients(). Returns the cost when returnCost, else null.
   */
  minimize(f: () => Tensor, returnCost = false, varList?: Variable[]): Tensor | null {
    const { value, grads } = variableGrads(f, varList);
    try {
      this.applyGradients(grads);
    } finally {
      dispose(Object.values(grads));
    }
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /** One step: each named variable moves by its gradient (a map by name, or [{name, tensor}]). */
  applyGradients(variableGradients: Record<string, Tensor> | { name: string; tensor: Tensor }[]): void {
    const what = 'optimizer.applyGradients';
    const pairs: [string, Tensor][] = Array.isArray(variableGradients)
      ? variableGradients.map((p) => [p.name, p.tensor])
      : Object.entries(variableGradients ?? {});
    const registered = registeredVariables();
    const vars = pairs.map(([name, g]) => {
      const v = registered.get(name);
      if (!v) throw new Error(`${what}: no variable named '${name}'`);
      if (v.dtype !== 'float32') throw new Error(`${what}: variable '${name}' is ${v.dtype}; optimizers update float32 variables`);
      if (!(g instanceof Tensor) || g.dtype !== 'float32' || g.shape.length !== v.shape.length || g.shape.some((d, i) => d !== v.shape[i]))
        throw new Error(`${what}: the gradient of '${name}' must be a float32 Tensor of shape [${v.shape}]`);
      return v;
    });
    const m = mod();
    const state = states.get(this) ?? { step: 0, slots: new Map<string, Float32Array[]>() };
    const ptrs: number[] = [];
    const place = (bytes: number, what2: string) => {
      const p = alloc(Math.max(bytes, 4), what2);
      ptrs.push(p);
      return p;
    };
    try {
      const fields = optimizerFields(this);
      const f = place(8 * fields.length, 'optimizer settings');
      new Float64Array(heapU8().buffer, f, fields.length).set(fields);
      const numSlots = m._kiln_optimizer_slots(f, fields.length);
      if (numSlots < 0) throw coreError(what);
      for (const v of vars)
        if (!state.slots.has(v.name) || state.slots.get(v.name)!.length !== numSlots)
          state.slots.set(v.name, Array.from({ length: numSlots }, (_, k) => new Float32Array(v.size).fill(m._kiln_optimizer_slot_initial(f, fields.length, k))));
      const n = vars.length;
      const params = place(4 * n, 'optimizer tables'), grads = place(4 * n, 'optimizer tables');
      const slots = place(4 * n * numSlots, 'optimizer tables'), sizes = place(4 * n, 'optimizer tables');
      const at = vars.map((v, i) => {
        const p = place(4 * v.size, 'a variable'), g = place(4 * v.size, 'a gradient');
        heapF32().set(v.dataSync() as Float32Array, p >> 2);
        heapF32().set(pairs[i][1].dataSync() as Float32Array, g >> 2);
        const s = state.slots.get(v.name)!.map((values) => {
          const q = place(4 * v.size, 'optimizer state');
          heapF32().set(values, q >> 2);
          return q;
        });
        return { p, g, s };
      });
      at.forEach(({ p, g, s }, i) => {
        heapU32()[(params >> 2) + i] = p;
        heapU32()[(grads >> 2) + i] = g;
        s.forEach((q, k) => { heapU32()[(slots >> 2) + i * numSlots + k] = q; });
        heapI32()[(sizes >> 2) + i] = vars[i].size;
      });
      if (!m._kiln_optimizer_apply(f, fields.length, state.step + 1, n, params, grads, slots, sizes)) throw coreError(what);
      state.step++;
      states.set(this, state);
      vars.forEach((v, i) => {
        const { p, s } = at[i];
        const values = heapF32().slice(p >> 2, (p >> 2) + v.size);
        v.assign(withoutCounting(() => new Tensor(values, v.shape.slice(), 'float32')));
        s.forEach((q, k) => state.slots.get(v.name)![k].set(heapF32().subarray(q >> 2, (q >> 2) + v.size)));
      });
    } finally {
      for (const p of ptrs) free(p);
    }
  }

  /** Forgets the optimizer's state (slots and step count). */
  dispose(): void {
    states.delete(this);
  }
}

function spec(kind: OptimizerKind, fields: Partial<OptimizerSpec>): Optimizer {
  return new Optimizer({ kind, learningRate: 0.01, momentum: 0, useNesterov: false, beta1: 0.9, beta2: 0.999, epsilon: 1e-7,
    weightDecay: 0, decay: 0, initialAccumulatorValue: 0.1, rho: 0.95, centered: false, clipValue: 0, clipNorm: 0, globalClipnorm: 0,
    ...fields });
}

function schedule(kind: LearningRateSchedule['schedule'], fields: Partial<LearningRateSchedule>): LearningRateSchedule {
  return { schedule: kind, initialLearningRate: 0.01, decaySteps: 1, decayRate: 1, staircase: false, alpha: 0, boundaries: [],
    values: [], ...fields };
}

export const schedules = {
  exponentialDecay: (a: { initialLearningRate: number; decaySteps: number; decayRate: number; staircase?: boolean }) =>
    schedule('exponentialDecay', a),
  piecewiseConstantDecay: (a: { boundaries: number[]; values: number[] }) =>
    schedule('piecewiseConstantDecay', { ...a, initialLearningRate: a.values[0] }),
  cosineDecay: (a: { initialLearningRate: number; decaySteps: number; alpha?: number }) => schedule('cosineDecay', a),
};

export const train = {
  sgd: (learningRate: LearningRate): Optimizer => spec('sgd', { learningRate }),
  momentum: (learningRate: LearningRate, momentum: number, useNesterov = false): Optimizer =>
    spec('sgd', { learningRate, momentum, useNesterov }),
  adam: (learningRate: LearningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): Optimizer =>
    spec('adam', { learningRate, beta1, beta2, epsilon }),
  /** Kiln extension: Adam with decoupled weight decay (Keras/PyTorch AdamW; Keras defaults). */
  adamw: (learningRate: LearningRate = 0.001, weightDecay = 0.004, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): Optimizer =>
    spec('adamw', { learningRate, weightDecay, beta1, beta2, epsilon }),
  adamax: (learningRate: LearningRate = 0.002, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, decay = 0): Optimizer =>
    spec('adamax', { learningRate, beta1, beta2, epsilon, decay }),
  adagrad: (learningRate: LearningRate, initialAccumulatorValue = 0.1): Optimizer =>
    spec('adagrad', { learningRate, initialAccumulatorValue }),
  adadelta: (learningRate: LearningRate = 0.001, rho = 0.95, epsilon = 1e-7): Optimizer =>
    spec('adadelta', { learningRate, rho, epsilon }),
  rmsprop: (learningRate: LearningRate, decay = 0.9, momentum = 0, epsilon = 1e-7, centered = false): Optimizer =>
    spec('rmsprop', { learningRate, rho: decay, momentum, epsilon, centered }),
  /** Kiln extension: Keras gradient clipping (set at most one option). */
  withClipping: (optimizer: OptimizerSpec, clip: ClipOptions): Optimizer => new Optimizer({ ...optimizer, ...clip }),
  schedules,
};

// TF.js's defaults for the string names (tfjs-layers getOptimizer); adamw: Keras's.
const BY_NAME: Record<string, () => OptimizerSpec> = {
  sgd: () => train.sgd(0.01),
  adam: () => train.adam(),
  adamw: () => train.adamw(),
  adamax: () => train.adamax(0.002, 0.9, 0.999, 1e-7, 0),
  adagrad: () => train.adagrad(0.01),
  adadelta: () => train.adadelta(1, 0.95, 1e-7),
  rmsprop: () => train.rmsprop(0.001, 0.9, 0, 1e-7),
};

/** Resolves a name or a spec into a spec. */
export function resolveOptimizer(o: string | OptimizerSpec): OptimizerSpec {
  if (typeof o === 'string') {
    const make = BY_NAME[o];
    if (!make) throw new Error(`compile: unknown optimizer '${o}' (use ${Object.keys(BY_NAME).map((n) => `'${n}'`).join(', ')} or kiln.train.*)`);
    return make();
  }
  if (!o || !KINDS.includes(o.kind)) throw new Error('compile: optimizer must be a string or a kiln.train.* optimizer');
  return o;
}

/** The flat layout kiln_model_compile reads (src/wasm/c_api.cc). */
export function optimizerFields(o: OptimizerSpec): number[] {
  const lr = o.learningRate;
  const s = typeof lr === 'number' ? undefined : lr;
  if (s && !SCHEDULES.includes(s.schedule)) throw new Error('compile: learningRate must be a number or a kiln.train.schedules.* schedule');
  const piecewise = s?.schedule === 'piecewiseConstantDecay' ? s : undefined;
  return [KINDS.indexOf(o.kind), s ? s.initialLearningRate : (lr as number), o.momentum, o.useNesterov ? 1 : 0, o.beta1, o.beta2,
    o.epsilon, o.weightDecay, o.decay, o.initialAccumulatorValue, o.rho, o.centered ? 1 : 0, o.clipValue, o.clipNorm,
    o.globalClipnorm, s ? SCHEDULES.indexOf(s.schedule) : 0, s ? s.decaySteps : 1, s ? s.decayRate : 1, s?.staircase ? 1 : 0,
    s ? s.alpha : 0, piecewise ? piecewise.boundaries.length : 0, ...(piecewise ? [...piecewise.boundaries, ...piecewise.values] : [])];
}

/** The inverse of optimizerFields. */
export function optimizerFromFields(f: ArrayLike<number>): OptimizerSpec {
  const kind = SCHEDULES[f[15]];
  const b = f[20];
  const learningRate: LearningRate = kind === 'constant' ? f[1] : schedule(kind, {
    initialLearningRate: f[1], decaySteps: f[16], decayRate: f[17], staircase: f[18] === 1, alpha: f[19],
    boundaries: Array.from({ length: b }, (_, i) => f[21 + i]), values: b ? Array.from({ length: b + 1 }, (_, i) => f[21 + b + i]) : [] });
  return spec(KINDS[f[0]], { learningRate, momentum: f[2], useNesterov: f[3] === 1, beta1: f[4], beta2: f[5], epsilon: f[6],
    weightDecay: f[7], decay: f[8], initialAccumulatorValue: f[9], rho: f[10], centered: f[11] === 1, clipValue: f[12],
    clipNorm: f[13], globalClipnorm: f[14] });
}
