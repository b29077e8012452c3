// Fashion-MNIST (Zalando; 60k train / 10k test, 28x28 grayscale, 10 classes)
// from the Debian package dataset-fashion-mnist: the same IDX layout as MNIST,
// gzipped. Node reads /usr/share/datasets/fashion-mnist/ and gunzips with
// zlib; a page fetches the files (scripts/serve.mjs serves that directory at
// /datasets/fashion-mnist/) and gunzips with DecompressionStream. Returns what
// loadMnist returns: float images in [0, 1] and labels.
import { loadMnist } from './mnist.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist/';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Node: reads `dir` (default: the Debian package's directory). */
export async function loadFashionMnistNode(options, dir = FASHION_MNIST_DIR) {
  const { readFile } = await import('node:fs/promises');
  const { gunzipSync } = await import('node:zlib');
  const base = dir.endsWith('/') ? dir : `${dir}/`;
  return loadMnist(async (f) => {
    const bytes = await readFile(`${base}${f}.gz`).catch((e) => {
      if (e.code !== 'ENOENT') throw e;
      throw new Error(`Fashion-MNIST: ${base}${f}.gz is missing: install the Debian package dataset-fashion-mnist (scripts/setup.sh does)`);
    });
    return new Uint8Array(gunzipSync(bytes));
  }, options);
}

/** Browser: fetches `<name>.gz` from `baseUrl` and gunzips it in the page. */
export async function loadFashionMnistFetch(baseUrl, options) {
  return loadMnist(async (f) => {
    const r = await fetch(new URL(`${f}.gz`, baseUrl));
    if (!r.ok) throw new Error(`Fashion-MNIST: ${f}.gz: HTTP ${r.status}`);
    const unzipped = r.body.pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(unzipped).arrayBuffer());
  }, options);
}
