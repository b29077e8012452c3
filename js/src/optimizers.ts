// Optimizer descriptions, created like TF.js's kiln.train.* factories; the
// update rules, schedules and clipping live in the C++ core
// (src/train/optimizer.h documents every formula and whose semantics it follows).

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

function spec(kind: OptimizerKind, fields: Partial<OptimizerSpec>): OptimizerSpec {
  return { kind, learningRate: 0.01, momentum: 0, useNesterov: false, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0,
    decay: 0, initialAccumulatorValue: 0.1, rho: 0.95, centered: false, clipValue: 0, clipNorm: 0, globalClipnorm: 0, ...fields };
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
  sgd: (learningRate: LearningRate): OptimizerSpec => spec('sgd', { learningRate }),
  momentum: (learningRate: LearningRate, momentum: number, useNesterov = false): OptimizerSpec =>
    spec('sgd', { learningRate, momentum, useNesterov }),
  adam: (learningRate: LearningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): OptimizerSpec =>
    spec('adam', { learningRate, beta1, beta2, epsilon }),
  /** Kiln extension: Adam with decoupled weight decay (Keras/PyTorch AdamW; Keras defaults). */
  adamw: (learningRate: LearningRate = 0.001, weightDecay = 0.004, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): OptimizerSpec =>
    spec('adamw', { learningRate, weightDecay, beta1, beta2, epsilon }),
  adamax: (learningRate: LearningRate = 0.002, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, decay = 0): OptimizerSpec =>
    spec('adamax', { learningRate, beta1, beta2, epsilon, decay }),
  adagrad: (learningRate: LearningRate, initialAccumulatorValue = 0.1): OptimizerSpec =>
    spec('adagrad', { learningRate, initialAccumulatorValue }),
  adadelta: (learningRate: LearningRate = 0.001, rho = 0.95, epsilon = 1e-7): OptimizerSpec =>
    spec('adadelta', { learningRate, rho, epsilon }),
  rmsprop: (learningRate: LearningRate, decay = 0.9, momentum = 0, epsilon = 1e-7, centered = false): OptimizerSpec =>
    spec('rmsprop', { learningRate, rho: decay, momentum, epsilon, centered }),
  /** Kiln extension: Keras gradient clipping (set at most one option). */
  withClipping: (optimizer: OptimizerSpec, clip: ClipOptions): OptimizerSpec => ({ ...optimizer, ...clip }),
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
