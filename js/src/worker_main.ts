// The worker side of kiln/worker: runs the whole engine (this package's
// index.js) and answers the page's requests. Objects that are not plain data
// stay here in a table and go back as handles; page functions arrive as
// callbacks it calls over the channel and awaits.
import * as kiln from './index.js';
import {
  isCallback, isCloneableLeaf, isHandle, isPlainContainer, isTransfer, Path, Reply, Request, toWireError,
} from './worker_protocol.js';

interface Port {
  post(message: Reply): void;
  listen(fn: (message: Request) => void): void;
}

async function port(): Promise<Port> {
  const g = globalThis as any;
  if (typeof g.postMessage === 'function' && typeof g.WorkerGlobalScope !== 'undefined') {
    return { post: (m) => g.postMessage(m), listen: (fn) => { g.onmessage = (e: MessageEvent) => fn(e.data); } };
  }
  // Node's worker_threads (a variable specifier keeps bundlers out of it).
  const name = 'node:worker_threads';
  const { parentPort } = await import(/* webpackIgnore: true */ /* @vite-ignore */ name);
  if (!parentPort) throw new Error('kiln/worker: worker_main.js runs only as a worker');
  return { post: (m) => parentPort.postMessage(m), listen: (fn) => parentPort.on('message', fn) };
}

const objects = new Map<number, unknown>([[0, kiln]]);
const disposed = new Map<number, string>();  // handle -> type, for the error a later use gets
let nextHandle = 1;
let nextCall = 1;
const pendingCallbacks = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let channel: Port;

function encode(v: unknown, seen = new Set<object>()): unknown {
  if (isCloneableLeaf(v)) return v;
  if (typeof v === 'function') throw new Error('kiln/worker: a function cannot be returned to the page');
  const o = v as object;
  if (isPlainContainer(o)) {
    if (seen.has(o)) throw new Error('kiln/worker: a value with a cycle cannot be returned to the page');
    seen.add(o);
    const out: any = Array.isArray(o) ? o.map((x) => encode(x, seen)) : Object.fromEntries(Object.entries(o).map(([k, x]) => [k, encode(x, seen)]));
    seen.delete(o);
    return out;
  }
  const id = nextHandle++;
  objects.set(id, o);
  return { __kilnHandle: id, type: o.constructor?.name ?? 'Object' };
}

function decode(v: unknown): unknown {
  if (isHandle(v)) {
    if (!objects.has(v.__kilnHandle)) throw new Error(`kiln/worker: handle ${v.__kilnHandle} (${v.type}) was released`);
    return objects.get(v.__kilnHandle);
  }
  if (isCallback(v)) return (...args: unknown[]) => callPage(v.__kilnCallback, args);
  if (isTransfer(v)) return v.__kilnTransfer;
  if (isCloneableLeaf(v)) return v;
  if (Array.isArray(v)) return v.map(decode);
  return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, decode(x)]));
}

function callPage(callback: number, args: unknown[]): Promise<unknown> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    pendingCallbacks.set(id, { resolve, reject });
    channel.post({ id, kind: 'callback', callback, args: args.map((a) => encode(a)) });
  });
}

function target(id: number): any {
  if (disposed.has(id)) throw new Error(`kiln/worker: this ${disposed.get(id)} was disposed`);
  if (!objects.has(id)) throw new Error(`kiln/worker: handle ${id} was released`);
  return objects.get(id);
}

function walk(from: any, path: Path): any {
  let o = from;
  for (const key of path) {
    if (o === null || o === undefined) throw new Error(`kiln/worker: cannot read '${String(key)}' of ${o}`);
    o = o[key];
  }
  return o;
}

async function handle(r: Exclude<Request, { kind: 'callbackResult' }>): Promise<unknown> {
  switch (r.kind) {
    case 'get':
      return encode(await walk(target(r.target), r.path));
    case 'set': {
      const owner = walk(target(r.target), r.path.slice(0, -1));
      owner[r.path[r.path.length - 1]] = decode(r.value);
      return undefined;
    }
    case 'release':
      if (r.target !== 0) objects.delete(r.target), disposed.delete(r.target);
      return undefined;
    case 'call': {
      const owner = walk(target(r.target), r.path.slice(0, -1));
      const name = r.path[r.path.length - 1];
      const fn = r.path.length ? owner?.[name] : owner;
      if (typeof fn !== 'function') throw new Error(`kiln/worker: '${r.path.join('.')}' is not a function`);
      // Classes (kiln.layers.Layer for custom layers, ...) are the page's: their code cannot be sent here.
      if (/^class[\s{]/.test(Function.prototype.toString.call(fn)))
        throw new Error(`kiln/worker: '${r.path.join('.')}' is a class; custom layers and other classes run on the page, not in the worker`);
      const result = await fn.apply(owner, r.args.map(decode));
      // A disposed object is of no further use: its entry goes too.
      if (name === 'dispose' && r.path.length === 1 && r.target !== 0) {
        disposed.set(r.target, owner?.constructor?.name ?? 'object');
        objects.delete(r.target);
      }
      return encode(result);
    }
  }
}

port().then((p) => {
  channel = p;
  channel.listen(async (r: Request) => {
  if (r.kind === 'callbackResult') {
    const p = pendingCallbacks.get(r.id);
    pendingCallbacks.delete(r.id);
    if (p) r.ok ? p.resolve(r.value) : p.reject(Object.assign(new Error(r.error?.message), { name: r.error?.name }));
    return;
  }
  try {
    channel.post({ id: r.id, kind: 'result', ok: true, value: await handle(r) });
  } catch (e) {
    channel.post({ id: r.id, kind: 'result', ok: false, error: toWireError(e) });
  }
  });
  channel.post({ kind: 'ready' });
});
