// Fine-tuning imported models: `await kiln.onnx.loadModel(bytes)` translates
// an ONNX file (a PyTorch export, say) into a Layers model with its weights
// (src/frontends/onnx_to_layers.cc), so it trains like any Kiln model: fit,
// frozen layers (`layer.trainable = false`), a new head through the
// functional API, save, export. Inputs and outputs keep the ONNX layout
// (NCHW images). kiln.onnx.load runs many more operators, for inference only.

import { alloc, coreError, free, heapI32, heapU8, mod } from './backend.js';
import { LayersModel, modelFromHandle } from './model.js';

export interface OnnxLoadModelOptions {
  /**
   * Per model input, its shape without the batch (e.g. [3, 96, 96]), replacing
   * the declared one: a convolutional network runs at another image size.
   */
  inputShapes?: number[][];
  /** Seeds the model's generator: dropout masks and fit's shuffling (the weights come from the file). */
  seed?: number;
}

export async function loadModel(source: Uint8Array | ArrayBuffer, options: OnnxLoadModelOptions = {}): Promise<LayersModel> {
  const bytes = source instanceof Uint8Array ? source : source instanceof ArrayBuffer ? new Uint8Array(source) : null;
  if (!bytes) throw new Error('onnx.loadModel: expected the .onnx file as a Uint8Array or ArrayBuffer');
  if (options === null || typeof options !== 'object') throw new Error('onnx.loadModel: options must be an object');
  for (const key of Object.keys(options))
    if (key !== 'inputShapes' && key !== 'seed') throw new Error(`onnx.loadModel: unknown option '${key}' (options: inputShapes, seed)`);
  const shapes = options.inputShapes ?? [];
  if (!Array.isArray(shapes) || shapes.some((s) => !Array.isArray(s) || s.length === 0 || s.some((d) => !Number.isInteger(d) || d <= 0)))
    throw new Error('onnx.loadModel: inputShapes must be a list of shapes of positive integers, without the batch');
  const seed = options.seed ?? (Math.random() * 2 ** 32) >>> 0;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`onnx.loadModel: seed must be a non-negative integer, got ${seed}`);
  const flat = shapes.flatMap((s) => [s.length, ...s]);
  const m = mod();
  const ptr = alloc(bytes.length, 'the ONNX file');
  const shapePtr = alloc(4 * Math.max(flat.length, 1), 'the input shapes');
  let handle = 0;
  try {
    heapU8().set(bytes, ptr);
    heapI32().set(flat, shapePtr >> 2);
    handle = m._kiln_onnx_to_model(ptr, bytes.length, shapePtr, flat.length, seed >>> 0);
    if (!handle) throw coreError('onnx.loadModel');
  } finally {
    free(ptr);
    free(shapePtr);
  }
  return modelFromHandle(handle);
}
