// TF.js's weight files: a manifest of {name, shape, dtype, quantization?}
// entries over one binary buffer, the weights back to back in manifest order.
// Quantized weights (the converter's --quantize_uint8/uint16/float16) are
// dequantized at load exactly as tf.io.decodeWeights does.
import { halfToFloat } from './float16.js';

export interface WeightQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
  original_dtype?: string;
}

export interface WeightsManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  quantization?: WeightQuantization;
  group?: string;
}

export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightsManifestEntry[];
}

export interface DecodedWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function size(entry: WeightsManifestEntry): number {
  if (!Array.isArray(entry.shape) || entry.shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`weight '${entry.name}': shape must be a list of non-negative integers, got ${JSON.stringify(entry.shape)}`);
  return entry.shape.reduce((a, b) => a * b, 1);
}

/** Bytes the entry takes in the buffer. */
export function storedBytes(entry: WeightsManifestEntry): number {
  const stored = entry.quantization?.dtype ?? entry.dtype;
  const plain = entry.quantization !== undefined || ['float32', 'int32', 'bool'].includes(entry.dtype);
  const per = plain ? STORED_BYTES[stored] : undefined;
  if (per === undefined)
    throw new Error(`weight '${entry.name}': ${entry.quantization ? 'quantization' : 'dtype'} '${stored}' is not supported (float32, int32, bool; quantized uint8, uint16, float16)`);
  return size(entry) * per;
}

/** A weight in its own dtype: float32 (dequantized), int32 or bool (0/1 bytes). */
export interface TypedWeight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  values: Float32Array | Int32Array | Uint8Array;
}

/**
 * Every weight of the manifest in its own dtype. Checks the buffer holds
 * what the manifest says before reading anything.
 */
export function decodeTypedWeights(data: ArrayBuffer, specs: WeightsManifestEntry[]): TypedWeight[] {
  let need = 0;
  for (const s of specs) need += storedBytes(s);
  if (need !== data.byteLength)
    throw new Error(`the weight data holds ${data.byteLength} bytes but the manifest describes ${need}`);
  const out: TypedWeight[] = [];
  let offset = 0;
  for (const spec of specs) {
    const n = size(spec), bytes = storedBytes(spec);
    const view = data.slice(offset, offset + bytes);
    offset += bytes;
    const q = spec.quantization;
    let values: Float32Array | Int32Array | Uint8Array;
    if (q) {
      if (spec.dtype !== 'float32' && !(spec.dtype === 'int32' && q.dtype !== 'float16'))
        throw new Error(`weight '${spec.name}': ${q.dtype} quantization of ${spec.dtype} weights is not supported`);
      values = spec.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
      if (q.dtype === 'float16') {
        const h = new Uint16Array(view);
        for (let i = 0; i < n; i++) values[i] = halfToFloat(h[i]);
      } else {
        if (typeof q.scale !== 'number' || typeof q.min !== 'number')
          throw new Error(`weight '${spec.name}': ${q.dtype} quantization needs numeric min and scale`);
        const w = q.dtype === 'uint8' ? new Uint8Array(view) : new Uint16Array(view);
        for (let i = 0; i < n; i++) {
          const v = w[i] * q.scale + q.min;
          values[i] = spec.dtype === 'int32' ? Math.round(v) : v;
        }
      }
    } else if (spec.dtype === 'float32') {
      values = new Float32Array(view);
    } else if (spec.dtype === 'int32') {
      values = new Int32Array(view);
    } else {
      values = new Uint8Array(view).map((b) => (b ? 1 : 0));
    }
    out.push({ name: spec.name, shape: spec.shape.slice(), dtype: spec.dtype as TypedWeight['dtype'], values });
  }
  return out;
}

/**
 * Every weight of the manifest as float32 (Kiln's layer weights are float32;
 * int32 and bool weights are converted as TF.js's cast would).
 */
export function decodeWeights(data: ArrayBuffer, specs: WeightsManifestEntry[]): DecodedWeight[] {
  return decodeTypedWeights(data, specs).map((w) => ({
    name: w.name, shape: w.shape, values: w.values instanceof Float32Array ? w.values : Float32Array.from(w.values),
  }));
}

/** float32 weights as one buffer and their manifest entries (TF.js's tf.io.encodeWeights for float32). */
export function encodeWeights(weights: DecodedWeight[]): { data: ArrayBuffer; specs: WeightsManifestEntry[] } {
  const total = weights.reduce((a, w) => a + w.values.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const w of weights) {
    all.set(w.values, offset);
    offset += w.values.length;
  }
  return { data: all.buffer, specs: weights.map((w) => ({ name: w.name, shape: w.shape.slice(), dtype: 'float32' })) };
}

/** Shards (one per path) joined in order, as TF.js concatenates a group's files. */
export function concatBuffers(parts: ArrayBuffer[]): ArrayBuffer {
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out.buffer;
}
