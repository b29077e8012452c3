// Selects and describes a TF.js backend: the generalized form of the backend
// set-up inside bench/mlp/tfjs_engine.mjs, with 'webgl' and 'webgpu'. No Node or DOM
// imports (the caller passes `tf`, and for wasm the backend-wasm namespace).

/**
 * @param tf       the TF.js namespace (Node: @tensorflow/tfjs; page: the tf.min.js global)
 * @param options  { backend: 'cpu' | 'wasm' | 'webgl' | 'webgpu', wasm (backend-wasm namespace), wasmPaths, threads }
 * @returns        info: { backend, version, loadMs, threads, requestedThreads, wasm*: ..., webgl*: ..., gpu (what the GPU
 *                 backends ran on: headless Chromium without a GPU gives SwiftShader, a software renderer) }
 */
export async function initTfjsBackend(tf, { backend, wasm, wasmPaths, threads }) {
  const t0 = performance.now();
  if (backend === 'wasm') {
    if (!wasm) throw new Error('tfjs wasm: the backend-wasm namespace was not given');
    wasm.setWasmPaths(wasmPaths);
    // TF.js's default thread count comes from the wasm runtime's idea of the
    // core count; ask for `threads` explicitly, as Kiln does. It only matters
    // where the threaded-SIMD flavour loads (a cross-origin-isolated page).
    if (threads && (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))) wasm.setThreadsCount(threads);
  }
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
  } catch (e) {
    throw new Error(`tf.setBackend('${backend}') threw: ${e && e.message ? e.message : e}`);
  }
  if (!ok || tf.getBackend() !== backend) throw new Error(`tf.setBackend('${backend}') failed (got ${tf.getBackend()})`);
  await tf.ready();
  const info = {
    backend: tf.getBackend(), version: tf.version?.tfjs ?? tf.version_core ?? null, loadMs: Math.round(performance.now() - t0),
    requestedThreads: backend === 'wasm' ? threads ?? null : 1, threads: 1,
  };
  if (backend === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    info.wasmSimd = simd;
    info.wasmMultithread = mt;
    info.wasmFlavour = simd && mt ? 'tfjs-backend-wasm-threaded-simd' : simd ? 'tfjs-backend-wasm-simd' : 'tfjs-backend-wasm';
    try { info.threads = wasm.getThreadsCount(); } catch { info.threads = null; }
  } else if (backend === 'webgl') {
    info.threads = null;
    info.webglVersion = tf.env().getNumber('WEBGL_VERSION');
    info.webglFloatTextures = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
    try {
      const gl = tf.backend().gpgpu.gl;
      const dbg = gl.getExtension('WEBGL_debug_renderer_info');
      info.webglRenderer = gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
    } catch { info.webglRenderer = null; }
    info.gpu = info.webglRenderer ?? 'unknown WebGL renderer';
  } else if (backend === 'webgpu') {
    info.threads = null;
    const a = tf.backend().adapterInfo ?? {};
    info.gpu = `WebGPU adapter: ${[a.vendor, a.architecture].filter(Boolean).join(' ') || 'unnamed'}`;
  }
  return info;
}
