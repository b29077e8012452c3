// TF.js's tf.browser.fromPixels and toPixels: images in and out of tensors.
// Pixels come as RGBA bytes (ImageData, a {data, width, height} object, or a
// canvas, image, video or ImageBitmap drawn onto a canvas to read them); the
// channel selection, scaling and rounding are ops of the core.
import * as ops from './ops.js';
import { tidy } from './engine.js';
import { Tensor, tensor } from './tensor.js';

/** RGBA bytes and their size (TF.js's PixelData; ImageData has the same fields). */
export interface PixelData {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

type Drawable = { width: number; height: number } & object;
type PixelSource = PixelData | Drawable;

function isPixelData(p: unknown): p is PixelData {
  const d = (p as PixelData | null)?.data;
  return typeof p === 'object' && p !== null && (d instanceof Uint8Array || d instanceof Uint8ClampedArray);
}

// A DOM image source drawn onto a canvas, read back as RGBA.
function readDrawable(what: string, source: Drawable): PixelData {
  const s = source as { videoWidth?: number; videoHeight?: number; naturalWidth?: number; naturalHeight?: number; width: number; height: number };
  const width = s.videoWidth || s.naturalWidth || s.width, height = s.videoHeight || s.naturalHeight || s.height;
  const g = globalThis as { OffscreenCanvas?: new (w: number, h: number) => any; document?: { createElement(t: string): any } };
  const canvas = g.OffscreenCanvas ? new g.OffscreenCanvas(width, height) : g.document?.createElement('canvas');
  if (!canvas) throw new Error(`${what}: no canvas to read the image from here (in Node, pass {data, width, height} RGBA pixels)`);
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error(`${what}: could not get a 2D canvas context`);
  context.drawImage(source, 0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}

/** An int32 [height, width, numChannels] tensor of the pixels' first numChannels channels (1, 3 or 4). */
export function fromPixels(pixels: PixelSource, numChannels = 3): Tensor {
  const what = 'kiln.browser.fromPixels';
  if (pixels === null || pixels === undefined) throw new Error(`${what}: pixels is ${pixels}`);
  if (numChannels !== 1 && numChannels !== 3 && numChannels !== 4)
    throw new Error(`${what}: numChannels must be 1, 3 or 4, got ${numChannels}`);
  const p = isPixelData(pixels) ? pixels : readDrawable(what, pixels as Drawable);
  const { width, height } = p;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0)
    throw new Error(`${what}: width and height must be non-negative integers, got ${width}x${height}`);
  if (p.data.length !== width * height * 4)
    throw new Error(`${what}: ${width}x${height} RGBA pixels need ${width * height * 4} bytes, got ${p.data.length}`);
  return tidy(() => {
    const bytes = new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.length);
    const rgba = tensor(bytes.slice(), [height, width, 4], 'uint8');
    const picked = numChannels === 4 ? rgba : ops.slice(rgba, [0, 0, 0], [height, width, numChannels]);
    return ops.cast(picked, 'int32');
  });
}

/**
 * The image as RGBA bytes (TF.js's toPixels): a [height, width] or
 * [height, width, 1|3|4] tensor, float32 in [0, 1] or int32 in [0, 255]; one
 * channel is gray, a missing alpha is opaque. With a canvas, also drawn on it.
 */
export async function toPixels(img: Tensor, canvas?: { width: number; height: number; getContext(type: '2d'): any }): Promise<Uint8ClampedArray> {
  const what = 'kiln.browser.toPixels';
  if (!(img instanceof Tensor)) throw new Error(`${what}: expects a Tensor`);
  if (img.rank !== 2 && img.rank !== 3) throw new Error(`${what}: expects a rank 2 or 3 tensor, got shape [${img.shape}]`);
  const [height, width] = img.shape;
  const depth = img.rank === 2 ? 1 : img.shape[2];
  if (depth !== 1 && depth !== 3 && depth !== 4) throw new Error(`${what}: expects 1, 3 or 4 channels, got ${depth}`);
  if (img.dtype !== 'float32' && img.dtype !== 'int32') throw new Error(`${what}: expects a float32 or int32 tensor, got ${img.dtype}`);
  const [lo, hi] = img.dtype === 'float32' ? [0, 1] : [0, 255];
  const range = [lo, hi];
  if (img.size > 0) {
    const lowest = ops.min(img), highest = ops.max(img);
    range[0] = Number(lowest.dataSync()[0]);
    range[1] = Number(highest.dataSync()[0]);
    lowest.dispose();
    highest.dispose();
  }
  if ((!(range[0] >= lo) || !(range[1] <= hi)))
    throw new Error(`${what}: ${img.dtype} values must be in [${lo}, ${hi}], found ${range[0] < lo || Number.isNaN(range[0]) ? range[0] : range[1]}`);
  const rgba = tidy(() => {
    const hwc = img.rank === 2 ? ops.expandDims(img, 2) : img;
    // In float64, as TF.js's Math.round(value * 255) on the float32 values.
    const scaled = img.dtype === 'float32' ? ops.round(ops.mul(ops.cast(hwc, 'float64'), 255)) : hwc;
    const bytes = ops.cast(ops.cast(scaled, 'int32'), 'uint8');
    const rgb = depth === 1 ? ops.tile(bytes, [1, 1, 3]) : bytes;
    return depth === 4 ? rgb : ops.concat([rgb, ops.fill([height, width, 1], 255, 'uint8')], 2);
  });
  const data = new Uint8ClampedArray((await rgba.data()).buffer.slice(0));
  rgba.dispose();
  if (canvas) {
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    const g = globalThis as { ImageData?: new (d: Uint8ClampedArray, w: number, h: number) => unknown };
    if (!g.ImageData) throw new Error(`${what}: drawing on a canvas needs ImageData (a browser)`);
    context.putImageData(new g.ImageData(data, width, height), 0, 0);
  }
  return data;
}

export const browser = { fromPixels, toPixels };
