// TF.js graph models that an npm package ships (@vladmandic/human's face,
// hand, body and object detectors, converted by tensorflowjs_converter), and
// the helpers to load them into TensorFlow.js itself and to make inputs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../web/random.js';

export const HUMAN_MODELS = join(dirname(fileURLToPath(import.meta.url)), '../../node_modules/@vladmandic/human/models');
// Every model of the package that has no control flow (handtrack's While loop is refused, tested apart).
export const GRAPH_MODELS = ['antispoof', 'blazeface', 'centernet', 'emotion', 'facemesh', 'faceres',
  'handlandmark-lite', 'iris', 'liveness', 'movenet-lightning'];

export const modelPath = (name) => join(HUMAN_MODELS, `${name}.json`);

/** An IO handler that gives TF.js the model's artifacts from disk (tfjs without tfjs-node has no file://). */
export function tfjsFileHandler(path) {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(path, 'utf8'));
      const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(path), p))));
      const data = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
        signature: json.signature, userDefinedMetadata: json.userDefinedMetadata, modelInitializer: json.modelInitializer,
      };
    },
  };
}

/**
 * A deterministic image-like input for a [batch, h, w, c] placeholder: smooth
 * gradients and stripes plus a little noise, scaled to 0..255 for integer
 * inputs and 0..1 for float ones (free dims become `free`).
 */
export function imageInput(info, seed = 7, free = 1) {
  const shape = info.shape.map((d) => (d < 0 ? free : d));
  const [n, h, w, c] = shape.length === 4 ? shape : [1, 1, shape.reduce((a, b) => a * b, 1), 1];
  const next = mulberry32(seed);
  const values = new Float32Array(n * h * w * c);
  let i = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const v = 0.5 + 0.3 * Math.sin((x + 2 * k + b) / 9) * Math.cos(y / 13) + 0.15 * Math.sign(Math.sin((x + y) / 5)) + 0.05 * (next() - 0.5);
          values[i++] = Math.min(1, Math.max(0, v));
        }
  if (info.dtype === 'int32') return { shape, dtype: 'int32', values: Int32Array.from(values, (v) => Math.round(255 * v)) };
  return { shape, dtype: 'float32', values };
}
