// Models, engines and protocol of the ONNX inference benchmark (bench/run_onnx.mjs).
// The .onnx files, input images and PyTorch outputs come from
// scripts/make_torchvision_models.py (build/torchvision, never committed).

/** torchvision models exported by scripts/make_torchvision_models.py; input is [1, 3, size, size]. */
export const MODELS = {
  mobilenet_v2: { id: 'mobilenet_v2', title: 'MobileNetV2', size: 224 },
  resnet50: { id: 'resnet50', title: 'ResNet50', size: 224 },
  densenet121: { id: 'densenet121', title: 'DenseNet121', size: 224 },
  inception_v3: { id: 'inception_v3', title: 'InceptionV3', size: 299 },
  xception: { id: 'xception', title: 'Xception', size: 299 },  // scripts/xception.py (torchvision has none)
};
export const MODEL_IDS = Object.keys(MODELS);
export const QUICK_MODEL_IDS = ['mobilenet_v2', 'resnet50'];
export const inputShape = (id) => [1, 3, MODELS[id].size, MODELS[id].size];

/**
 * Engines (each measured in a fresh process or a fresh browser per model and
 * thread count). env: 'chromium' | 'native' (native and Node.js processes).
 */
export const ENGINES = {
  'kiln-wasm': { env: 'chromium', title: 'Kiln wasm (Chromium)' },
  'ort-web': { env: 'chromium', title: 'onnxruntime-web wasm (Chromium)' },
  'kiln-native': { env: 'native', title: 'Kiln native (C++)' },
  'ort-node': { env: 'native', title: 'onnxruntime-node (CPU EP)' },
  pytorch: { env: 'native', title: 'PyTorch CPU (TorchScript, optimized for inference)' },
  // GPU engines run at one thread count (the GPU does the work), in the first repeat only, within a
  // time budget (run_onnx --gpu-budget-s): on a software adapter one ResNet50 inference takes 15 s.
  'ort-webgpu': { env: 'chromium', title: 'onnxruntime-web WebGPU (Chromium)', gpu: true },
};
/** What `make bench-onnx` measures; --engines adds ort-webgpu (make study does). */
export const ENGINE_IDS = Object.keys(ENGINES).filter((id) => !ENGINES[id].gpu);
export const THREADS = [1, 2];

// warmup: untimed runs after the first one; iters: timed runs (the latency is
// their median); repeats: fresh processes / pages per engine, model and thread
// count (the reported figures are medians over the repeats). Ten warm-up runs:
// V8 compiles wasm with its baseline tier first and optimizes hot functions on
// a background thread, which at 2 threads on 2 cores competes with the run;
// after 3 warm-ups some pages still timed that (the same for every engine).
export const FULL_PROTOCOL = { warmup: 10, iters: 20, repeats: 3 };
export const QUICK_PROTOCOL = { warmup: 1, iters: 5, repeats: 1 };

export { median } from '../common/stats.mjs';

/** Largest |got - want| over the largest |want|: the check that every engine ran the same model. */
export function maxRelErr(got, want) {
  if (!want || got.length !== want.length) return null;
  let scale = 0, diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(want[i] - got[i]));
  }
  return scale > 0 ? diff / scale : null;
}
