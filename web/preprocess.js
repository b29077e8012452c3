// Turns a drawing into a 28x28 MNIST-style input, the way the MNIST digits
// were made: the digit's bounding box is scaled (keeping its aspect ratio) to
// fit a 20x20 box, area-averaged so the edges stay anti-aliased, then put in a
// 28x28 frame with its center of mass at the center. White on black, [0, 1].

export const SIZE = 28;
const BOX = 20;

/** Grayscale of a canvas (white ink on black) as {width, height, data} in [0, 1]. */
export function grayFromCanvas(canvas) {
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++)
    data[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
  return { width, height, data };
}

/** The smallest box [x0, x1) x [y0, y1) holding every pixel above `threshold`, or null. */
export function boundingBox({ width, height, data }, threshold = 0.1) {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x] <= threshold) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** Area-averaging resample of `box` of the image to outW x outH pixels. */
export function resample({ width, data }, box, outW, outH) {
  const fx = (box.x1 - box.x0) / outW, fy = (box.y1 - box.y0) / outH;
  const out = new Float32Array(outW * outH);
  for (let oy = 0; oy < outH; oy++) {
    const ya = box.y0 + oy * fy, yb = ya + fy;
    for (let ox = 0; ox < outW; ox++) {
      const xa = box.x0 + ox * fx, xb = xa + fx;
      let sum = 0;
      for (let sy = Math.floor(ya); sy < Math.ceil(yb); sy++) {
        const wy = Math.min(yb, sy + 1) - Math.max(ya, sy);
        for (let sx = Math.floor(xa); sx < Math.ceil(xb); sx++) {
          const wx = Math.min(xb, sx + 1) - Math.max(xa, sx);
          sum += data[sy * width + sx] * wx * wy;
        }
      }
      out[oy * outW + ox] = sum / (fx * fy);
    }
  }
  return out;
}

/** Center of mass (in pixel units, pixel centers at +0.5) of a w x h image. */
export function centerOfMass(img, w, h) {
  let total = 0, cx = 0, cy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = img[y * w + x];
      total += v;
      cx += v * (x + 0.5);
      cy += v * (y + 0.5);
    }
  }
  return total > 0 ? { x: cx / total, y: cy / total } : { x: w / 2, y: h / 2 };
}

/** A Float32Array(784) ready for the model, or null when nothing is drawn. */
export function toMnistInput(gray) {
  const box = boundingBox(gray);
  if (!box) return null;
  const bw = box.x1 - box.x0, bh = box.y1 - box.y0;
  const scale = BOX / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * scale)), h = Math.max(1, Math.round(bh * scale));
  const digit = resample(gray, box, w, h);
  const com = centerOfMass(digit, w, h);
  const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
  const left = clamp(Math.round(SIZE / 2 - com.x), SIZE - w);
  const top = clamp(Math.round(SIZE / 2 - com.y), SIZE - h);
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) out[(top + y) * SIZE + left + x] = Math.min(1, digit[y * w + x]);
  return out;
}
