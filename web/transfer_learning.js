// Transfer learning on an imported network: a torchvision MobileNetV2 (ONNX)
// loads as a trainable Kiln model (kiln.onnx.loadModel), its layers are frozen,
// and a new softmax head on its pooled features learns the user's classes.
// Shared by the demo page (web/transfer.html) and the tests, in Node and pages.

// torchvision's input normalization (ImageNet statistics), per RGB channel.
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * A grayscale image (values in [0, 1], `w` x `h`, row-major) as the network's
 * NCHW input: bilinearly resized to `size` x `size`, the gray copied to the
 * three channels, normalized as torchvision's models expect.
 */
export function grayToNetworkInput(gray, w, h, size, out = new Float32Array(3 * size * size), offset = 0) {
  for (let y = 0; y < size; y++) {
    const fy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / size - 0.5));
    const y0 = Math.floor(fy), y1 = Math.min(h - 1, y0 + 1), ty = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / size - 0.5));
      const x0 = Math.floor(fx), x1 = Math.min(w - 1, x0 + 1), tx = fx - x0;
      const top = gray[y0 * w + x0] * (1 - tx) + gray[y0 * w + x1] * tx;
      const bottom = gray[y1 * w + x0] * (1 - tx) + gray[y1 * w + x1] * tx;
      const v = top * (1 - ty) + bottom * ty;
      for (let c = 0; c < 3; c++) out[offset + (c * size + y) * size + x] = (v - MEAN[c]) / STD[c];
    }
  }
  return out;
}

/** RGBA pixels (`size` x `size`, as canvas getImageData gives) as the network's normalized NCHW input. */
export function rgbaToNetworkInput(rgba, size, out = new Float32Array(3 * size * size), offset = 0) {
  for (let i = 0; i < size * size; i++)
    for (let c = 0; c < 3; c++) out[offset + c * size * size + i] = (rgba[4 * i + c] / 255 - MEAN[c]) / STD[c];
  return out;
}

/**
 * The base network with its layers frozen and a new head: a softmax over
 * `classes` on the global-average-pooled features. Compiled with Adam.
 */
export async function transferModel(kiln, onnxBytes, { size = 64, classes, learningRate = 0.005, seed = 1 }) {
  // Every engine call is awaited: `kiln` may be the module or kiln/worker's engine.
  const base = await kiln.onnx.loadModel(onnxBytes, { inputShapes: [[3, size, size]], seed });
  base.trainable = false;
  let pooled = null;
  for (const layer of await base.layers) if ((await layer.className) === 'GlobalAveragePooling2D') pooled = layer;
  if (!pooled) throw new Error('transferModel: the network has no global average pool to put a head on');
  const dense = await kiln.layers.dense({ units: classes, activation: 'softmax', name: 'new_head' });
  const head = await dense.apply(await pooled.output);
  const model = await kiln.model({ inputs: await base.input, outputs: head, seed });
  await model.compile({ optimizer: await kiln.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  await base.dispose();  // the new model holds the weights now
  return model;
}
