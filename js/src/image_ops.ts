// tf.image's colour, threshold and geometric ops, and the NMS variants, as
// TF.js 4.22 defines them, composed from the ops API (every value computed
// by the core). Sampling ops build their source coordinates with ops in
// float64, as TF.js's kernels compute them in doubles, and read the image
// with one gather per corner.
import { tidy } from './engine.js';
import {
  abs, add, argMax, cast, ceil, concat, cumsum, div, expandDims, fill, floor, gather, greater, greaterEqual, less, lessEqual, logicalAnd,
  logicalOr, maximum, minimum, mul, reshape, round, slice, sub, sum, tile, where, zeros, image as baseImage,
  isNaN, bincount, range,
} from './ops.js';
import { scalar, Tensor, TensorLike, tensor } from './tensor.js';
import { runOp } from './op_runner.js';

type T = Tensor | TensorLike;
const asTensor = (x: T, what: string): Tensor => {
  if (x instanceof Tensor) {
    if (x.isDisposed) throw new Error(`${what}: a tensor it was given is disposed`);
    return x;
  }
  if (x === null || x === undefined) throw new Error(`${what}: expected a tensor, got ${x}`);
  return tensor(x as TensorLike);
};
const f64 = (v: number) => scalar(v, 'float64');

// CCIR 601 luma, TF.js's weights.
const LUMA = [0.2989, 0.587, 0.114];

/** TF.js's rgbToGrayscale: the luma of the last axis (3 channels) as one channel, in the image's dtype. */
function rgbToGrayscale(image: T): Tensor {
  const what = 'kiln.image.rgbToGrayscale';
  const img = asTensor(image, what);
  if (img.rank < 2) throw new Error(`${what}: images must be at least rank 2, got rank ${img.rank}`);
  if (img.shape[img.rank - 1] !== 3) throw new Error(`${what}: the last dimension must be 3 (RGB), got ${img.shape[img.rank - 1]}`);
  return tidy(() => {
    const gray = sum(mul(cast(img, 'float32'), tensor(LUMA, [3], 'float32')), -1, true);
    return img.dtype === 'float32' ? gray : cast(gray, img.dtype);
  });
}

/** TF.js's grayscaleToRGB: the one channel repeated three times. */
function grayscaleToRGB(image: T): Tensor {
  const what = 'kiln.image.grayscaleToRGB';
  const img = asTensor(image, what);
  if (img.rank < 2) throw new Error(`${what}: images must be at least rank 2, got rank ${img.rank}`);
  if (img.shape[img.rank - 1] !== 1) throw new Error(`${what}: the last dimension must be 1, got ${img.shape[img.rank - 1]}`);
  return tile(img, [...Array(img.rank - 1).fill(1), 3]);
}

// Otsu's threshold of a 256-bin histogram: the bin that maximizes the
// between-class variance w0 w1 (m0 - m1)^2 (the first on ties; -1 when none
// is above 0), for every split at once from running sums.
function otsu(histogram: Tensor, total: number): Tensor {
  const bins = histogram.shape[0];
  const count = cumsum(histogram);                                         // pixels at or below each bin
  const moment = cumsum(mul(histogram, range(0, bins, 1, 'float32')));     // their sum of bin numbers
  const first = slice(count, 0, bins - 1), firstMoment = slice(moment, 0, bins - 1);
  const second = sub(slice(count, bins - 1, 1), first), secondMoment = sub(slice(moment, bins - 1, 1), firstMoment);
  const gap = sub(div(firstMoment, first), div(secondMoment, second));
  const variance = mul(mul(mul(div(first, total), div(second, total)), gap), gap);
  const clean = where(isNaN(variance), 0, variance);
  const best = argMax(clean);
  return where(greater(gather(clean, best), 0), cast(best, 'float32'), -1);
}

/**
 * TF.js's threshold: an int32 image of 255 where the luma passes the
 * threshold (thresholdValue * 255, or Otsu's), else 0; `inverted` swaps them.
 */
function threshold(image: T, method: 'binary' | 'otsu' = 'binary', inverted = false, thresholdValue = 0.5): Tensor {
  const what = 'kiln.image.threshold';
  const img = asTensor(image, what);
  if (img.rank !== 3) throw new Error(`${what}: image must be rank 3, got rank ${img.rank}`);
  if (img.shape[2] !== 3 && img.shape[2] !== 1) throw new Error(`${what}: the image must have 3 or 1 channels, got ${img.shape[2]}`);
  if (img.dtype !== 'int32' && img.dtype !== 'float32') throw new Error(`${what}: image dtype must be int32 or float32, got ${img.dtype}`);
  if (method !== 'binary' && method !== 'otsu') throw new Error(`${what}: method must be 'binary' or 'otsu', got '${method}'`);
  return tidy(() => {
    const gray = img.shape[2] === 3 ? sum(mul(cast(img, 'float32'), tensor(LUMA, [3], 'float32')), -1, true) : cast(img, 'float32');
    const limit = method === 'otsu'
      ? otsu(bincount(reshape(cast(round(gray), 'int32'), [-1]), [], 256), img.shape[0] * img.shape[1])
      : scalar(thresholdValue * 255);
    return cast(mul(inverted ? lessEqual(gray, limit) : greater(gray, limit), 255), 'int32');
  });
}

// Reads image[b, y, x, :] for integer coordinates ys, xs of shape [n, h, w]
// (float64), `fill` where they fall outside: one gather of the flattened image.
function readPixels(img: Tensor, ys: Tensor, xs: Tensor, fillValue: Tensor): Tensor {
  const [n, height, width, channels] = img.shape;
  const [, h, w] = ys.shape;
  const inside = logicalAnd(logicalAnd(greaterEqual(ys, 0), less(ys, height)), logicalAnd(greaterEqual(xs, 0), less(xs, width)));
  const yc = minimum(maximum(ys, 0), height - 1), xc = minimum(maximum(xs, 0), width - 1);
  // Flat pixel numbers in float64 (float32 would round them past 2^24 pixels).
  const batch = reshape(mul(cast(range(0, n, 1, 'int32'), 'float64'), f64(height * width)), [n, 1, 1]);
  const index = cast(add(add(batch, mul(yc, f64(width))), xc), 'int32');
  const values = gather(reshape(cast(img, 'float64'), [n * height * width, channels]), reshape(index, [-1]));
  return where(expandDims(inside, 3), reshape(values, [n, h, w, channels]), fillValue);
}

/**
 * TF.js's rotateWithOffset: each image turned by `radians` about `center`
 * (fractions of the width and height), nearest source pixel, `fillValue`
 * (one value, or [r, g, b]; a fourth channel gets 255) where none falls.
 */
function rotateWithOffset(image: T, radians: number, fillValue: number | [number, number, number] = 0, center: number | [number, number] = 0.5): Tensor {
  const what = 'kiln.image.rotateWithOffset';
  const img = asTensor(image, what);
  if (img.rank !== 4) throw new Error(`${what}: image must be rank 4, got rank ${img.rank}`);
  if (!Number.isFinite(radians)) throw new Error(`${what}: radians must be a finite number, got ${radians}`);
  const [n, height, width, channels] = img.shape;
  const fills = typeof fillValue === 'number' ? Array(channels).fill(fillValue)
    : Array.from({ length: channels }, (_, c) => (c === 3 ? 255 : fillValue[c]));
  if (fills.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
    throw new Error(`${what}: fillValue must be a number or [r, g, b] for an image of ${channels} channels`);
  const cx = width * (typeof center === 'number' ? center : center[0]);
  const cy = height * (typeof center === 'number' ? center : center[1]);
  const sin = Math.sin(radians), cos = Math.cos(radians);
  return tidy(() => {
    const x64 = sub(cast(reshape(range(0, width, 1, 'float32'), [1, 1, width]), 'float64'), f64(cx));
    const y64 = sub(cast(reshape(range(0, height, 1, 'float32'), [1, height, 1]), 'float64'), f64(cy));
    const sx = floor(add(add(sub(mul(x64, f64(cos)), mul(y64, f64(sin))), f64(cx)), f64(0.5)));  // Math.round
    const sy = floor(add(add(add(mul(x64, f64(sin)), mul(y64, f64(cos))), f64(cy)), f64(0.5)));
    const full = zeros([n, height, width], 'float64');
    const out = readPixels(img, add(sy, full), add(sx, full), tensor(fills, [channels], 'float64'));
    return cast(out, img.dtype);
  });
}

// TF's coordinate mapping outside the image for transform()'s fill modes (on float64 coordinates).
function mapCoordinates(c: Tensor, len: number, mode: string): Tensor {
  if (mode === 'constant') return c;
  const clamp = (v: Tensor) => minimum(maximum(v, 0), len - 1);
  if (mode === 'nearest') return clamp(c);
  const trunc = (v: Tensor) => where(less(v, 0), ceil(v), floor(v));
  const below = less(c, 0), above = greater(c, len - 1);
  if (len <= 1) return clamp(where(logicalOr(below, above), 0, c));
  let low: Tensor, high: Tensor;
  if (mode === 'reflect') {
    const size2 = f64(2 * len);
    const l = add(mul(size2, trunc(div(mul(c, f64(-1)), size2))), c);
    low = where(less(l, -len), add(l, size2), sub(mul(l, f64(-1)), f64(1)));
    const h = sub(c, mul(size2, trunc(div(c, size2))));
    high = where(greaterEqual(h, len), sub(sub(size2, h), f64(1)), h);
  } else {  // wrap
    const size = f64(len - 1);
    low = add(c, mul(f64(len), add(trunc(div(mul(c, f64(-1)), size)), f64(1))));
    high = sub(c, mul(f64(len), trunc(div(c, size))));
  }
  return clamp(where(below, low, where(above, high, c)));
}

/**
 * TF.js's transform: each output pixel (x, y) samples the image at
 * ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, from
 * transforms rows [a0, a1, a2, b0, b1, b2, c0, c1] (one, or one per image).
 */
function transform(image: T, transforms: T, interpolation: 'nearest' | 'bilinear' = 'nearest',
  fillMode: 'constant' | 'reflect' | 'wrap' | 'nearest' = 'constant', fillValue = 0, outputShape?: [number, number]): Tensor {
  const what = 'kiln.image.transform';
  const img = asTensor(image, what), tr = asTensor(transforms, what);
  if (img.rank !== 4) throw new Error(`${what}: image must be rank 4, got rank ${img.rank}`);
  const [n, height, width, channels] = img.shape;
  if (tr.rank !== 2 || tr.shape[1] !== 8 || (tr.shape[0] !== n && tr.shape[0] !== 1))
    throw new Error(`${what}: transforms must be [${n}, 8] or [1, 8], got [${tr.shape}]`);
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') throw new Error(`${what}: interpolation must be 'nearest' or 'bilinear', got '${interpolation}'`);
  if (!['constant', 'reflect', 'wrap', 'nearest'].includes(fillMode)) throw new Error(`${what}: fillMode must be constant, reflect, wrap or nearest, got '${fillMode}'`);
  if (outputShape !== undefined && outputShape !== null &&
      (!Array.isArray(outputShape) || outputShape.length !== 2 || outputShape.some((d) => !Number.isInteger(d) || d <= 0)))
    throw new Error(`${what}: outputShape must be [height, width] of positive integers`);
  const [oh, ow] = outputShape ?? [height, width];
  return tidy(() => {
    const t = cast(tr, 'float64');
    const k = (i: number) => reshape(slice(t, [0, i], [t.shape[0], 1]), [t.shape[0], 1, 1]);
    const x = cast(reshape(range(0, ow, 1, 'float32'), [1, 1, ow]), 'float64'), y = cast(reshape(range(0, oh, 1, 'float32'), [1, oh, 1]), 'float64');
    const full = zeros([n, oh, ow], 'float64');
    const projection = add(add(add(mul(k(6), x), mul(k(7), y)), f64(1)), full);
    const inX = div(add(add(mul(k(0), x), mul(k(1), y)), k(2)), projection);
    const inY = div(add(add(mul(k(3), x), mul(k(4), y)), k(5)), projection);
    // A zero projection samples nothing (the fill value): sent far outside the image.
    const away = f64(-2 * (height + width + 2));
    const mx = where(greater(abs(projection), 0), mapCoordinates(inX, width, fillMode), away);
    const my = where(greater(abs(projection), 0), mapCoordinates(inY, height, fillMode), away);
    const fillT = scalar(fillValue, 'float64');
    let out: Tensor;
    if (interpolation === 'nearest') {
      out = readPixels(img, floor(add(my, f64(0.5))), floor(add(mx, f64(0.5))), fillT);
    } else {
      const y0 = floor(my), x0 = floor(mx), y1 = add(y0, f64(1)), x1 = add(x0, f64(1));
      const wx0 = expandDims(sub(x1, mx), 3), wx1 = expandDims(sub(mx, x0), 3);
      const top = add(mul(wx0, readPixels(img, y0, x0, fillT)), mul(wx1, readPixels(img, y0, x1, fillT)));
      const bottom = add(mul(wx0, readPixels(img, y1, x0, fillT)), mul(wx1, readPixels(img, y1, x1, fillT)));
      out = add(mul(expandDims(sub(y1, my), 3), top), mul(expandDims(sub(my, y0), 3), bottom));
    }
    return cast(out, img.dtype);
  });
}

/**
 * TF.js's nonMaxSuppressionWithScore: {selectedIndices, selectedScores}.
 * softNmsSigma > 0 is Soft-NMS (the core's SoftNonMaxSuppression): an
 * overlapping box's score decays by exp(-iou^2 / (2 sigma)) instead of the box being dropped.
 */
function nonMaxSuppressionWithScore(boxes: T, scores: T, maxOutputSize: number, iouThreshold = 0.5, scoreThreshold = -Infinity,
  softNmsSigma = 0): { selectedIndices: Tensor; selectedScores: Tensor } {
  const what = 'kiln.image.nonMaxSuppressionWithScore';
  if (typeof softNmsSigma !== 'number' || !(softNmsSigma >= 0)) throw new Error(`${what}: softNmsSigma must be a number >= 0, got ${softNmsSigma}`);
  const sc = asTensor(scores, what);
  if (softNmsSigma > 0) {
    const b = asTensor(boxes, what);
    if (b.rank !== 2 || b.shape[1] !== 4) throw new Error(`${what}: boxes must be [numBoxes, 4], got [${b.shape}]`);
    if (sc.rank !== 1 || sc.shape[0] !== b.shape[0]) throw new Error(`${what}: scores must be [${b.shape[0]}], got [${sc.shape}]`);
    if (!Number.isInteger(maxOutputSize) || maxOutputSize < 0) throw new Error(`${what}: maxOutputSize must be a non-negative integer, got ${maxOutputSize}`);
    if (!(iouThreshold >= 0 && iouThreshold <= 1)) throw new Error(`${what}: iouThreshold must be in [0, 1], got ${iouThreshold}`);
    const [selectedIndices, selectedScores] = tidy(() => runOp(what, 'SoftNonMaxSuppression',
      [cast(b, 'float32'), cast(sc, 'float32'), scalar(iouThreshold, 'float64'), scalar(scoreThreshold, 'float64'), scalar(softNmsSigma, 'float64')],
      { max_output_size: { i: Math.min(maxOutputSize, b.shape[0]) } }, 2));
    return { selectedIndices, selectedScores };
  }
  const selectedIndices = baseImage.nonMaxSuppression(boxes, sc, maxOutputSize, iouThreshold, scoreThreshold);
  const selectedScores = tidy(() => cast(gather(sc, selectedIndices), 'float32'));
  return { selectedIndices, selectedScores };
}

/**
 * TF.js's nonMaxSuppressionPadded: {selectedIndices, validOutputs}; with
 * padToMaxOutputSize the indices are padded with 0 to maxOutputSize.
 */
function nonMaxSuppressionPadded(boxes: T, scores: T, maxOutputSize: number, iouThreshold = 0.5, scoreThreshold = -Infinity,
  padToMaxOutputSize = false): { selectedIndices: Tensor; validOutputs: Tensor } {
  const b = asTensor(boxes, 'kiln.image.nonMaxSuppressionPadded');
  const picked = baseImage.nonMaxSuppression(b, scores, maxOutputSize, iouThreshold, scoreThreshold);
  const count = picked.shape[0];
  const validOutputs = scalar(count, 'int32');
  // As TF.js: padded to maxOutputSize, or to the number of boxes where there are fewer.
  const padded = Math.min(maxOutputSize, b.shape[0]);
  if (!padToMaxOutputSize || count === padded) return { selectedIndices: picked, validOutputs };
  const selectedIndices = tidy(() => concat([picked, fill([padded - count], 0, 'int32')]));
  picked.dispose();
  return { selectedIndices, validOutputs };
}

/** tf.image's ops added here (ops.ts's image namespace includes them). */
export const imageOps = {
  rgbToGrayscale, grayscaleToRGB, threshold, rotateWithOffset, transform,
  nonMaxSuppressionWithScore,
  nonMaxSuppressionWithScoreAsync: async (...args: Parameters<typeof nonMaxSuppressionWithScore>) => nonMaxSuppressionWithScore(...args),
  nonMaxSuppressionPadded,
  nonMaxSuppressionPaddedAsync: async (...args: Parameters<typeof nonMaxSuppressionPadded>) => nonMaxSuppressionPadded(...args),
};
