// The messages between the page and the worker that runs the engine
// (worker.ts, worker_main.ts). Values cross as the structured clone carries
// them, except three kinds of reference, each a small marked object:
//  - a handle: an object that stays in the worker (a model, tensor, layer,
//    session), named by a number and used from the page through a proxy;
//  - a callback: a page function the worker calls (fit callbacks), awaited
//    there, so an async callback delays the step as it would in the page;
//  - a transfer: an ArrayBuffer (or a typed array's) the page hands over
//    without a copy (kiln/worker's transfer()).
// Hand-written rather than comlink: the package has no runtime dependencies,
// so a page can import it through an import map without a bundler.

export type Path = (string | number)[];

export type Request =
  | { id: number; kind: 'call'; target: number; path: Path; args: unknown[] }
  | { id: number; kind: 'get'; target: number; path: Path }
  | { id: number; kind: 'set'; target: number; path: Path; value: unknown }
  | { id: number; kind: 'release'; target: number }
  | { id: number; kind: 'callbackResult'; ok: boolean; value?: unknown; error?: WireError };

export type Reply =
  | { kind: 'ready' }
  | { id: number; kind: 'result'; ok: boolean; value?: unknown; error?: WireError }
  | { id: number; kind: 'callback'; callback: number; args: unknown[] };

export interface WireError { name: string; message: string; stack?: string }

export interface HandleRef { __kilnHandle: number; type: string }
export interface CallbackRef { __kilnCallback: number }
export interface TransferRef { __kilnTransfer: ArrayBuffer | ArrayBufferView }

export const isHandle = (v: any): v is HandleRef => v !== null && typeof v === 'object' && typeof v.__kilnHandle === 'number';
export const isCallback = (v: any): v is CallbackRef => v !== null && typeof v === 'object' && typeof v.__kilnCallback === 'number';
export const isTransfer = (v: any): v is TransferRef => v !== null && typeof v === 'object' && '__kilnTransfer' in v;

/** Values the structured clone carries as they are (no walk inside). */
export function isCloneableLeaf(v: unknown): boolean {
  return (
    v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer) || v instanceof Date || v instanceof RegExp
  );
}

/** Plain data: an array or an object literal (prototype Object or null). */
export function isPlainContainer(v: object): boolean {
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

export function fromWireError(e: WireError | undefined): Error {
  const err = new Error(e?.message ?? 'kiln worker: unknown error');
  if (e?.name) err.name = e.name;
  return err;
}
