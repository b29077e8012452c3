// Optimizer descriptions, created like TF.js's kiln.train.* factories; the
// update rules themselves live in the C++ core (src/train/optimizer.cc).

export interface OptimizerSpec {
  readonly kind: 'sgd' | 'adam';
  learningRate: number;
  momentum: number;
  useNesterov: boolean;
  beta1: number;
  beta2: number;
  epsilon: number;
}

function spec(kind: 'sgd' | 'adam', fields: Partial<OptimizerSpec>): OptimizerSpec {
  return { kind, learningRate: 0.01, momentum: 0, useNesterov: false, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, ...fields };
}

export const train = {
  sgd: (learningRate: number): OptimizerSpec => spec('sgd', { learningRate }),
  momentum: (learningRate: number, momentum: number, useNesterov = false): OptimizerSpec =>
    spec('sgd', { learningRate, momentum, useNesterov }),
  adam: (learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): OptimizerSpec =>
    spec('adam', { learningRate, beta1, beta2, epsilon }),
};

/** Resolves 'sgd' | 'adam' | a spec into a spec (TF.js defaults for strings). */
export function resolveOptimizer(o: string | OptimizerSpec): OptimizerSpec {
  if (typeof o === 'string') {
    if (o === 'sgd') return train.sgd(0.01);
    if (o === 'adam') return train.adam();
    throw new Error(`compile: unknown optimizer '${o}' (use 'sgd', 'adam' or kiln.train.sgd/momentum/adam)`);
  }
  if (!o || (o.kind !== 'sgd' && o.kind !== 'adam')) throw new Error('compile: optimizer must be a string or a kiln.train.* optimizer');
  return o;
}
