// Where models are loaded from and saved to, with TF.js's IO handler
// interface (an object with load() and/or save()) and its URL schemes:
// file:// (Node), http(s):// and relative URLs (fetch; save POSTs),
// downloads://, localstorage:// and indexeddb:// (browsers, in TF.js's own
// storage layout, so models move between Kiln and TF.js either way).
// TF.js's own handlers (tf.io.browserFiles, tf.io.fromMemory, ...) work too.
import { isNode, nodeImport } from './backend.js';
import { concatBuffers, WeightsManifestEntry, WeightsManifestGroup } from './weights_codec.js';

export interface ModelArtifacts {
  modelTopology?: Record<string, any> | ArrayBuffer;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightSpecs?: WeightsManifestEntry[];
  weightData?: ArrayBuffer | ArrayBuffer[];
  trainingConfig?: Record<string, any>;
  userDefinedMetadata?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ModelArtifactsInfo {
  dateSaved: Date;
  modelTopologyType: 'JSON' | 'GraphDef';
  modelTopologyBytes?: number;
  weightSpecsBytes?: number;
  weightDataBytes?: number;
}

export interface SaveResult {
  modelArtifactsInfo: ModelArtifactsInfo;
  responses?: Response[];
}

export interface IOHandler {
  load?: () => Promise<ModelArtifacts>;
  save?: (artifacts: ModelArtifacts) => Promise<SaveResult>;
}

export interface LoadOptions {
  /** Verify every weight in the file has a place in the model and the reverse (default true). */
  strict?: boolean;
  /** Where the weight files are, instead of beside model.json. */
  weightPathPrefix?: string;
  /** fetch() to use for http(s) URLs. */
  fetchFunc?: typeof fetch;
  /** Passed to every fetch. */
  requestInit?: RequestInit;
  /** Called with the fraction loaded, 0 to 1. */
  onProgress?: (fraction: number) => void;
  /** Maps a weight file name to the URL to fetch it from. */
  weightUrlConverter?: (weightFileName: string) => Promise<string>;
}

const LOAD_OPTIONS = ['strict', 'weightPathPrefix', 'fetchFunc', 'requestInit', 'onProgress', 'weightUrlConverter'];

export function checkLoadOptions(what: string, options: object, allowed: string[] = LOAD_OPTIONS): void {
  if (options === null || typeof options !== 'object') throw new Error(`${what}: options must be an object`);
  for (const key of Object.keys(options))
    if (!allowed.includes(key))
      throw new Error(`${what}: option '${key}' is not supported (options: ${allowed.join(', ')})`);
}

export function artifactsInfo(a: ModelArtifacts): ModelArtifactsInfo {
  const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;
  const data = a.weightData;
  return {
    dateSaved: new Date(),
    modelTopologyType: 'JSON',
    modelTopologyBytes: a.modelTopology ? bytes(a.modelTopology) : 0,
    weightSpecsBytes: a.weightSpecs ? bytes(a.weightSpecs) : 0,
    weightDataBytes: data === undefined ? 0 : Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength,
  };
}

/** The weight data as one buffer (TF.js 4.x may give a list of shards). */
export function weightBuffer(a: ModelArtifacts): ArrayBuffer {
  const d = a.weightData;
  if (d === undefined) return new ArrayBuffer(0);
  return Array.isArray(d) ? concatBuffers(d) : d;
}

// model.json's fields besides the topology and the manifest, carried as they are.
const CARRIED = ['format', 'generatedBy', 'convertedBy', 'trainingConfig', 'userDefinedMetadata', 'signature', 'modelInitializer'];

/** model.json's content for artifacts whose weights are in `paths`. */
export function modelJSON(a: ModelArtifacts, paths: string[]): Record<string, unknown> {
  const json: Record<string, unknown> = { modelTopology: a.modelTopology };
  for (const k of CARRIED) if (a[k] !== undefined) json[k] = a[k];
  json.weightsManifest = [{ paths, weights: a.weightSpecs ?? [] }];
  return json;
}

function parseModelJSON(text: string, where: string): Record<string, any> {
  let json: any;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where} is not JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${where} is not a model.json object`);
  if (json.modelTopology == null) throw new Error(`${where} has no modelTopology`);
  if (json.weightsManifest !== undefined && !Array.isArray(json.weightsManifest))
    throw new Error(`${where}: weightsManifest must be a list of {paths, weights}`);
  return json;
}

/** Artifacts from a parsed model.json, fetching each manifest group's shards with `read`. */
async function artifactsFromJSON(json: Record<string, any>, read: (path: string) => Promise<ArrayBuffer>,
                                 onProgress?: (f: number) => void): Promise<ModelArtifacts> {
  const a: ModelArtifacts = { modelTopology: json.modelTopology };
  for (const k of CARRIED) if (json[k] !== undefined) a[k] = json[k];
  const groups: WeightsManifestGroup[] = json.weightsManifest ?? [];
  const specs: WeightsManifestEntry[] = [];
  const paths: string[] = [];
  for (const g of groups) {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights)) throw new Error('model.json: each weightsManifest group needs paths and weights');
    specs.push(...g.weights);
    paths.push(...g.paths);
  }
  const parts: ArrayBuffer[] = [];
  onProgress?.(0);
  for (let i = 0; i < paths.length; i++) {
    parts.push(await read(paths[i]));
    onProgress?.((i + 1) / paths.length);
  }
  a.weightSpecs = specs;
  a.weightData = concatBuffers(parts);
  return a;
}

function basename(p: string): string {
  const parts = p.split('/');
  return parts[parts.length - 1];
}

function fileHandler(path: string, options: LoadOptions): IOHandler {
  const dirOf = (p: string) => (p.endsWith('.json') ? p.slice(0, p.lastIndexOf('/') + 1) || './' : p);
  return {
    async load() {
      const fs = await nodeImport('node:fs/promises');
      const pathMod = await nodeImport('node:path');
      const file = path.endsWith('.json') ? path : pathMod.join(path, 'model.json');
      const json = parseModelJSON(await fs.readFile(file, 'utf8').catch((e: Error) => {
        throw new Error(`loadLayersModel: cannot read ${file}: ${e.message}`);
      }), file);
      const dir = options.weightPathPrefix ?? pathMod.dirname(file);
      return artifactsFromJSON(json, async (p) => {
        const b: Uint8Array = await fs.readFile(pathMod.join(dir, p)).catch((e: Error) => {
          throw new Error(`loadLayersModel: cannot read the weight file ${p}: ${e.message}`);
        });
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      }, options.onProgress);
    },
    // As tfjs-node: file://dir writes dir/model.json and dir/weights.bin.
    async save(a: ModelArtifacts) {
      const fs = await nodeImport('node:fs/promises');
      const pathMod = await nodeImport('node:path');
      const dir = path.endsWith('.json') ? dirOf(path) : path;
      await fs.mkdir(dir, { recursive: true });
      const json = path.endsWith('.json') ? path : pathMod.join(dir, 'model.json');
      await fs.writeFile(pathMod.join(dir, 'weights.bin'), new Uint8Array(weightBuffer(a)));
      await fs.writeFile(json, JSON.stringify(modelJSON(a, ['./weights.bin'])));
      return { modelArtifactsInfo: artifactsInfo(a) };
    },
  };
}

function httpHandler(url: string, options: LoadOptions): IOHandler {
  const f = options.fetchFunc ?? (typeof fetch === 'function' ? fetch.bind(globalThis) : undefined);
  if (!f) throw new Error('loadLayersModel: no fetch() here; pass options.fetchFunc');
  const get = async (u: string): Promise<Response> => {
    const r = await f(u, options.requestInit);
    if (!r.ok) throw new Error(`loadLayersModel: fetching ${u} failed with HTTP ${r.status}`);
    return r;
  };
  return {
    async load() {
      const json = parseModelJSON(await (await get(url)).text(), url);
      const base = typeof location !== 'undefined' ? new URL(url, location.href) : new URL(url);
      return artifactsFromJSON(json, async (p) => {
        const u = options.weightUrlConverter ? await options.weightUrlConverter(p)
          : options.weightPathPrefix ? options.weightPathPrefix.replace(/\/?$/, '/') + p : new URL(p, base).href;
        return (await get(u)).arrayBuffer();
      }, options.onProgress);
    },
    // As TF.js's http handler: a multipart POST of model.json and model.weights.bin.
    async save(a: ModelArtifacts) {
      const form = new FormData();
      form.append('model.json', new Blob([JSON.stringify(modelJSON(a, ['./model.weights.bin']))], { type: 'application/json' }), 'model.json');
      form.append('model.weights.bin', new Blob([weightBuffer(a)], { type: 'application/octet-stream' }), 'model.weights.bin');
      const r = await f(url, { method: 'POST', ...options.requestInit, body: form });
      if (!r.ok) throw new Error(`model.save: POST to ${url} failed with HTTP ${r.status}`);
      return { modelArtifactsInfo: artifactsInfo(a), responses: [r] };
    },
  };
}

// TF.js's browser storage layout (tfjs-core src/io/local_storage.ts and indexed_db.ts).
const LS_PREFIX = 'tensorflowjs_models';
const lsKeys = (name: string) => ({
  info: `${LS_PREFIX}/${name}/info`, topology: `${LS_PREFIX}/${name}/model_topology`,
  weightSpecs: `${LS_PREFIX}/${name}/weight_specs`, weightData: `${LS_PREFIX}/${name}/weight_data`,
  metadata: `${LS_PREFIX}/${name}/model_metadata`,
});

function toBase64(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
function fromBase64(text: string): ArrayBuffer {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out.buffer;
}

function localStorageHandler(name: string): IOHandler {
  const storage = (globalThis as any).localStorage as Storage | undefined;
  if (!storage) throw new Error('localstorage:// needs a browser with window.localStorage');
  const keys = lsKeys(name);
  return {
    async load() {
      const info = storage.getItem(keys.info);
      if (info === null) throw new Error(`loadLayersModel: no model named '${name}' in localStorage`);
      const a: ModelArtifacts = { modelTopology: JSON.parse(storage.getItem(keys.topology) ?? 'null') };
      const specs = storage.getItem(keys.weightSpecs), data = storage.getItem(keys.weightData);
      if (specs !== null && data !== null) {
        a.weightSpecs = JSON.parse(specs);
        a.weightData = fromBase64(data);
      }
      const meta = storage.getItem(keys.metadata);
      if (meta !== null) for (const k of CARRIED) if (JSON.parse(meta)[k] !== undefined) a[k] = JSON.parse(meta)[k];
      return a;
    },
    async save(a: ModelArtifacts) {
      const meta: Record<string, unknown> = {};
      for (const k of CARRIED) if (a[k] !== undefined) meta[k] = a[k];
      const info = artifactsInfo(a);
      const writes: [string, string][] = [
        [keys.info, JSON.stringify(info)], [keys.topology, JSON.stringify(a.modelTopology)],
        [keys.weightSpecs, JSON.stringify(a.weightSpecs ?? [])], [keys.weightData, toBase64(weightBuffer(a))],
        [keys.metadata, JSON.stringify(meta)],
      ];
      try {
        for (const [k, v] of writes) storage.setItem(k, v);
      } catch (e) {
        for (const [k] of writes) storage.removeItem(k);  // no half-saved model
        throw new Error(`model.save: localStorage refused the model (${info.weightDataBytes} bytes of weights): ${(e as Error).message}`);
      }
      return { modelArtifactsInfo: info };
    },
  };
}

const IDB_NAME = 'tensorflowjs', MODEL_STORE = 'models_store', INFO_STORE = 'model_info_store';

function openDatabase(): Promise<IDBDatabase> {
  const idb = (globalThis as any).indexedDB as IDBFactory | undefined;
  if (!idb) throw new Error('indexeddb:// needs a browser with indexedDB');
  return new Promise((resolve, reject) => {
    const r = idb.open(IDB_NAME, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore(MODEL_STORE, { keyPath: 'modelPath' });
      r.result.createObjectStore(INFO_STORE, { keyPath: 'modelPath' });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function indexedDBHandler(name: string): IOHandler {
  const run = async <T>(stores: string[], mode: IDBTransactionMode, fn: (t: IDBTransaction) => IDBRequest<T> | void): Promise<T | undefined> => {
    const db = await openDatabase();
    try {
      return await new Promise<T | undefined>((resolve, reject) => {
        const t = db.transaction(stores, mode);
        const req = fn(t);
        t.oncomplete = () => resolve(req ? req.result : undefined);
        t.onerror = () => reject(t.error);
        t.onabort = () => reject(t.error ?? new Error('the IndexedDB transaction was aborted'));
      });
    } finally {
      db.close();
    }
  };
  return {
    async load() {
      const record = await run<any>([MODEL_STORE], 'readonly', (t) => t.objectStore(MODEL_STORE).get(name));
      if (!record) throw new Error(`loadLayersModel: no model named '${name}' in IndexedDB`);
      return record.modelArtifacts as ModelArtifacts;
    },
    async save(a: ModelArtifacts) {
      const info = artifactsInfo(a);
      const artifacts = { ...a, weightData: weightBuffer(a) };
      await run([MODEL_STORE, INFO_STORE], 'readwrite', (t) => {
        t.objectStore(INFO_STORE).put({ modelPath: name, modelArtifactsInfo: info });
        t.objectStore(MODEL_STORE).put({ modelPath: name, modelArtifacts: artifacts });
      });
      return { modelArtifactsInfo: info };
    },
  };
}

function downloadsHandler(name: string): IOHandler {
  const doc = (globalThis as any).document as Document | undefined;
  if (!doc) throw new Error('downloads:// needs a browser page (document)');
  const prefix = name || 'model';
  return {
    async save(a: ModelArtifacts) {
      const weightsName = `${prefix}.weights.bin`;
      const click = (blob: Blob, file: string) => {
        const link = doc.createElement('a');
        link.download = file;
        link.href = URL.createObjectURL(blob);
        link.dispatchEvent(new MouseEvent('click'));
      };
      click(new Blob([JSON.stringify(modelJSON(a, [`./${weightsName}`]))], { type: 'application/json' }), `${prefix}.json`);
      click(new Blob([weightBuffer(a)], { type: 'application/octet-stream' }), weightsName);
      return { modelArtifactsInfo: artifactsInfo(a) };
    },
  };
}

/** A handler for a URL or the handler itself; `need` is the method the caller will use. */
export function resolveHandler(what: string, target: string | IOHandler, need: 'load' | 'save', options: LoadOptions = {}): IOHandler {
  if (typeof target !== 'string') {
    if (target === null || typeof target !== 'object' || typeof (target as any)[need] !== 'function')
      throw new Error(`${what}: expected a URL or an IO handler with ${need}()`);
    return target;
  }
  const scheme = /^([a-z]+):\/\//i.exec(target)?.[1]?.toLowerCase();
  const rest = scheme ? target.slice(scheme.length + 3) : target;
  let h: IOHandler;
  if (scheme === 'file') {
    if (!isNode) throw new Error(`${what}: file:// URLs work in Node only; in a browser use a URL or kiln.io.browserFiles`);
    h = fileHandler(rest, options);
  } else if (scheme === 'localstorage') h = localStorageHandler(rest);
  else if (scheme === 'indexeddb') h = indexedDBHandler(rest);
  else if (scheme === 'downloads') h = downloadsHandler(rest);
  else if (scheme === undefined || scheme === 'http' || scheme === 'https') {
    if (scheme === undefined && isNode) throw new Error(`${what}: '${target}' has no scheme; in Node use file://${target} or an http(s) URL`);
    h = httpHandler(target, options);
  } else throw new Error(`${what}: unknown URL scheme '${scheme}://' (file, http, https, localstorage, indexeddb, downloads)`);
  if (typeof h[need] !== 'function') throw new Error(`${what}: ${scheme}:// cannot ${need} models`);
  return h;
}

/** Artifacts already in memory (TF.js's tf.io.fromMemory). */
export function fromMemory(modelArtifacts: ModelArtifacts | Record<string, any>, weightSpecs?: WeightsManifestEntry[],
                           weightData?: ArrayBuffer, trainingConfig?: Record<string, any>): IOHandler {
  const a: ModelArtifacts = weightSpecs === undefined && (modelArtifacts as ModelArtifacts).modelTopology !== undefined
    ? { ...(modelArtifacts as ModelArtifacts) }
    : { modelTopology: modelArtifacts as Record<string, any>, weightSpecs, weightData, trainingConfig };
  return { load: async () => a };
}

/** A handler whose save() hands the artifacts to `fn` (TF.js's tf.io.withSaveHandler). */
export function withSaveHandler(fn: (artifacts: ModelArtifacts) => Promise<SaveResult>): IOHandler {
  if (typeof fn !== 'function') throw new Error('io.withSaveHandler: expected a function');
  return { save: fn };
}

/** model.json and its weight files from <input type=file> (TF.js's tf.io.browserFiles). */
export function browserFiles(files: Blob[] & { name?: string }[]): IOHandler {
  if (!Array.isArray(files) || files.length === 0) throw new Error('io.browserFiles: expected [model.json, ...weight files]');
  const [json, ...weights] = files as (Blob & { name: string })[];
  return {
    async load() {
      const parsed = parseModelJSON(await json.text(), json.name ?? 'model.json');
      const byName = new Map(weights.map((f) => [f.name, f]));
      return artifactsFromJSON(parsed, async (p) => {
        const f = byName.get(basename(p));
        if (!f) throw new Error(`io.browserFiles: the weight file '${basename(p)}' named in model.json was not among the files given`);
        return f.arrayBuffer();
      });
    },
  };
}
