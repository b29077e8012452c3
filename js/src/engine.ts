// TF.js's tensor bookkeeping: every tensor made is counted until it is
// disposed (memory().numTensors, numBytes), and tidy() disposes the tensors a
// function made except those it returns or keep() marks. Kiln's tensors live
// in JavaScript memory, so an undisposed one is reclaimed by the garbage
// collector anyway; the counts follow TF.js's rules (made minus disposed) so
// code written for TF.js's leak checks reads the same numbers here.
import type { Tensor } from './tensor.js';

let liveTensors = 0;
let liveBytes = 0;
// One list per tidy() in progress, innermost last: the tensors made in it.
const scopes: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();

function bytesOf(t: Tensor): number {
  return t.storage.byteLength;
}

// Tensors an op makes from the numbers and arrays it was given (kiln.add(x, 2)):
// TF.js makes and disposes them inside its op, so they never show in its
// counts; here they are left uncounted and the garbage collector takes them.
const uncounted = new WeakSet<Tensor>();
let uncountedDepth = 0;

/** @internal Runs fn; the tensors it makes are not counted, tracked by tidy() or disposed by it. */
export function withoutCounting<R>(fn: () => R): R {
  uncountedDepth++;
  try {
    return fn();
  } finally {
    uncountedDepth--;
  }
}

// Lists collecting every tensor made, counted or not (collectingMade).
const madeLists: Tensor[][] = [];

/** @internal Runs fn and returns what it gave and every tensor made meanwhile (for the caller to dispose). */
export function collectingMade<R>(fn: () => R): { result: R; made: Tensor[] } {
  const made: Tensor[] = [];
  madeLists.push(made);
  try {
    return { result: fn(), made };
  } finally {
    madeLists.pop();
  }
}

/** @internal Runs fn; what it makes is never counted, nor collected for any scope to dispose (kept constants). */
export function persistent<R>(fn: () => R): R {
  const lists = madeLists.splice(0);
  try {
    return withoutCounting(fn);
  } finally {
    madeLists.push(...lists);
  }
}

/** @internal Called by the Tensor constructor. */
export function trackTensor(t: Tensor): void {
  for (const list of madeLists) list.push(t);
  if (uncountedDepth > 0) {
    uncounted.add(t);
    return;
  }
  liveTensors++;
  liveBytes += bytesOf(t);
  scopes[scopes.length - 1]?.add(t);
}

/** @internal Called once per tensor, when it is disposed. */
export function untrackTensor(t: Tensor, bytes: number): void {
  if (uncounted.has(t)) return;
  liveTensors--;
  liveBytes -= bytes;
  for (const s of scopes) s.delete(t);
}

export interface TensorCounts {
  /** Tensors made and not disposed (TF.js's rule). */
  numTensors: number;
  /** As TF.js reports it: one buffer per tensor. */
  numDataBuffers: number;
  /** The bytes those tensors hold. */
  numBytes: number;
}

export function tensorCounts(): TensorCounts {
  return { numTensors: liveTensors, numDataBuffers: liveTensors, numBytes: liveBytes };
}

type TensorContainer = Tensor | TensorContainer[] | { [key: string]: TensorContainer } | null | undefined | void | number | string | boolean;

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && typeof (v as Tensor).dispose === 'function' && 'storage' in (v as object);
}

function collect(v: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (isTensor(v)) out.add(v);
  else if (Array.isArray(v)) for (const x of v) collect(x, out, seen);
  else for (const x of Object.values(v)) collect(x, out, seen);
}

/**
 * Runs fn and disposes every tensor it made except those in its result
 * (a tensor, or arrays and objects of them) and those keep() marked; the
 * result's tensors move to the enclosing tidy. tidy(name, fn) as TF.js.
 */
export function tidy<T extends TensorContainer>(nameOrFn: string | (() => T), maybeFn?: () => T): T {
  const fn = typeof nameOrFn === 'function' ? nameOrFn : maybeFn;
  if (typeof fn !== 'function') throw new Error('tidy: expects a function (or a name and a function)');
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // As TF.js: what the function made is disposed when it throws too.
    for (const t of scope) if (!kept.has(t)) t.dispose();
    throw e;
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    // TF.js logs this and disposes what the function made before its first
    // await, which the rest of it still uses; Kiln warns and disposes nothing.
    console.warn('kiln.tidy: the function returned a Promise; tidy() manages synchronous code only, so nothing it made was disposed');
    const outer = scopes[scopes.length - 1];
    if (outer) for (const t of scope) outer.add(t);
    return result;
  }
  const keepers = new Set<Tensor>();
  collect(result, keepers);
  for (const t of scope) if (!keepers.has(t) && !kept.has(t)) t.dispose();
  const outer = scopes[scopes.length - 1];
  if (outer) for (const t of keepers) if (scope.has(t)) outer.add(t);
  return result;
}

/** Keeps a tensor made inside tidy() from being disposed at its end. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
  return t;
}

/** Disposes a tensor, or every tensor in arrays and objects of them. */
export function dispose(container: TensorContainer): void {
  const found = new Set<Tensor>();
  collect(container, found);
  for (const t of found) t.dispose();
}
