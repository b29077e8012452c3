// Loads the wasm module once and picks its variant: the SIMD128 + pthreads
// build when threads are possible (Node, or a cross-origin-isolated page),
// otherwise the single-threaded SIMD128 build. Each comes in a relaxed-SIMD
// build too (fused multiply-add GEMM), used where the engine validates relaxed
// SIMD (Chromium; Node 20 only with --experimental-wasm-relaxed-simd). The
// choice and its reason are printed once, so a page is never silently slower.
import { tensorCounts, TensorCounts } from './engine.js';

export interface ReadyOptions {
  /** Threads for the kernels, the calling thread included (default: all cores, at most 8). */
  threads?: number;
  /** Force a variant instead of choosing from the environment. */
  variant?: 'auto' | 'threaded' | 'single';
  /** Use the relaxed-SIMD build (default: when the engine supports it); `true` fails where it does not. */
  relaxedSimd?: boolean;
  /** Suppress the one-line console notice. */
  quiet?: boolean;
}

export interface BackendInfo {
  backend: 'wasm';
  variant: 'wasm-simd128-threads' | 'wasm-simd128';
  threads: number;
  simd: boolean;
  /** The relaxed-SIMD build (fused multiply-add) is loaded. */
  relaxedSimd: boolean;
  gemmKernel: string;
  environment: 'node' | 'browser' | 'worker';
  reason: string;
}

/**
 * @internal What the core calls for custom layers (src/wasm/c_api_custom_layers.cc
 * reads Module.kilnHostLayers): filled in by custom_layers.ts.
 */
export const hostLayerHooks: Record<string, (...args: number[]) => number | void> = {};

// The emscripten module: exported C functions plus a few runtime helpers.
export type WasmModule = Record<string, any>;

let modulePromise: Promise<WasmModule> | null = null;
let wasm: WasmModule | null = null;
let info: BackendInfo | null = null;

export const isNode = typeof process !== 'undefined' && !!(process as any).versions?.node;
// A variable specifier keeps bundlers and tsc from resolving Node built-ins in
// browser builds; the comments tell webpack and Vite to leave the call alone.
export const nodeImport = (name: string): Promise<any> => import(/* webpackIgnore: true */ /* @vite-ignore */ name);

function environment(): BackendInfo['environment'] {
  if (isNode) return 'node';
  return typeof (globalThis as any).document !== 'undefined' ? 'browser' : 'worker';
}

async function defaultThreads(): Promise<number> {
  let cores = 4;
  if (isNode) cores = (await nodeImport('node:os')).cpus().length;
  else if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) cores = navigator.hardwareConcurrency;
  return Math.max(1, Math.min(8, cores));
}

// The smallest module using f32x4.relaxed_madd: (v128, v128, v128) -> v128.
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

export function relaxedSimdSupported(): boolean {
  try {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

// Browser: run the classic emscripten script so its pthread workers can
// re-load it by URL, then take the factory it defines.
function loadClassicScript(url: string): Promise<any> {
  const g = globalThis as any;
  if (g.createKilnModule && g.__kilnScriptUrl === url) return Promise.resolve(g.createKilnModule);
  if (typeof g.document === 'undefined') return loadScriptInWorker(url);
  return new Promise((resolve, reject) => {
    const script = g.document.createElement('script');
    script.src = url;
    script.onload = () => {
      g.__kilnScriptUrl = url;
      resolve(g.createKilnModule);
    };
    script.onerror = () => reject(new Error(`kiln: could not load ${url}`));
    g.document.head.appendChild(script);
  });
}

// Each build's files as literal `new URL('./wasm/...', import.meta.url)`
// expressions: bundlers (Vite, webpack) find exactly this form, emit the files
// with the bundle and rewrite the URLs; a computed file name would be invisible
// to them. Wrapped in functions so only the chosen build's URLs are made.
const BUILDS = {
  'kiln-st': () => ({
    js: new URL('./wasm/kiln-st.js', import.meta.url),
    wasm: new URL('./wasm/kiln-st.wasm', import.meta.url),
    worker: null,
  }),
  'kiln-st-relaxed': () => ({
    js: new URL('./wasm/kiln-st-relaxed.js', import.meta.url),
    wasm: new URL('./wasm/kiln-st-relaxed.wasm', import.meta.url),
    worker: null,
  }),
  'kiln-mt': () => ({
    js: new URL('./wasm/kiln-mt.js', import.meta.url),
    wasm: new URL('./wasm/kiln-mt.wasm', import.meta.url),
    worker: new URL('./wasm/kiln-mt.worker.js', import.meta.url),
  }),
  'kiln-mt-relaxed': () => ({
    js: new URL('./wasm/kiln-mt-relaxed.js', import.meta.url),
    wasm: new URL('./wasm/kiln-mt-relaxed.wasm', import.meta.url),
    worker: new URL('./wasm/kiln-mt-relaxed.worker.js', import.meta.url),
  }),
};

// The pthread worker's script URL. Vite inlines small assets as data: URLs,
// and a worker started from one has an opaque origin: it may not load the
// main script, nor share the threaded build's memory. A blob: URL made from
// the same text keeps the page's origin.
function workerScriptUrl(url: URL): string {
  if (url.protocol !== 'data:') return url.href;
  const comma = url.href.indexOf(',');
  const meta = url.href.slice(5, comma), body = url.href.slice(comma + 1);
  const text = meta.endsWith(';base64') ? atob(body) : decodeURIComponent(body);
  return URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
}

// A classic worker has importScripts; a module worker (kiln/worker's) does
// not, so there the script's text runs through an indirect eval, which like
// importScripts defines its top-level `var createKilnModule` globally.
async function loadScriptInWorker(url: string): Promise<any> {
  const g = globalThis as any;
  if (typeof g.importScripts === 'function') {
    try {
      g.importScripts(url);
      g.__kilnScriptUrl = url;
      return g.createKilnModule;
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;  // a module worker refuses importScripts with a TypeError
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`kiln: could not load ${url} (HTTP ${response.status})`);
  (0, eval)(`${await response.text()}\n//# sourceURL=${url}`);
  g.__kilnScriptUrl = url;
  return g.createKilnModule;
}

async function instantiate(options: ReadyOptions): Promise<WasmModule> {
  const env = environment();
  const isolated = isNode || (globalThis as any).crossOriginIsolated === true;
  let threaded: boolean;
  let reason: string;
  if (options.variant === 'threaded' || options.variant === 'single') {
    threaded = options.variant === 'threaded';
    reason = `variant '${options.variant}' requested`;
    if (threaded && !isolated) throw new Error('kiln.ready: the threaded variant needs a cross-origin-isolated page (COOP/COEP headers)');
  } else if (isNode) {
    threaded = true;
    reason = 'Node.js supports wasm threads';
  } else if (isolated) {
    threaded = true;
    reason = 'the page is cross-origin isolated';
  } else {
    threaded = false;
    reason = 'the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp for threads)';
  }
  const threads = threaded ? Math.max(1, Math.floor(options.threads ?? (await defaultThreads()))) : 1;
  const relaxedSupported = relaxedSimdSupported();
  if (options.relaxedSimd === true && !relaxedSupported)
    throw new Error('kiln.ready: relaxedSimd was requested but this engine does not support relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)');
  const relaxed = options.relaxedSimd ?? relaxedSupported;
  const files = BUILDS[((threaded ? 'kiln-mt' : 'kiln-st') + (relaxed ? '-relaxed' : '')) as keyof typeof BUILDS]();
  const config: Record<string, any> = { kilnPoolSize: Math.max(1, threads - 1), kilnHostLayers: hostLayerHooks };
  let factory: any;
  if (isNode) {
    const { createRequire } = await nodeImport('node:module');
    const { readFileSync } = await nodeImport('node:fs');
    const { fileURLToPath } = await nodeImport('node:url');
    factory = createRequire(import.meta.url)(fileURLToPath(files.js));
    // Emscripten 3.1.6 would fetch() a file path in Node: hand it the bytes.
    config.wasmBinary = readFileSync(fileURLToPath(files.wasm));
  } else {
    const jsUrl = files.js.href;
    factory = await loadClassicScript(jsUrl);
    // Emscripten asks for the .wasm and the pthread worker script by their
    // build names; a bundler may have renamed and moved both.
    config.locateFile = (path: string) =>
      path.endsWith('.worker.js') && files.worker
        ? workerScriptUrl(files.worker)
        : (path.endsWith('.wasm') ? files.wasm : new URL(path, files.js)).href;
    config.mainScriptUrlOrBlob = jsUrl;
  }
  const m: WasmModule = await factory(config);
  m._kiln_set_threads(threads);
  if (isNode && m.kilnUnrefWorkers) m.kilnUnrefWorkers();
  info = {
    backend: 'wasm',
    variant: threaded ? 'wasm-simd128-threads' : 'wasm-simd128',
    threads: m._kiln_num_threads(),
    simd: true,
    relaxedSimd: relaxed,
    gemmKernel: m.UTF8ToString(m._kiln_gemm_kernel()),
    environment: env,
    reason,
  };
  if (!options.quiet)
    console.info(`kiln: using ${info.variant}${relaxed ? ' (relaxed SIMD)' : ''} with ${info.threads} thread(s): ${reason}`);
  return m;
}

/** Loads and starts the backend; later calls return the same instance. */
export async function ready(options: ReadyOptions = {}): Promise<BackendInfo> {
  if (!modulePromise) {
    modulePromise = instantiate(options).catch((e) => {
      modulePromise = null;
      throw e;
    });
  }
  wasm = await modulePromise;
  const wanted = options.variant === 'threaded' ? 'wasm-simd128-threads' : options.variant === 'single' ? 'wasm-simd128' : null;
  if (wanted && info && info.variant !== wanted)
    throw new Error(`kiln.ready: ${info.variant} is already loaded in this context; one variant per page or process`);
  if (options.relaxedSimd !== undefined && info && info.relaxedSimd !== options.relaxedSimd)
    throw new Error(`kiln.ready: the ${info.relaxedSimd ? 'relaxed-SIMD' : 'SIMD128'} build is already loaded in this context; one build per page or process`);
  if (options.threads !== undefined && info && info.variant === 'wasm-simd128-threads') {
    // Within the pre-started pool, the thread count can change at any time.
    if (!wasm._kiln_set_threads(Math.max(1, Math.floor(options.threads)))) throw coreError('kiln.ready');
    info.threads = wasm._kiln_num_threads();
  }
  return backendInfo();
}

export function backendInfo(): BackendInfo {
  if (!info) throw new Error('kiln: call `await kiln.ready()` first');
  return { ...info };
}

export interface MemoryInfo extends TensorCounts {
  /** Bytes the core holds on the wasm heap now (models, sessions, plans, tensors during calls). */
  heapBytes: number;
  /** The wasm memory's size: it only grows (WebAssembly memory cannot shrink). */
  memoryBytes: number;
}

/**
 * Memory in use, as TF.js's tf.memory(): the tensors made and not disposed
 * (numTensors, numDataBuffers, numBytes), and what the core's heap holds
 * (returns to its level once models are disposed).
 */
export function memory(): MemoryInfo {
  const m = mod();
  return { ...tensorCounts(), heapBytes: m._kiln_heap_bytes(), memoryBytes: heapU8().buffer.byteLength };
}

/** The loaded module (throws a clear error before ready()). */
export function mod(): WasmModule {
  if (!wasm) throw new Error('kiln: the backend is not loaded; call `await kiln.ready()` first');
  return wasm;
}

/** The last error the C++ core reported, as an Error naming the operation. */
export function coreError(what: string): Error {
  return new Error(`${what}: ${mod().UTF8ToString(mod()._kiln_last_error())}`);
}

// Views over wasm memory, rebuilt whenever the memory has grown.
let viewBuffer: ArrayBufferLike | null = null;
let f32: Float32Array = new Float32Array(0);
let u8: Uint8Array = new Uint8Array(0);
let u32: Uint32Array = new Uint32Array(0);
let i32: Int32Array = new Int32Array(0);

function refreshViews(): void {
  const m = mod();
  const memory = m.kilnMemory ? m.kilnMemory() : null;
  const buffer: ArrayBufferLike = memory ? memory.buffer : m.HEAPU8.buffer;
  if (buffer !== viewBuffer) {
    viewBuffer = buffer;
    f32 = new Float32Array(buffer);
    u8 = new Uint8Array(buffer);
    u32 = new Uint32Array(buffer);
    i32 = new Int32Array(buffer);
  }
}
export function heapF32(): Float32Array { refreshViews(); return f32; }
export function heapU8(): Uint8Array { refreshViews(); return u8; }
export function heapU32(): Uint32Array { refreshViews(); return u32; }
export function heapI32(): Int32Array { refreshViews(); return i32; }

/** malloc in the wasm heap, with a clear error instead of a null pointer. */
export function alloc(bytes: number, what: string): number {
  // malloc takes a 32-bit size: larger requests would wrap around.
  if (!(bytes < 2 ** 32)) throw new Error(`out of memory: ${what} needs ${bytes} bytes, more than the 4 GiB wasm heap`);
  const ptr = mod()._malloc(Math.max(bytes, 4));
  if (!ptr) throw new Error(`out of memory: could not allocate ${bytes} bytes in the wasm heap for ${what}`);
  return ptr;
}
export function free(ptr: number): void {
  if (ptr) mod()._free(ptr);
}

/** Runs fn with `s` as a NUL-terminated UTF-8 string in the wasm heap, freed after. */
export function withCString<T>(s: string, what: string, fn: (ptr: number) => T): T {
  const m = mod();
  const bytes = m.lengthBytesUTF8(s) + 1;
  const ptr = alloc(bytes, what);
  try {
    m.stringToUTF8(s, ptr, bytes);
    return fn(ptr);
  } finally {
    free(ptr);
  }
}

/** Copies a Float32Array into a fresh heap block. */
export function copyIn(values: Float32Array, what: string): number {
  const ptr = alloc(values.length * 4, what);
  heapF32().set(values, ptr >> 2);
  return ptr;
}
