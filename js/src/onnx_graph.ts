// Fine-tuning any imported ONNX graph: `const g = await
// kiln.onnx.loadGraph(bytes)` gives the model's float initializers as
// kiln.Variables (g.variables, by initializer name) and g.apply(feeds),
// which runs the graph node by node through the ops API, so the autograd
// tape sees every op and optimizer.minimize() trains the variables. Where
// kiln.onnx.loadModel translates CNNs and MLPs into Layers models, this runs
// whatever the op set has gradients for (attention, normalizations, custom
// heads), at the speed of eager ops; kiln.onnx.load stays the fast path for
// inference. Nodes run under the model's own opset.
import { alloc, coreError, free, heapU8, mod } from './backend.js';
import { dataTypeOfOnnx } from './dtypes.js';
import { tidy } from './engine.js';
import { Attributes, runOp, tensorOfHandle } from './op_runner.js';
import { Tensor } from './tensor.js';
import { Variable, variable } from './variable.js';

interface GraphNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Attributes;
}
interface GraphDescription {
  opset: number;
  inputs: { name: string; type: number; shape: (number | null)[] | null }[];
  outputs: string[];
  nodes: GraphNode[];
  values: { name: string; constant: boolean }[];
}

export interface OnnxGraphInput {
  name: string;
  dtype: string | null;
  shape: (number | null)[] | null;
}

let graphs = 0;

// Inputs of these (op, input index) hold statistics or shapes, not weights:
// their initializers are variables that do not train by default.
const NOT_TRAINED: Record<string, number[]> = { BatchNormalization: [3, 4] };

export class OnnxGraph {
  readonly inputs: OnnxGraphInput[];
  readonly outputNames: string[];
  readonly opset: number;
  /** The float initializers, by initializer name; those feeding batch statistics are not trainable. */
  readonly variables: Record<string, Variable>;
  /** Integer initializers and Constant nodes' values (shapes, indices), by name. */
  readonly constants: Record<string, Tensor>;
  private readonly nodes: GraphNode[];
  private disposed = false;

  /** @internal Use kiln.onnx.loadGraph. */
  constructor(description: GraphDescription, values: Tensor[]) {
    const id = graphs++;
    this.opset = description.opset;
    this.nodes = description.nodes;
    this.outputNames = description.outputs;
    this.inputs = description.inputs.map((i) => ({ name: i.name, dtype: dataTypeOfOnnx(i.type), shape: i.shape }));
    const frozen = new Set<string>();
    for (const n of this.nodes) for (const k of NOT_TRAINED[n.op] ?? []) if (n.inputs[k]) frozen.add(n.inputs[k]);
    this.variables = {};
    this.constants = {};
    description.values.forEach((v, i) => {
      const t = values[i];
      if (!v.constant && (t.dtype === 'float32' || t.dtype === 'float64')) {
        this.variables[v.name] = variable(t, !frozen.has(v.name), `onnx${id}/${v.name}`);
        t.dispose();
      } else {
        this.constants[v.name] = t;
      }
    });
  }

  /**
   * Runs the graph on `feeds` (a tensor for a one-input model, tensors in the
   * inputs' order, or tensors by input name) and returns its outputs the same
   * way: a tensor for one output, else tensors by output name. Every node is
   * an op of the ops API, so gradients reach g.variables.
   */
  apply(feeds: Tensor | Tensor[] | Record<string, Tensor>): Tensor | Record<string, Tensor> {
    const what = 'onnxGraph.apply';
    if (this.disposed) throw new Error(`${what}: the graph was disposed`);
    const given: Record<string, Tensor> = feeds instanceof Tensor ? { [this.inputs[0]?.name]: feeds }
      : Array.isArray(feeds) ? Object.fromEntries(feeds.map((t, i) => [this.inputs[i]?.name, t])) : feeds ?? {};
    for (const input of this.inputs)
      if (!(given[input.name] instanceof Tensor)) throw new Error(`${what}: input '${input.name}' is missing (inputs: ${this.inputs.map((i) => i.name).join(', ')})`);
    for (const name of Object.keys(given))
      if (!this.inputs.some((i) => i.name === name)) throw new Error(`${what}: the model has no input '${name}'`);
    const results = tidy(() => {
      const values = new Map<string, Tensor>();
      for (const [k, v] of Object.entries(this.variables)) values.set(k, v);
      for (const [k, v] of Object.entries(this.constants)) values.set(k, v);
      for (const [k, v] of Object.entries(given)) values.set(k, v);
      for (const n of this.nodes) {
        const inputs = n.inputs.map((name) => {
          if (name === '') return null;
          const t = values.get(name);
          if (!t) throw new Error(`${what}: ${n.op} node '${n.name}' reads '${name}', which nothing computes`);
          return t;
        });
        const outputs = runOp(`${what}: ${n.op} node '${n.name}'`, n.op, inputs, n.attributes, n.outputs.length, this.opset);
        n.outputs.forEach((name, k) => { if (name !== '') values.set(name, outputs[k]); });
      }
      return this.outputNames.map((name) => {
        const t = values.get(name);
        if (!t) throw new Error(`${what}: output '${name}' is not computed by any node`);
        return t;
      });
    });
    if (this.outputNames.length === 1) return results[0];
    return Object.fromEntries(this.outputNames.map((name, i) => [name, results[i]]));
  }

  /** Frees the variables and constants. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of Object.values(this.variables)) v.dispose();
    for (const t of Object.values(this.constants)) t.dispose();
  }
}

/** Loads an ONNX model as a graph whose initializers are variables (see OnnxGraph). */
export async function loadGraph(source: Uint8Array | ArrayBuffer): Promise<OnnxGraph> {
  const bytes = source instanceof Uint8Array ? source : source instanceof ArrayBuffer ? new Uint8Array(source) : null;
  if (!bytes) throw new Error('onnx.loadGraph: expected the .onnx file as a Uint8Array or ArrayBuffer');
  const m = mod();
  const ptr = alloc(bytes.length, 'the ONNX file');
  try {
    heapU8().set(bytes, ptr);
    const json = m._kiln_onnx_graph(ptr, bytes.length);
    if (!json) throw coreError('onnx.loadGraph');
    const description = JSON.parse(m.UTF8ToString(json)) as GraphDescription;
    const values: Tensor[] = [];
    try {
      for (let i = 0; i < description.values.length; i++) {
        const h = m._kiln_onnx_graph_value(i);
        if (!h) throw new Error('onnx.loadGraph: out of memory for the initializers');
        values.push(tensorOfHandle(h));
      }
    } catch (e) {
      for (const t of values) t.dispose();
      throw e;
    }
    return new OnnxGraph(description, values);
  } finally {
    m._kiln_onnx_graph_release();
    free(ptr);
  }
}
