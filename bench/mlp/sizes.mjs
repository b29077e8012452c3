// Download sizes for the benchmark report: each file gzipped at level 9 with
// node:zlib, for Kiln's browser files and TF.js's (core + wasm backend).
import { fileSize } from '../common/page_download.mjs';

const sum = (files, key) => files.reduce((a, f) => a + (f[key] ?? 0), 0);
function bundle(name, files, note) {
  return { name, note, files: files.map((f) => f.path), bytes: sum(files, 'bytes'), gzip: sum(files, 'gzip'),
    missing: files.filter((f) => f.missing).map((f) => f.path) };
}

/** Per-file sizes and the totals a page downloads for each Kiln variant / TF.js wasm flavour. */
export function downloadSizes(root) {
  // The API is one bundle (scripts/bundle_js.mjs); lib/worker*.js load only in worker mode.
  const libJs = ['lib/index.js'];
  const kilnFiles = [...libJs, 'lib/wasm/kiln-st.js', 'lib/wasm/kiln-st.wasm', 'lib/wasm/kiln-mt.js', 'lib/wasm/kiln-mt.wasm',
    'lib/wasm/kiln-mt.worker.js'].map((p) => fileSize(root, p));
  const k = (p) => kilnFiles.find((f) => f.path === p);
  const api = kilnFiles.filter((f) => libJs.includes(f.path));
  const tfDir = 'node_modules/@tensorflow/tfjs/dist';
  const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
  const tfFiles = [`${tfDir}/tf.min.js`, `${wasmDir}/tf-backend-wasm.min.js`, `${wasmDir}/tfjs-backend-wasm.wasm`,
    `${wasmDir}/tfjs-backend-wasm-simd.wasm`, `${wasmDir}/tfjs-backend-wasm-threaded-simd.wasm`].map((p) => fileSize(root, p));
  const t = (p) => tfFiles.find((f) => f.path === p);
  const tfBase = [t(`${tfDir}/tf.min.js`), t(`${wasmDir}/tf-backend-wasm.min.js`)];
  return {
    method: 'each file gzipped separately with node:zlib gzipSync level 9 (gzip -9); totals are sums of the per-file sizes',
    kiln: {
      files: kilnFiles,
      bundles: [
        bundle('kiln, single-threaded page', [...api, k('lib/wasm/kiln-st.js'), k('lib/wasm/kiln-st.wasm')],
          'lib/index.js + kiln-st.js + kiln-st.wasm (what a page that is not cross-origin isolated loads)'),
        bundle('kiln, threaded page', [...api, k('lib/wasm/kiln-mt.js'), k('lib/wasm/kiln-mt.wasm'), k('lib/wasm/kiln-mt.worker.js')],
          'lib/index.js + kiln-mt.js + kiln-mt.wasm + kiln-mt.worker.js (cross-origin-isolated page)'),
        bundle('kiln, every file', kilnFiles, 'lib/index.js + lib/wasm/* (both variants; the npm package)'),
      ],
    },
    tfjs: {
      files: tfFiles,
      bundles: [
        bundle('tfjs + wasm backend, SIMD page', [...tfBase, t(`${wasmDir}/tfjs-backend-wasm-simd.wasm`)],
          'tf.min.js + tf-backend-wasm.min.js + tfjs-backend-wasm-simd.wasm'),
        bundle('tfjs + wasm backend, threaded-SIMD page', [...tfBase, t(`${wasmDir}/tfjs-backend-wasm-threaded-simd.wasm`)],
          'tf.min.js + tf-backend-wasm.min.js + tfjs-backend-wasm-threaded-simd.wasm (its worker is inlined in the .js)'),
        bundle('tfjs + wasm backend, every file', tfFiles, 'tf.min.js + tf-backend-wasm.min.js + the three .wasm files'),
      ],
    },
  };
}

