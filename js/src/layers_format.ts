// TF.js's layers-model format (a Keras topology in model.json plus weight
// shards), read into and written from Kiln's Layers models:
// kiln.loadLayersModel(pathOrIOHandler) and model.save(handlerOrURL).
// Configs are converted between Keras's snake case and TF.js's camel case with
// TF.js's own rules, so a file TF.js writes loads here and the reverse.
import { Layer, LayerNode, SymbolicTensor, input, layerClassNames, layerFromConfig, serialization } from './layers.js';
import { CompileArgs, LayersModel, Sequential } from './model.js';
import { LOSSES, LossName, METRICS } from './codes.js';
import { OptimizerSpec, train } from './optimizers.js';
import { Tensor } from './tensor.js';
import { toCamelCase, toSnakeCase } from './names.js';
import { dispose, tidy } from './engine.js';
import {
  checkLoadOptions, IOHandler, LoadOptions, ModelArtifacts, resolveHandler, SaveResult, weightBuffer,
} from './io.js';
import { decodeWeights, DecodedWeight, encodeWeights } from './weights_codec.js';

type Json = any;

const isNameItem = (key: string | undefined, i: number, v: unknown) =>
  (key === 'inboundNodes' || key === 'outputLayers' || key === 'inputLayers') && i === 0 && typeof v === 'string';

/** TF.js's convertPythonicToTs: keys and string values to camel case, names kept. */
export function pythonicToTs(v: Json, key?: string): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return toCamelCase(v);
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((item, i) => (isNameItem(key, i, item) ? item : pythonicToTs(item, key)));
  const out: Json = {};
  for (const [k, value] of Object.entries(v)) {
    if (k === 'name' && typeof value === 'string') out[k] = value;
    else out[toCamelCase(k)] = pythonicToTs(value, toCamelCase(k));
  }
  return out;
}

/** TF.js's convertTsToPythonic. */
export function tsToPythonic(v: Json, key?: string): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return toSnakeCase(v);
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((item, i) => (isNameItem(key, i, item) ? item : tsToPythonic(item, key)));
  const out: Json = {};
  for (const [k, value] of Object.entries(v)) {
    if ((k === 'name' || k === 'className') && typeof value === 'string') out[toSnakeCase(k)] = value;
    else out[toSnakeCase(k)] = tsToPythonic(value, k);
  }
  return out;
}

const MODEL_CLASSES = ['Sequential', 'Model', 'Functional'];

/** A layer's config as Kiln takes it, or an error that names the layer. */
function layerConfig(name: string, cls: string, pythonic: Json): Json {
  const config = pythonicToTs(pythonic ?? {});
  const dtype = config.dtype;
  if (dtype !== undefined && dtype !== null && dtype !== 'float32')
    throw new Error(`loadLayersModel: layer '${name}' computes in dtype ${JSON.stringify(dtype)}; Kiln's layers compute in float32`);
  delete config.dtype;
  // Initializers only set the starting weights, which the file's weights
  // replace: a seed of their own changes nothing here, so it is dropped.
  const unseed = (c: Json) => {
    for (const [k, v] of Object.entries(c ?? {}))
      if (k.endsWith('Initializer') && v && typeof v === 'object' && (v as Json).config?.seed != null)
        c[k] = { ...(v as Json), config: { ...(v as Json).config, seed: null } };
  };
  unseed(config);
  if (config.layer?.config) unseed(config.layer.config);
  if (cls === 'InputLayer') return config;
  return config;
}

function batchShapeOf(config: Json): (number | null)[] | undefined {
  return config.batchInputShape ?? config.batchShape;
}

/** Layers with TF.js's classes from a Keras topology; every unknown class is named in one error. */
function checkClasses(layers: Json[]): void {
  const known = new Set([...layerClassNames(), ...MODEL_CLASSES, 'RNN']);  // RNN: over one cell (layerFromConfig)
  const unknown = [...new Set(layers.map((l) => l?.class_name).filter((c) => !known.has(c) && !serialization.registeredClass(c)))];
  if (unknown.length)
    throw new Error(`loadLayersModel: the model uses layer classes Kiln does not have: ${unknown.join(', ')} (a custom layer class must be registered with kiln.serialization.registerClass first)`);
  const nested = layers.filter((l) => MODEL_CLASSES.includes(l.class_name));
  if (nested.length)
    throw new Error(`loadLayersModel: models nested as layers are not supported (${nested.map((l) => l.config?.name ?? l.name).join(', ')})`);
}

function sequentialFrom(config: Json, seed?: number): Sequential {
  const list: Json[] = Array.isArray(config) ? config : config.layers;
  if (!Array.isArray(list)) throw new Error('loadLayersModel: a Sequential topology needs config.layers');
  checkClasses(list);
  const model = new Sequential({ seed });
  let pendingShape: (number | null)[] | undefined;
  for (const l of list) {
    const name = l.config?.name ?? l.name;
    const c = layerConfig(name, l.class_name, l.config);
    if (l.class_name === 'InputLayer') {
      pendingShape = batchShapeOf(c);
      continue;
    }
    if (pendingShape && !batchShapeOf(c) && !c.inputShape) c.batchInputShape = pendingShape;
    pendingShape = undefined;
    model.add(layerFromConfig(l.class_name, c));
  }
  return model;
}

function functionalFrom(config: Json, seed?: number): LayersModel {
  const list: Json[] = config.layers;
  if (!Array.isArray(list)) throw new Error('loadLayersModel: a functional topology needs config.layers');
  checkClasses(list);
  const created = new Map<string, { layer: Layer | null; outputs: SymbolicTensor[][]; nodes: Json[] }>();
  for (const l of list) {
    const name = l.name ?? l.config?.name;
    if (typeof name !== 'string') throw new Error('loadLayersModel: every layer needs a name');
    if (created.has(name)) throw new Error(`loadLayersModel: two layers are named '${name}'`);
    const c = layerConfig(name, l.class_name, l.config);
    if (l.class_name === 'InputLayer') {
      const shape = batchShapeOf(c);
      if (!Array.isArray(shape)) throw new Error(`loadLayersModel: input '${name}' has no batch_input_shape`);
      created.set(name, { layer: null, outputs: [[input({ batchShape: shape, name })]], nodes: [] });
    } else {
      const nodes = l.inbound_nodes ?? [];
      if (!Array.isArray(nodes)) throw new Error(`loadLayersModel: layer '${name}': inbound_nodes must be a list`);
      created.set(name, { layer: layerFromConfig(l.class_name, { ...c, name }), outputs: [], nodes: [...nodes] });
    }
  }
  // Apply each node once its inputs exist (shared layers may sit at several depths).
  let progress = true;
  while (progress) {
    progress = false;
    for (const [name, entry] of created) {
      while (entry.nodes.length) {
        const node: Json[] = entry.nodes[0];
        if (!Array.isArray(node)) throw new Error(`loadLayersModel: layer '${name}': a node must be a list of inputs`);
        const ins: SymbolicTensor[] = [];
        for (const ref of node) {
          if (!Array.isArray(ref) || ref.length < 3) throw new Error(`loadLayersModel: layer '${name}': an input must be [layer, node, tensor, kwargs]`);
          const [src, ni, ti, kwargs] = ref;
          if (kwargs && typeof kwargs === 'object' && Object.keys(kwargs).length)
            throw new Error(`loadLayersModel: layer '${name}' is called with arguments ${JSON.stringify(kwargs)}, which Kiln does not support`);
          const from = created.get(src);
          if (!from) throw new Error(`loadLayersModel: layer '${name}' reads from '${src}', which is not in the model`);
          const t = from.outputs[ni]?.[ti];
          if (!t) break;
          ins.push(t);
        }
        if (ins.length !== node.length) break;
        const out = entry.layer!.apply(ins.length === 1 ? ins[0] : ins);
        entry.outputs.push(Array.isArray(out) ? out : [out]);
        entry.nodes.shift();
        progress = true;
      }
    }
  }
  const stuck = [...created].filter(([, e]) => e.nodes.length).map(([n]) => n);
  if (stuck.length) throw new Error(`loadLayersModel: the inputs of ${stuck.join(', ')} never become available (a cycle or a missing layer)`);
  const pick = (refs: Json, what: string): SymbolicTensor[] => {
    if (!Array.isArray(refs)) throw new Error(`loadLayersModel: ${what} must be a list`);
    return refs.map(([name, ni, ti]: Json[]) => {
      const t = created.get(name)?.outputs[ni]?.[ti];
      if (!t) throw new Error(`loadLayersModel: ${what} names '${name}' [${ni}, ${ti}], which the model does not have`);
      return t;
    });
  };
  const inputs = pick(config.input_layers, 'input_layers'), outputs = pick(config.output_layers, 'output_layers');
  const order = [...created.values()].map((e) => e.layer ?? e.outputs[0][0].node.layer);
  return new LayersModel({ inputs, outputs, seed, layerOrder: order });
}

/** A Kiln model (not yet built) from a Keras / TF.js topology. */
export function modelFromTopology(topology: Json, seed?: number): LayersModel {
  if (topology instanceof ArrayBuffer) throw new Error('loadLayersModel: the topology is a binary GraphDef; this is a graph model, not a layers model');
  let t = topology;
  if (t?.model_config) t = t.model_config;  // older converters nest it
  if (!t || typeof t !== 'object') throw new Error('loadLayersModel: modelTopology must be an object');
  const cls = t.class_name ?? t.className;
  if (cls === 'Sequential') return sequentialFrom(t.config, seed);
  if (cls === 'Model' || cls === 'Functional') return functionalFrom(t.config, seed);
  throw new Error(`loadLayersModel: unknown model class '${cls}' (Sequential, Model or Functional)`);
}

/** The file's weights written into the built model, matched to each layer's by name. */
function assignWeights(model: LayersModel, weights: DecodedWeight[], strict: boolean): void {
  tidy(() => assignWeightsInScope(model, weights, strict));  // the tensors made on the way are disposed
}

function assignWeightsInScope(model: LayersModel, weights: DecodedWeight[], strict: boolean): void {
  const layerOf = (weightName: string): Layer | undefined => {
    let best: Layer | undefined;
    for (const l of model.layers)
      if (weightName.startsWith(`${l.name}/`) && (!best || l.name.length > best.name.length)) best = l;
    return best;
  };
  const byLayer = new Map<Layer, DecodedWeight[]>();
  const orphans: string[] = [];
  for (const w of weights) {
    const l = layerOf(w.name);
    if (!l) orphans.push(w.name);
    else byLayer.set(l, [...(byLayer.get(l) ?? []), w]);
  }
  if (strict && orphans.length) throw new Error(`loadLayersModel: the file has weights no layer of the model owns: ${orphans.join(', ')}`);
  const leaf = (n: string) => n.slice(n.lastIndexOf('/') + 1).replace(/:\d+$/, '');
  const plan: [Layer, Tensor[]][] = [];
  for (const layer of model.layers) {
    const names = model.layerWeightNames(layer);
    if (!names.length) continue;
    const pool = [...(byLayer.get(layer) ?? [])];
    const found: Tensor[] = [];
    // Not strict (TF.js's strict: false): a weight the file lacks keeps its value.
    const current = strict ? [] : layer.getWeights();
    // Keras 3 exports name weights by position ("dense/0", "dense/1").
    const byPosition = pool.length > 0 && pool.every((w) => /^\d+$/.test(leaf(w.name)));
    names.forEach((n, k) => {
      const i = byPosition ? pool.findIndex((w) => leaf(w.name) === String(k)) : pool.findIndex((w) => leaf(w.name) === leaf(n));
      if (i < 0) {
        if (!strict) return void found.push(current[k]);
        throw new Error(`loadLayersModel: the file has no weight '${leaf(n)}' for layer '${layer.name}' (it has: ${(byLayer.get(layer) ?? []).map((w) => w.name).join(', ') || 'none'})`);
      }
      found.push(new Tensor(pool[i].values, pool[i].shape));
      pool.splice(i, 1);
    });
    if (strict && pool.length) throw new Error(`loadLayersModel: layer '${layer.name}' has no place for the file's ${pool.map((w) => w.name).join(', ')}`);
    plan.push([layer, found]);
  }
  // Every layer's weights are checked (shapes, finite values) before the first write.
  for (const [layer, ws] of plan) model.checkLayerWeights(layer, ws);
  for (const [layer, ws] of plan) layer.setWeights(ws);
}

// Optimizer config fields that change nothing Kiln computes (names, and
// Keras 3's switches at their off values).
const INERT = (k: string, v: unknown) => v === null || v === false || k === 'name' || k === 'emaMomentum' || k === 'isLegacyOptimizer';

/** The kiln.train optimizer a saved TF.js / Keras optimizer config describes, or why there is none. */
function optimizerFrom(opt: Json): { spec?: OptimizerSpec; why?: string } {
  const cls = String(opt?.class_name ?? opt?.className ?? '').toLowerCase();
  const c: Json = pythonicToTs(opt?.config ?? {});
  const lr = c.learningRate ?? c.lr;
  if (typeof lr !== 'number') return { why: `optimizer ${JSON.stringify(opt?.class_name)} without a numeric learning rate` };
  const used = new Set(['learningRate', 'lr']);
  const take = <T>(key: string, dflt: T): T => {
    used.add(key);
    return c[key] ?? dflt;
  };
  let spec: OptimizerSpec | undefined;
  if (cls === 'sgd' && !c.momentum) { take('momentum', 0); take('nesterov', false); spec = train.sgd(lr); }
  else if (cls === 'sgd' || cls === 'momentum') spec = train.momentum(lr, take('momentum', 0), take('useNesterov', take('nesterov', false)));
  else if (cls === 'adam') spec = train.adam(lr, take('beta1', 0.9), take('beta2', 0.999), take('epsilon', 1e-7));
  else if (cls === 'adamax') spec = train.adamax(lr, take('beta1', 0.9), take('beta2', 0.999), take('epsilon', 1e-7), take('decay', 0));
  else if (cls === 'adagrad') spec = train.adagrad(lr, take('initialAccumulatorValue', 0.1));
  else if (cls === 'adadelta') spec = train.adadelta(lr, take('rho', 0.95), take('epsilon', 1e-7));
  else if (cls === 'rmsprop') spec = train.rmsprop(lr, take('decay', take('rho', 0.9)), take('momentum', 0), take('epsilon', 1e-7), take('centered', false));
  else return { why: `optimizer ${JSON.stringify(opt?.class_name)}` };
  const left = Object.entries(c).filter(([k, v]) => !used.has(k) && !INERT(k, v)).map(([k]) => k);
  if (left.length) return { why: `optimizer settings ${left.join(', ')}` };
  return { spec };
}

/** compile() arguments for a saved training config, or the reason it cannot be used. */
function compileArgsFrom(tc: Json): { args?: CompileArgs; why?: string } {
  const loss = typeof tc?.loss === 'string' ? toCamelCase(tc.loss) : undefined;
  if (!loss || !(LOSSES as readonly string[]).includes(loss)) return { why: `loss ${JSON.stringify(tc?.loss)}` };
  const { spec, why } = optimizerFrom(tc.optimizer_config);
  if (!spec) return { why };
  const metrics = (Array.isArray(tc.metrics) ? tc.metrics : []).map((m: unknown) => (m === 'acc' ? 'accuracy' : typeof m === 'string' ? toCamelCase(m) : m));
  const bad = metrics.filter((m: unknown) => typeof m !== 'string' || !(METRICS as readonly string[]).includes(m));
  if (bad.length) return { why: `metrics ${JSON.stringify(bad)}` };
  return { args: { optimizer: spec, loss: loss as LossName, metrics } };
}

/** kiln.loadLayersModel: a TF.js layers model (model.json + weights) as a Kiln model. */
export async function loadLayersModel(pathOrIOHandler: string | IOHandler, options: LoadOptions = {}): Promise<LayersModel> {
  checkLoadOptions('loadLayersModel', options);
  const handler = resolveHandler('loadLayersModel', pathOrIOHandler, 'load', options);
  const artifacts: ModelArtifacts = await handler.load!();
  if (artifacts.format === 'graph-model')
    throw new Error('loadLayersModel: this file is a TF.js graph model (format "graph-model"); load it with kiln.loadGraphModel');
  const model = modelFromTopology(artifacts.modelTopology);
  const weights = decodeWeights(weightBuffer(artifacts), artifacts.weightSpecs ?? []);
  model.build();
  try {
    assignWeights(model, weights, options.strict ?? true);
    if (artifacts.trainingConfig) {
      const { args, why } = compileArgsFrom(artifacts.trainingConfig);
      if (args) model.compile(args);
      else console.warn(`kiln: loadLayersModel left the model uncompiled: its training config uses ${why}, which Kiln cannot map; call compile()`);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The model's Keras topology, as TF.js's model.toJSON(null, false) gives it. */
export function kerasTopology(model: LayersModel): Json {
  const topo = JSON.parse(model.toJSON());
  const layers: Json[] = topo.layers;
  const nodes: { layer: number; inputs: [number, number][] }[] = topo.nodes;
  const nameOf = (i: number) => layers[i].config.name as string;
  const meta = { keras_version: 'kiln 0.1.0', backend: 'tensor_flow.js' };
  const inputConfig = (l: Json) => ({
    batch_input_shape: [null, ...(l.config.shape ?? (l.config.batchInputShape ?? []).slice(1))],
    dtype: 'float32', sparse: false, name: l.config.name,
  });
  const pyConfig = (l: Json) => {
    const c = tsToPythonic({ ...l.config });
    c.name = l.config.name;
    return c;
  };
  if (topo.className === 'Sequential') {
    const inputNode = nodes.find((n) => layers[n.layer].className === 'InputLayer');
    const body = layers.filter((l) => l.className !== 'InputLayer').map((l) => ({ class_name: l.className, config: pyConfig(l) }));
    if (inputNode && body.length) body[0].config = { batch_input_shape: inputConfig(layers[inputNode.layer]).batch_input_shape, dtype: 'float32', ...body[0].config };
    return { class_name: 'Sequential', config: { name: model.name, layers: body }, ...meta };
  }
  // Each node's index among its layer's applications (Keras's node_index).
  const seen = new Map<number, number>();
  const nodeIndex = nodes.map((n) => {
    const k = seen.get(n.layer) ?? 0;
    seen.set(n.layer, k + 1);
    return k;
  });
  const ref = ([node, k]: [number, number]) => [nameOf(nodes[node].layer), nodeIndex[node], k];
  const out = layers.map((l, li) => ({
    name: l.config.name,
    class_name: l.className,
    config: l.className === 'InputLayer' ? inputConfig(l) : pyConfig(l),
    inbound_nodes: nodes.filter((n) => n.layer === li && n.inputs.length).map((n) => n.inputs.map((r) => [...ref(r), {}])),
  }));
  return {
    class_name: 'Model',
    config: {
      name: model.name, layers: out,
      input_layers: topo.inputs.map((i: number) => [nameOf(nodes[i].layer), nodeIndex[i], 0]),
      output_layers: topo.outputs.map((r: [number, number]) => ref(r)),
    },
    ...meta,
  };
}

/** model.save(handlerOrURL): TF.js's layers format through any IO handler. */
export async function saveLayersModel(model: LayersModel, target: string | IOHandler, config: Json = {}): Promise<SaveResult> {
  if (config === null || typeof config !== 'object') throw new Error('model.save: the second argument must be an options object');
  for (const key of Object.keys(config))
    if (key !== 'includeOptimizer' || config[key]) throw new Error(`model.save: option '${key}' is not supported in TF.js's format (Kiln's own format keeps the optimizer: model.save({includeOptimizer: true}))`);
  const handler = resolveHandler('model.save', target, 'save');
  const weights = model.namedWeights();
  const named: DecodedWeight[] = weights.map(({ name, tensor }) => ({ name, shape: tensor.shape, values: tensor.dataSync() as Float32Array }));
  dispose(weights.map((w) => w.tensor));  // their values are in `named`
  const { data, specs } = encodeWeights(named);
  const artifacts: ModelArtifacts = {
    modelTopology: kerasTopology(model), format: 'layers-model', generatedBy: 'Kiln 0.1.0', convertedBy: null,
    weightSpecs: specs, weightData: data,
  };
  return handler.save!(artifacts);
}

export type { LayerNode };
