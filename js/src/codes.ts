// Names <-> the enum codes of the C++ core (src/core/activation.h,
// src/train/initializer.h, src/train/loss.h: LossKind and Metric). Keep in the same order.

export const ACTIVATIONS = [
  'linear', 'relu', 'sigmoid', 'tanh', 'softmax', 'relu6', 'elu', 'selu', 'gelu', 'swish', 'mish', 'hardSigmoid',
  'softplus', 'softsign', 'logSoftmax', 'exponential', 'leakyRelu',
] as const;
// Initializer names as TF.js writes them (Keras's snake case is read too; the
// core parses names and {className, config}: src/layers/initializer_config.cc).
export const INITIALIZERS = [
  'zeros', 'ones', 'glorotUniform', 'glorotNormal', 'heNormal', 'heUniform', 'leCunNormal', 'leCunUniform',
  'lecunNormal', 'lecunUniform', 'randomUniform', 'randomNormal', 'truncatedNormal', 'orthogonal', 'identity', 'varianceScaling',
] as const;
export const LOSSES = [
  'categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'meanSquaredError', 'binaryCrossentropy',
  'meanAbsoluteError', 'huberLoss', 'hinge', 'kullbackLeiblerDivergence', 'cosineProximity', 'squaredHinge',
  'categoricalHinge', 'logcosh', 'meanSquaredLogarithmicError', 'meanAbsolutePercentageError', 'poisson',
] as const;

// compile({metrics}) names; 'acc' is accepted for 'accuracy'.
export const METRICS = [
  'accuracy', 'binaryAccuracy', 'categoricalAccuracy', 'sparseCategoricalAccuracy', 'precision', 'recall',
] as const;

export type ActivationName = (typeof ACTIVATIONS)[number];
export type InitializerName = (typeof INITIALIZERS)[number];
export type LossName = (typeof LOSSES)[number];

export function codeOf(list: readonly string[], name: string, what: string): number {
  const i = list.indexOf(name);
  if (i < 0) throw new Error(`unknown ${what} '${name}' (expected one of: ${list.join(', ')})`);
  return i;
}
