// kiln/worker: the whole engine in a dedicated worker (a Web Worker in pages,
// worker_threads in Node), so training and inference never block the page's
// main thread. The API is Kiln's own, reached through proxies: every call and
// every property read returns a Promise.
//
//   import { startWorker } from 'kiln/worker';
//   const kiln = await startWorker({ threads: 4 });      // kiln.ready() runs in the worker
//   const model = await kiln.sequential({ layers: [await kiln.layers.dense({ units: 10, inputShape: [784] })] });
//   await model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
//   await model.fit(x, y, { epochs: 5, callbacks: { onEpochEnd: (e, logs) => plot(logs) } });
//   const probs = await (await model.predict(x)).data();
//   kiln.terminate();
//
// Objects (models, tensors, layers, sessions) stay in the worker and are used
// through handles; plain data (numbers, strings, arrays, typed arrays, object
// literals) is copied across. transfer(array) hands a buffer over without a
// copy (the page's array is then detached). Functions passed in (callbacks)
// run on the page, for as long as the call that passed them runs. tidy()
// cannot span the two threads: dispose() what you make.
import { isHandle, isPlainContainer, isCloneableLeaf, fromWireError, Path, Reply, Request, toWireError } from './worker_protocol.js';
import type { ReadyOptions, BackendInfo } from './backend.js';

// As backend.ts has them; not imported from there, so a page bundling only
// this client does not take the engine's module graph with it.
const isNode = typeof process !== 'undefined' && !!(process as any).versions?.node;
const nodeImport = (name: string): Promise<any> => import(/* webpackIgnore: true */ /* @vite-ignore */ name);

/**
 * A value of the engine as the page sees it: calls and property reads return
 * Promises. Typed three levels deep (kiln.layers.dense(...) -> a layer ->
 * its methods), then `any`: deeper would make TypeScript give up on the
 * whole API ("type instantiation is excessively deep").
 */
type Depth = [never, 0, 1, 2];
export type Remote<T, D extends number = 3> = [D] extends [never]
  ? any
  : T extends (...args: any[]) => infer R
    ? (...args: any[]) => Promise<Remote<Awaited<R>, Depth[D]>>
    : T extends string | number | boolean | bigint | symbol | undefined | null | ArrayBufferView | ArrayBuffer
      ? T
      : T extends object
        ? { [K in keyof T]: T[K] extends (...args: any[]) => any ? Remote<T[K], Depth[D]> : Remote<T[K], Depth[D]> & PromiseLike<T[K]> }
        : T;

export type RemoteKiln = Remote<typeof import('./index.js')> & {
  /** What kiln.ready() reported in the worker. */
  readonly backend: BackendInfo;
  /** Stops the worker; every handle becomes unusable. */
  terminate(): void;
};

interface Channel {
  post(message: Request, transfer: Transferable[]): void;
  listen(fn: (message: Reply) => void, onError: (e: Error) => void): void;
  terminate(): void;
}

async function openWorker(): Promise<Channel> {
  if (isNode) {
    const { Worker } = await nodeImport('node:worker_threads');
    const w = new Worker(new URL('./worker_main.js', import.meta.url));
    w.unref();  // an idle engine does not keep Node running
    return {
      post: (m, t) => w.postMessage(m, t),
      listen: (fn, onError) => { w.on('message', fn); w.on('error', onError); },
      terminate: () => w.terminate(),
    };
  }
  // The literal `new Worker(new URL(...), { type: 'module' })` form lets Vite
  // and webpack bundle the worker's own imports.
  const w = new Worker(new URL('./worker_main.js', import.meta.url), { type: 'module' });
  return {
    post: (m, t) => w.postMessage(m, t),
    listen: (fn, onError) => {
      w.onmessage = (e) => fn(e.data);
      w.onerror = (e) => onError(new Error(`kiln/worker: the worker failed: ${e.message ?? 'could not load'}`));
    },
    terminate: () => w.terminate(),
  };
}

const TRANSFER = Symbol('kiln.transfer');

/** Marks a typed array or ArrayBuffer to be moved to the worker without a copy. */
export function transfer<T extends ArrayBuffer | ArrayBufferView>(value: T): T {
  return { [TRANSFER]: value } as unknown as T;
}

/** Starts the worker, runs kiln.ready(options) there and returns the engine's API. */
export async function startWorker(options: ReadyOptions = {}): Promise<RemoteKiln> {
  const channel = await openWorker();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  // Page functions passed in a call, by id; they live until that call ends
  // (fit's callbacks), so the page's closures are not held forever.
  const callbacks = new Map<number, (...a: unknown[]) => unknown>();
  let nextId = 1, nextCallback = 1;
  let failed: Error | null = null;
  let ready!: () => void;
  const started = new Promise<void>((res, rej) => {
    ready = res;
    channel.listen(onReply, (e) => {
      failed = e;
      rej(e);
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  });

  // Handles the page no longer references are released in the worker.
  const registry = new FinalizationRegistry<number>((handle) => {
    if (!failed) channel.post({ id: 0, kind: 'release', target: handle }, []);
  });

  // `registered` collects the ids of the page functions the value holds.
  function encode(v: unknown, transfers: Transferable[], registered: number[]): unknown {
    if (typeof v === 'function') {
      const handle = handleOf.get(v as object);
      if (handle !== undefined) return handle;
      if (paths.has(v as object))
        throw new Error('kiln/worker: a property of a worker object was passed without await (write `await model.input`, not `model.input`)');
      const id = nextCallback++;
      callbacks.set(id, v as (...a: unknown[]) => unknown);
      registered.push(id);
      return { __kilnCallback: id };
    }
    if (v !== null && typeof v === 'object' && TRANSFER in v) {
      const value = (v as any)[TRANSFER];
      transfers.push(ArrayBuffer.isView(value) ? value.buffer : value);
      return { __kilnTransfer: value };
    }
    if (isCloneableLeaf(v)) return v;
    if (Array.isArray(v)) return v.map((x) => encode(x, transfers, registered));
    if (!isPlainContainer(v as object))
      throw new Error(`kiln/worker: a ${(v as object).constructor?.name} made on the page cannot go to the worker; make it through the worker's API`);
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, encode(x, transfers, registered)]));
  }

  function decode(v: unknown): unknown {
    if (isHandle(v)) return makeProxy(v.__kilnHandle, [], v.type);
    if (isCloneableLeaf(v)) return v;
    if (Array.isArray(v)) return v.map(decode);
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, decode(x)]));
  }

  // `value` is encoded before anything is sent: a value that cannot cross throws here.
  function encodeAll(value: unknown): { value: unknown; transfers: Transferable[]; registered: number[] } {
    const transfers: Transferable[] = [], registered: number[] = [];
    return { value: encode(value, transfers, registered), transfers, registered };
  }

  function request(make: (id: number) => Request, transfers: Transferable[] = [], registered: number[] = []): Promise<unknown> {
    if (failed) return Promise.reject(failed);
    const id = nextId++;
    const done = () => { for (const c of registered) callbacks.delete(c); };
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: (v) => { done(); resolve(v); }, reject: (e) => { done(); reject(e); } });
      channel.post(make(id), transfers);
    });
  }

  async function onReply(r: Reply) {
    if (r.kind === 'ready') return ready();
    if (r.kind === 'result') {
      const p = pending.get(r.id);
      pending.delete(r.id);
      if (!p) return;
      if (r.ok) p.resolve(decode(r.value));
      else p.reject(fromWireError(r.error));
      return;
    }
    // The worker calls a page function and waits for what it returns.
    const fn = callbacks.get(r.callback);
    try {
      if (!fn) throw new Error('kiln/worker: a page function was called after the call that passed it ended');
      const out = encodeAll(await fn(...(r.args.map(decode) as unknown[])));
      channel.post({ id: r.id, kind: 'callbackResult', ok: true, value: out.value }, out.transfers);
    } catch (e) {
      channel.post({ id: r.id, kind: 'callbackResult', ok: false, error: toWireError(e) }, []);
    }
  }

  // Proxies: a handle (path []) or a property path on it. Reading a property
  // gives a deeper path; calling one sends the call; awaiting a path reads it.
  const handleOf = new WeakMap<object, { __kilnHandle: number; type: string }>();
  const paths = new WeakSet<object>();  // every proxy: a non-handle one is an unread property path
  function makeProxy(target: number, path: Path, type: string): any {
    const proxy: any = new Proxy(function () {}, {
      get(_, key) {
        if (typeof key === 'symbol') return undefined;
        if (key === 'then') {
          if (path.length === 0) return undefined;  // a handle itself is not a promise
          const read = request((id) => ({ id, kind: 'get', target, path }));
          return read.then.bind(read);
        }
        if (target === 0 && path.length === 0) {
          if (key === 'terminate') return () => { failed = new Error('kiln/worker: the worker was terminated'); channel.terminate(); };
          if (key === 'backend') return backend;
        }
        return makeProxy(target, [...path, key], type);
      },
      // An assignment (layer.trainable = false, model.stopTraining = true) is
      // sent at once and applied in order before any later call; a failure
      // cannot be returned from an assignment, so it is logged.
      set(_, key, value) {
        if (failed) throw failed;
        const out = encodeAll(value);
        request((id) => ({ id, kind: 'set', target, path: [...path, key as string], value: out.value }), out.transfers, out.registered)
          .catch((e) => console.error(`kiln/worker: setting '${String(key)}' failed: ${e.message}`));
        return true;
      },
      apply(_, __, args) {
        let out;
        try {
          out = encodeAll(args);
        } catch (e) {
          return Promise.reject(e);  // an argument that cannot cross: the call rejects, as any failed call
        }
        return request((id) => ({ id, kind: 'call', target, path, args: out.value as unknown[] }), out.transfers, out.registered);
      },
    });
    paths.add(proxy);
    if (path.length === 0 && target !== 0) {
      handleOf.set(proxy, { __kilnHandle: target, type });
      registry.register(proxy, target);
    }
    return proxy;
  }

  let backend!: BackendInfo;
  await started;
  const root = makeProxy(0, [], 'kiln');
  backend = (await root.ready(options)) as BackendInfo;
  return root as RemoteKiln;
}
