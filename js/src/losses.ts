// TF.js's tf.losses (tfjs-core) and tf.metrics (tfjs-layers): the same
// names, arguments, defaults and reductions, each written with the ops API,
// so they run on the core's op set and autograd differentiates them.
import { tidy } from './engine.js';
import * as ops from './ops.js';
import { Tensor, TensorLike, tensor } from './tensor.js';

type T = Tensor | TensorLike;
const $ = (x: T, what: string): Tensor => {
  if (x instanceof Tensor) return x;
  if (x === null || x === undefined) throw new Error(`${what}: expected a tensor, got ${x}`);
  return tensor(x as TensorLike);
};

/** How a loss's per-element values are combined (TF.js's tf.Reduction). */
export enum Reduction {
  NONE = 0,
  MEAN = 1,
  SUM = 2,
  SUM_BY_NONZERO_WEIGHTS = 3,
}

function sameShape(what: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw new Error(`${what}: labels [${a.shape}] and predictions [${b.shape}] must have the same shape`);
}

/** tf.losses.computeWeightedLoss: weights broadcast over losses, then reduced. */
export function computeWeightedLoss(losses: T, weights?: T, reduction: Reduction = Reduction.SUM_BY_NONZERO_WEIGHTS): Tensor {
  const what = 'kiln.losses.computeWeightedLoss';
  if (!(reduction in Reduction)) throw new Error(`${what}: unknown reduction ${reduction} (use kiln.Reduction)`);
  return tidy(() => {
    const l = $(losses, what);
    const w = weights === undefined || weights === null ? null : $(weights, what);
    const weighted = w ? ops.mul(l, w) : l;
    switch (reduction) {
      case Reduction.NONE: return w ? weighted : ops.clone(weighted);
      case Reduction.SUM: return ops.sum(weighted);
      case Reduction.MEAN: {
        if (!w) return ops.mean(weighted);
        const result = ops.div(ops.sum(weighted), ops.sum(w));
        const factor = l.size / w.size;
        return factor > 1 ? ops.div(result, factor) : result;
      }
      default: {
        if (!w) return ops.div(ops.sum(weighted), l.size);
        const nonZero = ops.cast(ops.sum(ops.notEqual(ops.mul(w, ops.ones(l.shape)), 0)), 'float32');
        return ops.div(ops.sum(weighted), nonZero);
      }
    }
  });
}

function pairwise(what: string, labels: T, predictions: T, weights: T | undefined, reduction: Reduction,
  f: (l: Tensor, p: Tensor) => Tensor): Tensor {
  return tidy(() => {
    const l = $(labels, what), p = $(predictions, what);
    sameShape(what, l, p);
    return computeWeightedLoss(f(l, p), weights, reduction);
  });
}

export const losses = {
  computeWeightedLoss,
  absoluteDifference: (labels: T, predictions: T, weights?: T, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) =>
    pairwise('kiln.losses.absoluteDifference', labels, predictions, weights, reduction, (l, p) => ops.abs(ops.sub(l, p))),
  meanSquaredError: (labels: T, predictions: T, weights?: T, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) =>
    pairwise('kiln.losses.meanSquaredError', labels, predictions, weights, reduction, (l, p) => ops.squaredDifference(l, p)),
  huberLoss: (labels: T, predictions: T, weights?: T, delta = 1, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) =>
    pairwise('kiln.losses.huberLoss', labels, predictions, weights, reduction, (l, p) => {
      const error = ops.abs(ops.sub(l, p));
      const quadratic = ops.minimum(error, delta);
      return ops.add(ops.mul(0.5, ops.square(quadratic)), ops.mul(delta, ops.sub(error, quadratic)));
    }),
  /** Labels in {0, 1}, mapped to {-1, 1}. */
  hingeLoss: (labels: T, predictions: T, weights?: T, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) =>
    pairwise('kiln.losses.hingeLoss', labels, predictions, weights, reduction,
      (l, p) => ops.relu(ops.sub(1, ops.mul(ops.sub(ops.mul(2, l), 1), p)))),
  logLoss: (labels: T, predictions: T, weights?: T, epsilon = 1e-7, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) =>
    pairwise('kiln.losses.logLoss', labels, predictions, weights, reduction, (l, p) =>
      ops.sub(ops.neg(ops.mul(l, ops.log(ops.add(p, epsilon)))), ops.mul(ops.sub(1, l), ops.log(ops.add(ops.sub(1, p), epsilon))))),
  cosineDistance: (labels: T, predictions: T, axis: number, weights?: T, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) =>
    pairwise('kiln.losses.cosineDistance', labels, predictions, weights, reduction,
      (l, p) => ops.sub(1, ops.sum(ops.mul(l, p), axis, true))),
  /** Per element: max(x, 0) - x z + log(1 + exp(-|x|)); labelSmoothing moves labels toward 0.5. */
  sigmoidCrossEntropy: (multiClassLabels: T, logits: T, weights?: T, labelSmoothing = 0, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) =>
    pairwise('kiln.losses.sigmoidCrossEntropy', multiClassLabels, logits, weights, reduction, (l, x) => {
      const z = labelSmoothing > 0 ? ops.add(ops.mul(l, 1 - labelSmoothing), 0.5 * labelSmoothing) : l;
      return ops.add(ops.sub(ops.relu(x), ops.mul(x, z)), ops.log1p(ops.exp(ops.neg(ops.abs(x)))));
    }),
  /** Per example (over the last axis): -sum(labels log softmax(logits)); labelSmoothing spreads it over the classes. */
  softmaxCrossEntropy: (onehotLabels: T, logits: T, weights?: T, labelSmoothing = 0, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) => {
    const what = 'kiln.losses.softmaxCrossEntropy';
    return tidy(() => {
      const l = $(onehotLabels, what), x = $(logits, what);
      sameShape(what, l, x);
      const classes = x.shape[x.rank - 1];
      const z = labelSmoothing > 0 ? ops.add(ops.mul(l, 1 - labelSmoothing), labelSmoothing / classes) : l;
      const perExample = ops.neg(ops.sum(ops.mul(z, ops.logSoftmax(x)), -1));
      return computeWeightedLoss(perExample, weights, reduction);
    });
  },
};

// ---- metrics (tfjs-layers): per example, over the last axis --------------------------

const EPSILON = 1e-7;  // tfjs-layers' backend epsilon()

function metric(name: string, f: (yTrue: Tensor, yPred: Tensor) => Tensor) {
  return (yTrue: T, yPred: T): Tensor => tidy(() => {
    const what = `kiln.metrics.${name}`;
    return f($(yTrue, what), $(yPred, what));
  });
}

const l2Normalize = (x: Tensor, axis: number) =>
  ops.div(x, ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis, true), EPSILON)));

/** Categorical crossentropy of probabilities (tfjs-layers: rescaled to sum 1, clipped to [eps, 1 - eps]). */
function categoricalCrossentropy(yTrue: Tensor, yPred: Tensor): Tensor {
  const p = ops.clipByValue(ops.div(yPred, ops.sum(yPred, -1, true)), EPSILON, 1 - EPSILON);
  return ops.neg(ops.sum(ops.mul(ops.cast(yTrue, 'float32'), ops.log(p)), -1));
}

const metricFunctions = {
  binaryAccuracy: metric('binaryAccuracy', (t, p) => ops.mean(ops.cast(ops.equal(t, ops.cast(ops.greater(p, 0.5), t.dtype)), 'float32'), -1)),
  categoricalAccuracy: metric('categoricalAccuracy', (t, p) => ops.cast(ops.equal(ops.argMax(t, -1), ops.argMax(p, -1)), 'float32')),
  sparseCategoricalAccuracy: metric('sparseCategoricalAccuracy', (t, p) =>
    ops.cast(ops.equal(ops.cast(ops.reshape(t, [-1]), 'int32'), ops.reshape(ops.argMax(p, -1), [-1])), 'float32')),
  binaryCrossentropy: metric('binaryCrossentropy', (t, p) => {
    const q = ops.clipByValue(p, EPSILON, 1 - EPSILON);
    const logits = ops.log(ops.div(q, ops.sub(1, q)));
    return ops.mean(losses.sigmoidCrossEntropy(t, logits, undefined, 0, Reduction.NONE), -1);
  }),
  categoricalCrossentropy: metric('categoricalCrossentropy', categoricalCrossentropy),
  /** Kiln extension (TF.js has it as a loss only): integer class labels. */
  sparseCategoricalCrossentropy: metric('sparseCategoricalCrossentropy', (t, p) => {
    const classes = p.shape[p.rank - 1];
    const labels = ops.reshape(ops.oneHot(ops.cast(ops.reshape(t, [-1]), 'int32'), classes), p.shape);
    return categoricalCrossentropy(labels, p);
  }),
  meanSquaredError: metric('meanSquaredError', (t, p) => ops.mean(ops.square(ops.sub(p, t)), -1)),
  meanAbsoluteError: metric('meanAbsoluteError', (t, p) => ops.mean(ops.abs(ops.sub(p, t)), -1)),
  meanAbsolutePercentageError: metric('meanAbsolutePercentageError', (t, p) =>
    ops.mul(100, ops.mean(ops.abs(ops.div(ops.sub(t, p), ops.clipByValue(ops.abs(t), EPSILON, Number.MAX_VALUE))), -1))),
  cosineProximity: metric('cosineProximity', (t, p) => ops.neg(ops.sum(ops.mul(l2Normalize(t, -1), l2Normalize(p, -1)), -1))),
  /** Over all elements, predictions already 0/1 (TF.js's rule). */
  precision: metric('precision', (t, p) => {
    const tp = ops.sum(ops.cast(ops.logicalAnd(ops.equal(t, 1), ops.equal(p, 1)), 'float32'));
    const fp = ops.sum(ops.cast(ops.logicalAnd(ops.equal(t, 0), ops.equal(p, 1)), 'float32'));
    const all = ops.add(tp, fp);
    return ops.where(ops.greater(all, 0), ops.div(tp, all), 0);
  }),
  recall: metric('recall', (t, p) => {
    const tp = ops.sum(ops.cast(ops.logicalAnd(ops.equal(t, 1), ops.equal(p, 1)), 'float32'));
    const fn = ops.sum(ops.cast(ops.logicalAnd(ops.equal(t, 1), ops.equal(p, 0)), 'float32'));
    const all = ops.add(tp, fn);
    return ops.where(ops.greater(all, 0), ops.div(tp, all), 0);
  }),
  r2Score: metric('r2Score', (t, p) => {
    const residual = ops.sum(ops.square(ops.sub(t, p)));
    const total = ops.sum(ops.square(ops.sub(t, ops.mean(t))));
    return ops.sub(1, ops.div(residual, total));
  }),
};
// With TF.js's aliases.
export const metrics = {
  ...metricFunctions,
  MSE: metricFunctions.meanSquaredError, mse: metricFunctions.meanSquaredError,
  MAPE: metricFunctions.meanAbsolutePercentageError, mape: metricFunctions.meanAbsolutePercentageError,
};
