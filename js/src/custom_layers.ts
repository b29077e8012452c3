// The core's custom-layer host (src/layers/custom_layer.h, through
// src/wasm/c_api_custom_layers.cc): a layer class written in JavaScript
// (class X extends kiln.layers.Layer) lives here, the core keeps its weights
// and plans, and calls back to build it and to run its call() on the plan's
// buffers. In training the forward pass is recorded on an autograd tape
// (tape.ts) and its backward pass is that tape's gradients, so a custom
// layer trains with any op of the op set and needs no gradient of its own.
import { heapF32, heapI32, heapU32, heapU8, hostLayerHooks, mod } from './backend.js';
import { tapeGradients } from './autograd.js';
import { DTYPES } from './dtypes.js';
import { tidy } from './engine.js';
import { HeapStorage } from './heap_storage.js';
import { Layer, layerFromConfig, serialization } from './layers.js';
import { tensorOfHandle } from './op_runner.js';
import { recording, Tape, tensorId } from './tape.js';
import { Tensor } from './tensor.js';

// Layer objects by the id the core knows them by (one per core layer: a
// JavaScript layer in two models has two ids).
const byId = new Map<number, Layer>();
let nextId = 1;
// Layers of the model being created, by name: the core's create() takes
// these instances instead of making new ones from their config.
let pending: Map<string, Layer> | null = null;
// Layers the core made from a saved config (a loaded model), for the loader to claim.
const created = new Map<string, Layer>();
// A training forward pass's record, by application: what its backward pass needs.
interface CallRecord { tape: Tape; sources: Tensor[]; outputs: Tensor[] }
const records = new Map<number, CallRecord>();
// Custom layers' call()s running now (the core is inside a plan).
let callsRunning = 0;
/** @internal Whether a custom layer's call() is running. */
export function insideCustomCall(): boolean {
  return callsRunning > 0;
}

/** @internal Runs `create` (which makes a core model) with `layers`' custom layers as the instances it uses. */
export function withCustomLayers<R>(layers: Layer[], create: () => R): R {
  const previous = pending;
  pending = new Map(layers.filter((l) => l.isCustom).map((l) => [l.name, l]));
  try {
    return create();
  } finally {
    pending = previous;
  }
}

/** @internal The layer a model load made for `name` from its saved config, if any. */
export function claimCreatedLayer(name: string): Layer | undefined {
  const l = created.get(name);
  created.delete(name);
  return l;
}

// A message for the core (it frees it) in the char** at `slot`.
function give(slot: number, text: string): void {
  const m = mod();
  const n = m.lengthBytesUTF8(text) + 1;
  const p = m._malloc(n);
  if (!p) return;
  m.stringToUTF8(text, p, n);
  heapU32()[slot >> 2] = p;
}

interface Described { ptr: number; shape: number[]; dims: number }
// [count, then per tensor: address, rank, dims...] (c_api_custom_layers.cc).
function described(desc: number): Described[] {
  const h = heapI32();
  let at = desc >> 2;
  const n = h[at++];
  const out: Described[] = [];
  for (let i = 0; i < n; i++) {
    const ptr = h[at++] >>> 0;
    const rank = h[at++];
    out.push({ ptr, shape: Array.from(h.subarray(at, at + rank)), dims: at * 4 });
    at += rank;
  }
  return out;
}

const bytesOf = (shape: number[]) => 4 * shape.reduce((a, b) => a * b, 1);

// A tensor holding a copy of a plan buffer.
function tensorFrom(d: Described): Tensor {
  const m = mod();
  const h = m._kiln_value_create(DTYPES.float32.onnx, d.shape.length, d.dims);
  if (!h) throw new Error('out of memory for a tensor');
  const bytes = bytesOf(d.shape);
  if (bytes) heapU8().copyWithin(m._kiln_value_data(h), d.ptr, d.ptr + bytes);
  return tensorOfHandle(h);
}

// Copies a result into a plan buffer of the shape the core expects.
function writeTo(t: unknown, d: Described, what: string): void {
  if (!(t instanceof Tensor)) throw new Error(`${what} is not a Tensor`);
  if (t.isDisposed) throw new Error(`${what} is disposed`);
  if (t.dtype !== 'float32') throw new Error(`${what} is ${t.dtype}; layers compute in float32`);
  if (t.shape.length !== d.shape.length || t.shape.some((x, i) => x !== d.shape[i]))
    throw new Error(`${what} has shape [${t.shape}], but computeOutputShape() gives [${d.shape}]`);
  const bytes = bytesOf(d.shape);
  if (!bytes) return;
  const s = t.storage;
  if (s instanceof HeapStorage && s.handle) {
    const src = mod()._kiln_value_data(s.handle);
    heapU8().copyWithin(d.ptr, src, src + bytes);
  } else {
    heapF32().set(t.dataSync() as Float32Array, d.ptr >> 2);
  }
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));
const describe = (l: Layer) => `${l.name} (${l.getClassName()})`;

function forget(call: number): void {
  const r = records.get(call);
  if (!r) return;
  records.delete(call);
  r.tape.dispose();
}

// The shape list computeOutputShape gives (one shape, or a list of them), batch dropped.
function outputShapes(layer: Layer, given: unknown): number[][] {
  const list = Array.isArray(given) && Array.isArray(given[0]) ? (given as unknown[]) : [given];
  return list.map((s) => {
    if (!Array.isArray(s) || s.length < 1) throw new Error(`${describe(layer)}.computeOutputShape must return a shape (batch first) or a list of shapes`);
    return s.slice(1) as number[];
  });
}

Object.assign(hostLayerHooks, {
  create(clsPtr: number, configPtr: number, idSlot: number, messageSlot: number): number {
    const m = mod();
    const className = m.UTF8ToString(clsPtr);
    try {
      const config = JSON.parse(m.UTF8ToString(configPtr)) as Record<string, unknown>;
      let layer = typeof config.name === 'string' ? pending?.get(config.name) : undefined;
      if (!layer) {
        // 'RNN' here is rnn() over a custom cell: its cell's class must be registered.
        if (!serialization.registeredClass(className) && className !== 'RNN')
          throw new Error(`unknown layer class '${className}' (a custom layer class loads once kiln.serialization.registerClass has registered it)`);
        layer = layerFromConfig(className, config);
        if (!layer.isCustom) throw new Error(`a saved ${className} is not a layer written in JavaScript`);
        created.set(layer.name, layer);
      }
      const id = nextId++;
      byId.set(id, layer);
      heapI32()[idSlot >> 2] = id;
      return 1;
    } catch (e) {
      give(messageSlot, `${className}: ${messageOf(e)}`);
      return 0;
    }
  },

  release(id: number): void {
    const layer = byId.get(id);
    byId.delete(id);
    if (layer && created.get(layer.name) === layer) created.delete(layer.name);
  },

  build(id: number, shapesPtr: number, textSlot: number): number {
    const layer = byId.get(id);
    if (!layer) return 0;
    try {
      const h = heapI32();
      let at = shapesPtr >> 2;
      const shapes: (number | null)[][] = [];
      for (let i = 0, n = h[at++]; i < n; i++) {
        const rank = h[at++];
        shapes.push([null, ...Array.from(h.subarray(at, at + rank))]);
        at += rank;
      }
      const arg = shapes.length === 1 ? shapes[0] : shapes;
      if (!layer.built) {
        layer.build(arg);
        layer.built = true;
      }
      const outputs = outputShapes(layer, layer.computeOutputShape(arg));
      if (outputs.length !== layer.numOutputs)
        throw new Error(`computeOutputShape gives ${outputs.length} outputs; custom layers return one tensor`);
      const weights = layer.addedWeights.map((w) => ({ name: w.originalName, shape: w.shape, initializer: w.initializer, trainable: w.trainable }));
      give(textSlot, JSON.stringify({ weights, outputs }));
      return 1;
    } catch (e) {
      give(textSlot, `${describe(layer)}.build: ${messageOf(e)}`);
      return 0;
    }
  },

  // mode: 1 = training behaviour (kwargs.training), 2 = a backward pass follows (record the tape).
  forward(id: number, call: number, mode: number, insPtr: number, outsPtr: number, messageSlot: number): number {
    const layer = byId.get(id);
    if (!layer) return 0;
    forget(call);  // an earlier forward pass of this application whose backward never ran
    const training = (mode & 1) !== 0;
    const tape = mode & 2 ? new Tape() : null;
    let sources: Tensor[] = [];
    let outputs: Tensor[] = [];
    try {
      const ins = described(insPtr);
      const outs = described(outsPtr);
      const weights = layer.addedWeights;
      const nInputs = ins.length - weights.length;
      outputs = tidy(() => {
        sources = ins.map(tensorFrom);
        if (tape) for (const s of sources) tape.watched.add(tensorId(s));
        weights.forEach((w, k) => (w.bound = sources[nInputs + k]));
        try {
          const inputs = nInputs === 1 ? sources[0] : sources.slice(0, nInputs);
          const run = () => {
            callsRunning++;
            try {
              return layer.call(inputs, { training });
            } finally {
              callsRunning--;
            }
          };
          const result = tape ? recording(tape, run) : run();
          const list = Array.isArray(result) ? result : [result];
          if (list.length !== outs.length) throw new Error(`call() returned ${list.length} tensors for ${outs.length} outputs`);
          list.forEach((t, k) => writeTo(t, outs[k], `call()'s result${list.length > 1 ? ` ${k}` : ''}`));
          return list;
        } finally {
          for (const w of weights) w.bound = null;
        }
      });
      if (tape) records.set(call, { tape, sources, outputs });
      return 1;
    } catch (e) {
      tape?.dispose();
      give(messageSlot, `${describe(layer)}.call: ${messageOf(e)}`);
      return 0;
    } finally {
      for (const t of [...sources, ...outputs]) t.dispose();  // the tape keeps what its gradients need
    }
  },

  backward(id: number, call: number, doutsPtr: number, dinsPtr: number, messageSlot: number): number {
    const layer = byId.get(id);
    if (!layer) return 0;
    const record = records.get(call);
    records.delete(call);
    const dys: Tensor[] = [];
    let grads: (Tensor | null)[] = [];
    try {
      if (!record) throw new Error('no forward pass was recorded for this gradient');
      for (const d of described(doutsPtr)) dys.push(tensorFrom(d));
      grads = tapeGradients(`${describe(layer)}: the gradient of call()`, record.tape, record.outputs, dys, record.sources);
      described(dinsPtr).forEach((d, i) => {
        if (!d.ptr) return;
        const g = grads[i];
        if (g) writeTo(g, d, `the gradient of input ${i}`);
        else heapF32().fill(0, d.ptr >> 2, (d.ptr >> 2) + bytesOf(d.shape) / 4);  // the result does not depend on it
      });
      return 1;
    } catch (e) {
      give(messageSlot, `${describe(layer)}: ${messageOf(e)}`);
      return 0;
    } finally {
      record?.tape.dispose();
      for (const t of [...dys, ...grads]) t?.dispose();
    }
  },

  forget,
});
