// TF.js graph models (the converter's format for TensorFlow SavedModels:
// model.json with a GraphDef topology plus weight shards): kiln.loadGraphModel
// reads them through the same IO handlers as layers models, the core
// translates the GraphDef into an ONNX graph (src/frontends/tf_graph) and the
// ONNX runtime runs it with all its passes. GraphModel keeps TF.js's surface:
// predict/execute/executeAsync on a Tensor, a Tensor[] or tensors by name,
// inputs/outputs, inputNodes/outputNodes named as TF.js names them.
import { alloc, coreError, free, heapU8, mod, withCString } from './backend.js';
import { checkLoadOptions, IOHandler, LoadOptions, ModelArtifacts, resolveHandler, weightBuffer } from './io.js';
import { OnnxOutput, OnnxSession } from './onnx.js';
import { Tensor } from './tensor.js';
import { decodeTypedWeights } from './weights_codec.js';

export interface GraphModelLoadOptions extends Omit<LoadOptions, 'strict'> {
  /** The URL is a TF Hub module: model.json?tfjs-format=file is read under it. */
  fromTFHub?: boolean;
}
const GRAPH_LOAD_OPTIONS = ['weightPathPrefix', 'fetchFunc', 'requestInit', 'onProgress', 'weightUrlConverter', 'fromTFHub'];

/** An input or output as TF.js describes it; shape -1 where free, undefined when the rank is unknown. */
export interface ModelTensorInfo {
  name: string;
  shape?: number[];
  dtype?: string;
}

export type NamedTensorMap = Record<string, Tensor>;
type Json = Record<string, any>;

// "x:0" and "x" name the same value; "x:1" names the node's second output.
const canonical = (name: string): string => name.replace(/:0$/, '');
const nodeOf = (name: string): string => name.replace(/:\d+$/, '');

interface Endpoint { key: string; value: string }

// TF.js's operation mapper: inputs and outputs from the signature, else the
// placeholders and the nodes nothing reads, in the file's node order.
function endpoints(graph: Json, signature: Json | undefined): { inputs: Endpoint[]; outputs: Endpoint[] } {
  const nodes: Json[] = Array.isArray(graph.node) ? graph.node : [];
  const fromSignature = (entries: Json | undefined): Endpoint[] =>
    Object.keys(entries ?? {}).map((key) => ({ key, value: String(entries![key]?.name ?? key) }));
  let inputs = fromSignature(signature?.inputs);
  if (!inputs.length)
    inputs = nodes.filter((n) => n.op === 'Placeholder').map((n) => ({ key: n.name, value: n.name }));
  let outputs = fromSignature(signature?.outputs);
  if (!outputs.length) {
    const read = new Set<string>();
    for (const n of nodes) for (const i of n.input ?? []) read.add(nodeOf(String(i).replace(/^\^/, '')));
    outputs = nodes.filter((n) => !read.has(n.name) && n.op !== 'NoOp').map((n) => ({ key: n.name, value: n.name }));
  }
  return { inputs, outputs };
}

function dtypeOf(tfType: unknown): string | undefined {
  const map: Record<string, string> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_BOOL: 'bool', DT_INT64: 'int32', DT_STRING: 'string' };
  return typeof tfType === 'string' ? map[tfType] : undefined;
}

function shapeOf(shape: Json | undefined): number[] | undefined {
  if (!shape || shape.unknownRank) return undefined;
  return (shape.dim ?? []).map((d: Json) => Number(d.size ?? 0));
}

// As TF.js: a signature in userDefinedMetadata wins over the top-level one.
const signatureOf = (a: ModelArtifacts): Json | undefined =>
  ((a.userDefinedMetadata as Json | undefined)?.signature ?? a.signature) as Json | undefined;

export class GraphModel {
  /** The model's inputs and outputs as TF.js names them (signature keys where there is a signature). */
  readonly inputNodes: string[];
  readonly outputNodes: string[];
  readonly inputs: ModelTensorInfo[];
  readonly outputs: ModelTensorInfo[];
  readonly modelVersion: string;
  readonly modelSignature: Json | undefined;
  readonly userDefinedMetadata: Json | undefined;
  private session: OnnxSession;
  private inputValue: Map<string, string>;  // a name a caller may use -> the core's input name
  private outputValue: Map<string, string>;  // -> the core's output name

  /** @internal */
  constructor(session: OnnxSession, artifacts: ModelArtifacts) {
    this.session = session;
    const graph = artifacts.modelTopology as Json;
    const signature = signatureOf(artifacts);
    const { inputs, outputs } = endpoints(graph, signature);
    this.inputNodes = inputs.map((e) => e.key);
    this.outputNodes = outputs.map((e) => e.key);
    const byName = new Map<string, Json>((graph.node ?? []).map((n: Json) => [n.name, n]));
    this.inputs = inputs.map((e) => {
      const node = byName.get(nodeOf(canonical(e.value)));
      return { name: node?.name ?? e.key, shape: shapeOf(node?.attr?.shape?.shape), dtype: dtypeOf(node?.attr?.dtype?.type) };
    });
    this.outputs = outputs.map((e) => {
      const info = signature?.outputs?.[e.key];
      return { name: nodeOf(canonical(e.value)), shape: shapeOf(info?.tensorShape), dtype: dtypeOf(info?.dtype) };
    });
    this.inputValue = new Map();
    for (const e of inputs) {
      const core = nodeOf(canonical(e.value));
      this.inputValue.set(e.key, core);
      this.inputValue.set(e.value, core);
      this.inputValue.set(core, core);
    }
    this.outputValue = new Map();
    for (const e of outputs) {
      this.outputValue.set(e.key, e.value);
      this.outputValue.set(e.value, e.value);
      this.outputValue.set(canonical(e.value), e.value);
    }
    this.modelVersion = `${graph.versions?.producer ?? ''}.${graph.versions?.minConsumer ?? ''}`;
    this.modelSignature = signature;
    this.userDefinedMetadata = artifacts.userDefinedMetadata as Json | undefined;
  }

  /**
   * Runs the model; one output gives a Tensor, several a Tensor[] in
   * outputNodes order, or tensors by name when the model names its
   * structured outputs (userDefinedMetadata.structuredOutputKeys).
   */
  predict(inputs: Tensor | Tensor[] | NamedTensorMap, config: Json = {}): Tensor | Tensor[] | NamedTensorMap {
    // The whole input runs at once and predict prints nothing, so only a
    // falsy verbose is honoured; batchSize (which TF.js's graph models ignore)
    // and anything else is refused rather than silently ignored.
    const refused = config !== null && typeof config === 'object'
      ? Object.keys(config).filter((key) => !(key === 'verbose' && !config[key])) : [];
    if (refused.length)
      throw new Error(refused.map((key) => `GraphModel.predict: option '${key}' is not supported`).join('; ') +
        ' (graph models run the whole input at once; split it yourself to bound memory)');
    const out = this.execute(inputs, this.outputNodes);
    const keys = this.userDefinedMetadata?.structuredOutputKeys;
    if (!Array.isArray(keys)) return out;
    const list = out instanceof Tensor ? [out] : out;
    return Object.fromEntries(list.map((t, i) => [String(keys[i]), t]));
  }

  /** Runs the model for `outputs` (names of model outputs; default all). */
  execute(inputs: Tensor | Tensor[] | NamedTensorMap, outputs?: string | string[]): Tensor | Tensor[] {
    const names = this.outputList(outputs, 'GraphModel.execute');
    const result = this.session.runSync(this.feeds(inputs, 'GraphModel.execute'), 'GraphModel.execute');
    return this.pick(result, names);
  }

  /** execute() that resolves to its result (also for models TF.js would need executeAsync for). */
  async executeAsync(inputs: Tensor | Tensor[] | NamedTensorMap, outputs?: string | string[]): Promise<Tensor | Tensor[]> {
    const names = this.outputList(outputs, 'GraphModel.executeAsync');
    const result = await this.session.run(this.feeds(inputs, 'GraphModel.executeAsync'));
    return this.pick(result, names);
  }

  /** Frees the model's memory in the core. */
  dispose(): void { this.session.dispose(); }

  private feeds(inputs: Tensor | Tensor[] | NamedTensorMap, what: string): NamedTensorMap {
    let named: NamedTensorMap;
    if (inputs instanceof Tensor) {
      if (this.inputNodes.length !== 1)
        throw new Error(`${what}: the model has ${this.inputNodes.length} inputs (${this.inputNodes.join(', ')}); pass a Tensor[] or tensors by name`);
      named = { [this.inputNodes[0]]: inputs };
    } else if (Array.isArray(inputs)) {
      if (inputs.length !== this.inputNodes.length)
        throw new Error(`${what}: ${inputs.length} tensors given for the model's ${this.inputNodes.length} inputs (${this.inputNodes.join(', ')})`);
      named = Object.fromEntries(this.inputNodes.map((k, i) => [k, inputs[i]]));
    } else if (inputs !== null && typeof inputs === 'object') {
      named = inputs;
    } else {
      throw new Error(`${what}: expected a Tensor, a Tensor[] or tensors by input name`);
    }
    const feeds: NamedTensorMap = {};
    for (const [name, t] of Object.entries(named)) {
      const core = this.inputValue.get(name);
      if (core === undefined) throw new Error(`${what}: the model has no input '${name}' (inputs: ${this.inputNodes.join(', ')})`);
      if (!(t instanceof Tensor)) throw new Error(`${what}: input '${name}' is not a kiln.Tensor`);
      feeds[core] = t;
    }
    return feeds;
  }

  private outputList(outputs: string | string[] | undefined, what: string): string[] {
    const list = outputs === undefined ? this.outputNodes : typeof outputs === 'string' ? [outputs] : outputs;
    if (!Array.isArray(list) || list.some((o) => typeof o !== 'string'))
      throw new Error(`${what}: outputs must be an output name or a list of them`);
    return list.map((o) => {
      const core = this.outputValue.get(o);
      if (core === undefined)
        throw new Error(`${what}: '${o}' is not an output of the model (outputs: ${this.outputNodes.join(', ')}); Kiln runs the graph whole and cannot return intermediate values`);
      return core;
    });
  }

  private pick(outputs: Record<string, OnnxOutput>, names: string[]): Tensor | Tensor[] {
    const result: NamedTensorMap = {};  // translated TF graphs only give tensors
    for (const [name, t] of Object.entries(outputs)) {
      if (!(t instanceof Tensor)) throw new Error(`GraphModel: output '${name}' is not a tensor`);
      result[name] = t;
    }
    const wanted = new Set(names);
    for (const [name, t] of Object.entries(result)) if (!wanted.has(name)) t.dispose();
    const list = names.map((n) => result[n]);
    return list.length > 1 ? list : list[0];  // as TF.js: one output is a Tensor even when asked for in a list
  }
}

/**
 * kiln.loadGraphModel: a TF.js graph model (model.json with format
 * "graph-model", or any converted GraphDef) from a URL or an IO handler.
 * Rejects, listing them, a graph with ops Kiln does not translate.
 */
export async function loadGraphModel(pathOrIOHandler: string | IOHandler, options: GraphModelLoadOptions = {}): Promise<GraphModel> {
  checkLoadOptions('loadGraphModel', options, GRAPH_LOAD_OPTIONS);
  let target = pathOrIOHandler;
  if (options.fromTFHub && typeof target === 'string' && !target.endsWith('model.json'))
    target = `${target.replace(/\/$/, '')}/model.json?tfjs-format=file`;
  const { fromTFHub: _, ...ioOptions } = options;
  const handler = resolveHandler('loadGraphModel', target, 'load', ioOptions);
  const artifacts: ModelArtifacts = await handler.load!();
  const topology = artifacts.modelTopology;
  if (topology instanceof ArrayBuffer)
    throw new Error('loadGraphModel: the topology is a binary GraphDef (the pre-1.0 converter format); convert the model again with tensorflowjs_converter to get model.json');
  if (!topology || typeof topology !== 'object' || !Array.isArray((topology as Json).node))
    throw new Error(artifacts.format === 'layers-model' || (topology as Json)?.class_name
      ? 'loadGraphModel: this is a TF.js layers model; load it with kiln.loadLayersModel'
      : 'loadGraphModel: model.json has no GraphDef (a modelTopology with a node list)');
  if ((topology as Json).library?.function?.length)
    throw new Error('loadGraphModel: the graph has functions (control flow from tf.function: While/If bodies); Kiln does not run them yet');
  const initializer = artifacts.modelInitializer as Json | undefined;
  if (initializer && Array.isArray(initializer.node) && initializer.node.length)
    throw new Error('loadGraphModel: the model has an initializer graph (hash tables); Kiln does not run it yet');
  const weights = decodeTypedWeights(weightBuffer(artifacts), artifacts.weightSpecs ?? []);
  const total = weights.reduce((n, w) => n + w.values.byteLength, 0);
  const entries: Json[] = [];
  const m = mod();
  const data = alloc(Math.max(total, 1), 'the graph model\'s weights');
  try {
    let offset = 0;
    for (const w of weights) {
      heapU8().set(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength), data + offset);
      entries.push({ name: w.name, dtype: w.dtype, shape: w.shape, offset });
      offset += w.values.byteLength;
    }
    const manifest = JSON.stringify({ modelTopology: topology, signature: signatureOf(artifacts) ?? null, weights: entries });
    const handle = withCString(manifest, 'the graph model', (ptr) => m._kiln_tfjs_graph_load(ptr, data, total));
    if (!handle) throw coreError('loadGraphModel');
    return new GraphModel(new OnnxSession(handle), artifacts);
  } finally {
    free(data);
  }
}
