// Models with TF.js's Layers API (compile, fit, predict, evaluate, save):
// LayersModel (functional: kiln.model({inputs, outputs})) and Sequential, over
// a C++ model handle in the wasm heap. The model's topology travels as JSON.

import type { PlanPlacement } from './compute_backends.js';
import { mod, coreError, heapF32, heapU8, heapU32, heapI32, alloc, free, copyIn, withCString } from './backend.js';
import { LOSSES, LossName, METRICS, codeOf } from './codes.js';
import { Layer, LayerNode, LayerOwner, LayerVariable, StackedRNN, SymbolicTensor, input, inputOf, layerFromConfig, setEagerLayerRunner } from './layers.js';
import { claimCreatedLayer, insideCustomCall, withCustomLayers } from './custom_layers.js';
import { OptimizerKind, OptimizerSpec, optimizerFields, optimizerFromFields, resolveOptimizer } from './optimizers.js';
import { Tensor, float32Data, scalar } from './tensor.js';
import { concat, slice } from './ops.js';
import type { IOHandler, SaveResult } from './io.js';
import { uniqueModelName } from './names.js';
import { dispose } from './engine.js';
import { Dataset } from './data.js';
import { kerasTopology, pythonicToTs, saveLayersModel } from './layers_format.js';
import { callModel, CallableModel } from './model_call.js';
import { activeTape } from './tape.js';
import { registerVariableSource, Variable } from './variable.js';
import { layerWeightVariables } from './weight_variables.js';

export interface CompileArgs {
  optimizer: OptimizerKind | OptimizerSpec;
  loss: LossName;
  metrics?: string[];
}

export type Logs = Record<string, number>;
export interface Callbacks {
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs?: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs?: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs?: Logs): void | Promise<void>;
}

export interface FitArgs {
  /** The epoch to stop before: with initialEpoch, trains epochs initialEpoch .. epochs - 1 (TF.js). */
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  validationData?: [Tensor | Tensor[], Tensor | Tensor[]];
  /** A fraction in (0, 1): the last samples of x and y (before shuffling) are held out and evaluated after each epoch (TF.js). */
  validationSplit?: number;
  /** The epoch to start at (its index in the history and callbacks), to resume a training run. */
  initialEpoch?: number;
  callbacks?: Callbacks | Callbacks[];
  /**
   * When to yield to the event loop so pages stay responsive: milliseconds
   * between yields (default 25), 'auto' (every 125 ms, as TF.js), 'batch',
   * 'epoch' or 'never'.
   */
  yieldEvery?: number | 'auto' | 'batch' | 'epoch' | 'never';
  /** 0 (default): silent; 1: one line per epoch with the logs, on the console. */
  verbose?: 0 | 1;
}

export interface FitDatasetArgs {
  epochs?: number;
  batchesPerEpoch?: number;
  initialEpoch?: number;
  callbacks?: Callbacks | Callbacks[];
  validationData?: [Tensor | Tensor[], Tensor | Tensor[]] | Dataset<any>;
  validationBatches?: number;
  yieldEvery?: FitArgs['yieldEvery'];
  verbose?: 0 | 1;
}
const FIT_DATASET_ARGS = ['epochs', 'batchesPerEpoch', 'initialEpoch', 'callbacks', 'validationData', 'validationBatches', 'yieldEvery', 'verbose'];

const FIT_ARGS = ['epochs', 'batchSize', 'shuffle', 'validationData', 'validationSplit', 'initialEpoch', 'callbacks', 'yieldEvery', 'verbose'];
// TF.js fit arguments Kiln does not implement: refused, never ignored.
const FIT_ARGS_REFUSED: Record<string, string> = {
  classWeight: 'class weights are not supported; weight the loss through the data (repeat or drop samples)',
  sampleWeight: 'sample weights are not supported (TF.js refuses them too)',
  stepsPerEpoch: 'applies to datasets; with tensors an epoch is one pass over x',
  validationSteps: 'applies to datasets; with tensors validation is one pass over the validation data',
};

/** An options object whose keys are all among `known` (undefined values aside). */
function checkKeys(what: string, args: object, known: string[]): void {
  if (args === null || typeof args !== 'object') throw new Error(`${what}: options must be an object`);
  for (const [key, value] of Object.entries(args))
    if (value !== undefined && !known.includes(key)) throw new Error(`${what}: unknown argument '${key}' (supported: ${known.join(', ')})`);
}

/** The fit arguments, checked: an unknown or unsupported one is an error, never ignored. */
/**
 * What fit() and fitDataset() share: the callbacks (each handed the model,
 * as TF.js does), yielding to the event loop, the epoch's running sums of
 * loss and metrics, the history and the verbose line.
 */
class TrainingRun {
  readonly history: History = { epoch: [], history: {} };
  private readonly callbacks: Callbacks[];
  private readonly yieldMs: number;
  private lastYield = performance.now();
  private lossSum = 0;
  private seen = 0;
  private metricSums: number[];

  constructor(private readonly model: LayersModel, callbacks: Callbacks | Callbacks[] | undefined,
    private readonly yieldEvery: FitArgs['yieldEvery'] = 25, private readonly verbose: number, private readonly epochs: number) {
    this.callbacks = Array.isArray(callbacks) ? callbacks : callbacks ? [callbacks] : [];
    // TF.js hands each callback the model (EarlyStopping sets model.stopTraining).
    for (const c of this.callbacks) if (typeof (c as { setModel?: unknown }).setModel === 'function') (c as { setModel(m: LayersModel): void }).setModel(model);
    const y = this.yieldEvery;
    this.yieldMs = typeof y === 'number' ? y : y === 'auto' ? 125 : y === 'batch' ? 0 : Infinity;
    this.metricSums = [];
  }

  async call(name: keyof Callbacks, ...a: any[]): Promise<void> {
    for (const c of this.callbacks) if (c[name]) await (c[name] as any)(...a);
  }

  async epochBegin(epoch: number, metrics: number): Promise<void> {
    this.lossSum = 0;
    this.seen = 0;
    this.metricSums = new Array<number>(metrics).fill(0);
    await this.call('onEpochBegin', epoch, {});
  }

  /** A trained batch of `count` samples: its loss and metrics enter the epoch's means. */
  async batchEnd(batch: number, count: number, loss: number, values: ArrayLike<number>, logs: Logs): Promise<void> {
    this.lossSum += loss * count;
    Array.from(values).forEach((v, i) => (this.metricSums[i] += v * count));
    this.seen += count;
    await this.call('onBatchEnd', batch, { batch, size: count, ...logs });
    if (this.yieldEvery === 'batch' || performance.now() - this.lastYield > this.yieldMs) await this.pause();
  }

  /** The epoch's mean loss and metrics (null when no batch ran). */
  means(): { loss: number; metrics: number[] } | null {
    return this.seen ? { loss: this.lossSum / this.seen, metrics: this.metricSums.map((v) => v / this.seen) } : null;
  }

  async epochEnd(epoch: number, logs: Logs): Promise<void> {
    this.history.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history.history[k] ??= []).push(v);
    if (this.verbose) console.log(`Epoch ${epoch + 1} / ${this.epochs}: ${Object.entries(logs).map(([k, v]) => `${k} ${Number(v).toFixed(4)}`).join(', ')}`);
    await this.call('onEpochEnd', epoch, logs);
    if (this.yieldEvery === 'epoch') await this.pause();
  }

  private async pause(): Promise<void> {
    await yieldToEventLoop();
    this.lastYield = performance.now();
  }
}

function checkFitArgs(args: FitArgs): void {
  if (args === null || typeof args !== 'object') throw new Error('fit: options must be an object');
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || (value === null && key in FIT_ARGS_REFUSED)) continue;
    if (key in FIT_ARGS_REFUSED) throw new Error(`fit: ${key}: ${FIT_ARGS_REFUSED[key]}`);
    if (!FIT_ARGS.includes(key)) throw new Error(`fit: unknown argument '${key}' (supported: ${FIT_ARGS.join(', ')})`);
  }
  const split = args.validationSplit;
  if (split !== undefined && !(typeof split === 'number' && split > 0 && split < 1))
    throw new Error(`fit: validationSplit must be a number between 0 and 1 (exclusive), got ${split}`);
  if (split !== undefined && args.validationData)
    throw new Error('fit: give validationData or validationSplit, not both');
  const y = args.yieldEvery;
  if (y !== undefined && !(typeof y === 'number' && y >= 0) && !['auto', 'batch', 'epoch', 'never'].includes(y as string))
    throw new Error(`fit: yieldEvery must be milliseconds (>= 0), 'auto', 'batch', 'epoch' or 'never', got ${String(y)}`);
}

/** The first `at` samples and the rest (views of the same data; the core copies what it reads). */
function splitSamples(t: Tensor, at: number): [Tensor, Tensor] {
  const values = t.dataSync();
  const row = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const rest = t.shape.slice(1);
  return [new Tensor(values.subarray(0, at * row), [at, ...rest], t.dtype),
    new Tensor(values.subarray(at * row), [t.shape[0] - at, ...rest], t.dtype)];
}

export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}

const registry = typeof FinalizationRegistry !== 'undefined'
  ? new FinalizationRegistry<number>((handle) => { try { mod()._kiln_model_free(handle); } catch { /* module gone */ } })
  : null;

const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

type Data = Tensor | Tensor[];
const asList = (d: Data): Tensor[] => (Array.isArray(d) ? d : [d]);

/** Topology JSON (src/api/model.h) of the graph from `inputs` to `outputs`. */
function topologyOf(inputs: SymbolicTensor[], outputs: SymbolicTensor[], sequential: boolean, order?: Layer[]): { json: string; layers: Layer[] } {
  const nodes: LayerNode[] = [];
  const visit = (n: LayerNode, path: Set<LayerNode>) => {
    if (nodes.includes(n)) return;
    if (path.has(n)) throw new Error('model: the layer graph has a cycle');
    path.add(n);
    for (const t of n.inputs) visit(t.node, path);
    path.delete(n);
    nodes.push(n);
  };
  for (const t of outputs) visit(t.node, new Set());
  const layerList: Layer[] = [];
  for (const n of nodes) if (!layerList.includes(n.layer)) layerList.push(n.layer);
  // A loaded file's layer order, so getWeights() lists weights as the file (and TF.js) does.
  if (order) {
    const rank = (l: Layer) => { const i = order.indexOf(l); return i < 0 ? order.length : i; };
    layerList.sort((a, b) => rank(a) - rank(b));
  }
  for (const t of inputs)
    if (t.node.layer.className !== 'InputLayer') throw new Error('model: inputs must come from kiln.input()');
  for (const n of nodes)
    if (n.layer.className === 'InputLayer' && !inputs.some((t) => t.node === n))
      throw new Error(`model: the outputs depend on the input '${n.layer.name}', which is not in 'inputs'`);
  const ref = (t: SymbolicTensor) => [nodes.indexOf(t.node), t.index];
  const topo = {
    className: sequential ? 'Sequential' : 'Model',
    layers: layerList.map((l) => l.toJSON()),
    nodes: nodes.map((n) => ({ layer: layerList.indexOf(n.layer), inputs: n.inputs.map(ref) })),
    inputs: inputs.map((t) => nodes.indexOf(t.node)),
    outputs: outputs.map(ref),
  };
  return { json: JSON.stringify(topo), layers: layerList.filter((l) => !(sequential && l.className === 'InputLayer')) };
}

// predict/evaluate's {batchSize} (TF.js's), checked; 0 when absent (the core's default).
function rowsAtOnce(what: string, args: { batchSize?: number } | undefined): number {
  if (args === null || typeof args !== 'object') throw new Error(`${what}: options must be an object`);
  for (const key of Object.keys(args))
    if (key !== 'batchSize') throw new Error(`${what}: unknown option '${key}' (the option is batchSize)`);
  const b = args.batchSize;
  if (b === undefined) return 0;
  if (!Number.isInteger(b) || b <= 0) throw new Error(`${what}: batchSize must be a positive integer, got ${b}`);
  return b;
}

export type { LayerVariable } from './layers.js';
/** A model's input or output: a symbolic tensor whose shape is known ([null, ...]). */
export type ShapedSymbolicTensor = SymbolicTensor & { readonly shape: (number | null)[] };

export class LayersModel {
  layers: Layer[] = [];
  /** The model's name: given, or TF.js's automatic one ('sequential_1', 'model1'). */
  readonly name: string;
  /** Set to true (e.g. from a callback) to stop fit() after the current batch. */
  stopTraining = false;
  protected handle = 0;
  private compileArgs: CompileArgs | null = null;
  private metricNames: string[] = [];
  private busy = false;
  private disposed = false;
  protected readonly seed: number | undefined;
  protected symbolicInputs: SymbolicTensor[] = [];
  protected symbolicOutputs: SymbolicTensor[] = [];
  private layerOrder: Layer[] | undefined;

  /** `seed` (a Kiln extension) fixes the initializers and the shuffling order. */
  /** `layerOrder` (internal: loaders) lists the layers in the order the model keeps them. */
  constructor(args: { inputs?: SymbolicTensor | SymbolicTensor[]; outputs?: SymbolicTensor | SymbolicTensor[]; seed?: number; name?: string;
                      layerOrder?: Layer[] } = {}) {
    if (args.seed !== undefined && (!Number.isInteger(args.seed) || args.seed < 0))
      throw new Error(`model: seed must be a non-negative integer, got ${args.seed}`);
    if (args.name !== undefined && (typeof args.name !== 'string' || args.name === ''))
      throw new Error(`model: name must be a non-empty string, got ${String(args.name)}`);
    this.seed = args.seed;
    this.name = args.name ?? uniqueModelName(new.target === LayersModel ? 'functional' : 'sequential');
    if (args.inputs !== undefined || args.outputs !== undefined) {
      if (!args.inputs || !args.outputs) throw new Error('model: needs both inputs and outputs');
      this.symbolicInputs = Array.isArray(args.inputs) ? args.inputs : [args.inputs];
      this.symbolicOutputs = Array.isArray(args.outputs) ? args.outputs : [args.outputs];
      this.layerOrder = args.layerOrder;
      this.layers = topologyOf(this.symbolicInputs, this.symbolicOutputs, false, this.layerOrder).layers;
      for (const l of this.layers) l.container ??= this;
    }
  }

  get built(): boolean { return this.handle !== 0; }
  private shapes(count: (h: number) => number, rank: (h: number, i: number) => number, dim: (h: number, i: number, d: number) => number): (number | null)[][] {
    this.ensureBuilt();
    const out: (number | null)[][] = [];
    for (let i = 0; i < count(this.handle); i++) {
      const s: (number | null)[] = [null];
      for (let d = 0; d < rank(this.handle, i); d++) s.push(dim(this.handle, i, d));
      out.push(s);
    }
    return out;
  }
  /** The symbolic inputs, as TF.js's model.inputs (shape [null, ...]): new models and apply() take them. */
  get inputs(): ShapedSymbolicTensor[] {
    const m = mod();
    const shapes = this.shapes(m._kiln_model_num_inputs, m._kiln_model_input_rank, m._kiln_model_input_dim);
    return this.graphInputs().map((t, i) => (t.shape ? t as ShapedSymbolicTensor : new SymbolicTensor(t.node, t.index, shapes[i]) as ShapedSymbolicTensor));
  }
  /** The symbolic outputs, as TF.js's model.outputs, with their shapes. */
  get outputs(): ShapedSymbolicTensor[] {
    const m = mod();
    const shapes = this.shapes(m._kiln_model_num_outputs, m._kiln_model_output_rank, m._kiln_model_output_dim);
    return this.graphOutputs().map((t, k) => new SymbolicTensor(t.node, t.index, shapes[k]) as ShapedSymbolicTensor);
  }
  /** Features per sample of the (first) input and output. */
  get inputDim(): number { return (this.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1); }
  get outputDim(): number { return (this.outputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1); }

  /** Builds the C++ model (done on first use; exposed for TF.js parity). */
  build(): void {
    this.ensureBuilt();
  }

  /** @internal The topology JSON this model builds from. */
  protected topology(): string {
    return topologyOf(this.symbolicInputs, this.symbolicOutputs, false, this.layerOrder).json;
  }

  protected ensureBuilt(): true {
    if (this.handle) {
      this.takeSharedWeights();
      return true;
    }
    // TF.js throws here too; rebuilding would hand back fresh random weights.
    if (this.disposed) throw new Error('the model was disposed; build or load a new one');
    const seed = this.seed ?? (Math.random() * 2 ** 32) >>> 0;
    const handle = withCustomLayers(this.layers, () =>
      withCString(this.topology(), 'the model topology', (ptr) => mod()._kiln_model_create(ptr, seed >>> 0)));
    if (!handle) throw coreError('model');
    // Layers already built in another model (an imported base under a new
    // head) bring their weights: this model starts from them, not afresh.
    const previous = this.layers.map((l) => l.owner);
    this.adopt(handle);
    this.layers.forEach((l, i) => {
      const from = previous[i];
      if (from && from !== this) this.copyLayerWeights(from, l);
    });
    return true;
  }

  // A layer this model shares with another (a base under a new head, a model
  // used as a layer) may have trained there since: its weights come back
  // from the model that holds them now, so both see the same values, as
  // TF.js's shared layers do.
  private takeSharedWeights(): void {
    for (const l of this.layers) {
      const from = l.owner;
      if (!from || from === this) continue;
      this.copyLayerWeights(from, l);
      l.owner = this;
    }
  }

  private copyLayerWeights(from: LayerOwner, layer: Layer): void {
    const weights = from.layerWeights(layer);
    try {
      this.setLayerWeights(layer, weights);
    } finally {
      dispose(weights);
    }
  }

  /** @internal Takes ownership of a C++ model handle. */
  adopt(handle: number): void {
    this.handle = handle;
    registry?.register(this, handle, this);
    for (const l of this.layers) l.owner = this;
    registerVariableSource(this);
  }

  /** @internal The weights as Variables (TF.js's LayerVariable values), in getWeights order. */
  weightVariables(): Variable[] {
    if (!this.handle) return [];
    this.takeSharedWeights();
    const out: Variable[] = [];
    for (const l of this.layers) {
      const vars = layerWeightVariables(l);
      this.weightsOf(l).forEach((i, k) => (out[i] = vars[k]));
    }
    return out;
  }

  // What model_call.ts needs of this model.
  private callable(): CallableModel {
    const self = this;
    return {
      name: this.name,
      get handle() { return self.handle; },
      outputShapes: (n) => self.outputs.map((o) => [n, ...(o.shape.slice(1) as number[])]),
      weightVariables: () => self.weightVariables(),
      predictTensors: (xs) => asList(self.predictUnrecorded(xs, 0)),
    };
  }

  /**
   * The model run on tensors (TF.js's model.call): `training` (default
   * false) turns dropout, noise and batch statistics on, as in fit. Inside
   * kiln.grad, variableGrads or optimizer.minimize the call is differentiable
   * with respect to its inputs and the model's trainable weights.
   */
  call(inputs: Tensor | Tensor[], kwargs: { training?: boolean } = {}): Tensor | Tensor[] {
    if (kwargs === null || typeof kwargs !== 'object') throw new Error(`${this.name}.apply: kwargs must be an object`);
    for (const key of Object.keys(kwargs))
      if (key !== 'training') throw new Error(`${this.name}.apply: unknown argument '${key}' (the argument is training)`);
    if (kwargs.training !== undefined && typeof kwargs.training !== 'boolean')
      throw new Error(`${this.name}.apply: training must be true or false, got ${String(kwargs.training)}`);
    this.ensureBuilt();
    const xs = asList(inputs);
    this.checkData(`${this.name}.apply`, xs);
    const outs = callModel(this.callable(), xs, kwargs.training ?? false);
    return outs.length === 1 ? outs[0] : outs;
  }

  /**
   * The model used as a layer (TF.js's model.apply on symbolic tensors):
   * its layers are applied again to `inputs`, so the new model shares
   * their weights (as TF.js's nested models do) and lists them itself.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor | SymbolicTensor[];
  /** On tensors: call() (TF.js's model.apply(tensor, {training})). */
  apply(inputs: Tensor | Tensor[], kwargs?: { training?: boolean }): Tensor | Tensor[];
  apply(inputs: SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[], kwargs?: { training?: boolean }): SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[] {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length > 0 && list.every((t) => t instanceof Tensor)) return this.call(list as Tensor[], kwargs);
    if (list.some((t) => t instanceof Tensor))
      throw new Error(`${this.name}.apply: inputs must be all symbolic tensors (from kiln.input or another layer) or all tensors`);
    if (kwargs !== undefined) throw new Error(`${this.name}.apply: kwargs apply to tensors; on symbolic tensors the training mode is set by fit and predict`);
    const own = this.graphInputs();
    if (list.length !== own.length) throw new Error(`${this.name}.apply: the model takes ${own.length} input(s), got ${list.length}`);
    for (const t of list)
      if (!(t instanceof SymbolicTensor)) throw new Error(`${this.name}.apply: inputs must be symbolic tensors (from kiln.input or another layer) or tensors`);
    const mapped = new Map<SymbolicTensor, SymbolicTensor>(own.map((t, i) => [t, list[i] as SymbolicTensor]));
    const resolve = (t: SymbolicTensor): SymbolicTensor => {
      const done = mapped.get(t);
      if (done) return done;
      const node = t.node;
      const out = node.layer.apply(node.inputs.map(resolve));
      (Array.isArray(out) ? out : [out]).forEach((o, k) => mapped.set(node.outputs[k], o));
      return mapped.get(t)!;
    };
    const outs = this.graphOutputs().map(resolve);
    return outs.length === 1 ? outs[0] : outs;
  }

  /** @internal The symbolic inputs and outputs apply() replays. */
  protected graphInputs(): SymbolicTensor[] {
    this.ensureBuilt();
    return this.symbolicInputs;
  }
  protected graphOutputs(): SymbolicTensor[] {
    this.ensureBuilt();
    return this.symbolicOutputs;
  }

  /** The symbolic input(s), to build a new model on this one's layers (TF.js's model.input). */
  get input(): SymbolicTensor | SymbolicTensor[] {
    this.ensureBuilt();
    return this.symbolicInputs.length === 1 ? this.symbolicInputs[0] : this.symbolicInputs;
  }
  /** The symbolic output(s) (TF.js's model.output). */
  get output(): SymbolicTensor | SymbolicTensor[] {
    this.ensureBuilt();
    return this.symbolicOutputs.length === 1 ? this.symbolicOutputs[0] : this.symbolicOutputs;
  }

  /** Keras's model.trainable: false freezes every layer, true unfreezes them all. */
  get trainable(): boolean { return this.layers.some((l) => l.trainable); }
  set trainable(value: boolean) {
    if (typeof value !== 'boolean') throw new Error('model: trainable must be true or false');
    for (const l of this.layers) l.trainable = value;
  }

  /** @internal */ setLayerTrainable(layer: Layer, trainable: boolean): void {
    if (!this.handle) return;  // kept in the layer's config until the model is built
    withCString(layer.name, 'a layer name', (ptr) => {
      if (!mod()._kiln_model_set_layer_trainable(this.handle, ptr, trainable ? 1 : 0)) throw coreError(`${layer.name}.trainable`);
    });
  }

  getLayer(name: string): Layer {
    const l = this.layers.find((x) => x.name === name);
    if (!l) throw new Error(`getLayer: no layer named '${name}' (layers: ${this.layers.map((x) => x.name).join(', ')})`);
    return l;
  }

  /** Stateful recurrent layers forget their state. */
  resetStates(): void {
    this.ensureBuilt();
    mod()._kiln_model_reset_states(this.handle);
  }

  compile(args: CompileArgs): void {
    this.ensureBuilt();
    if (args === null || typeof args !== 'object') throw new Error('compile: expects {optimizer, loss, metrics?}');
    for (const [key, value] of Object.entries(args)) {
      if (value === undefined || value === null) continue;
      if (key === 'lossWeights') throw new Error('compile: lossWeights is not supported (one loss per model output, weighted equally)');
      if (!['optimizer', 'loss', 'metrics'].includes(key)) throw new Error(`compile: unknown argument '${key}' (supported: optimizer, loss, metrics)`);
    }
    const opt = resolveOptimizer(args.optimizer);
    const loss = codeOf(LOSSES, args.loss, 'loss');
    const metrics = (args.metrics ?? []).map((name) => (name === 'acc' ? 'accuracy' : name));
    const metricCodes = metrics.map((name) => codeOf(METRICS, name, 'metric'));
    const sparse = args.loss === 'sparseCategoricalCrossentropy';
    for (const name of metrics)
      if (name !== 'accuracy' && (name === 'sparseCategoricalAccuracy') !== sparse)
        throw new Error(`compile: metric '${name}' does not fit the loss '${args.loss}' (${sparse ? 'its targets are class indices' : 'its targets are not class indices'})`);
    const fields = optimizerFields(opt);
    const ptr = alloc(fields.length * 8, 'the optimizer description');
    try {
      new Float64Array(heapU8().buffer, ptr, fields.length).set(fields);
      if (!mod()._kiln_model_compile(this.handle, ptr, fields.length, loss)) throw coreError('compile');
    } finally {
      free(ptr);
    }
    const codes = alloc(4 * Math.max(1, metricCodes.length), 'the metric list');
    try {
      heapI32().set(metricCodes, codes >> 2);
      if (!mod()._kiln_model_set_metrics(this.handle, codes, metricCodes.length)) throw coreError('compile');
    } finally {
      free(codes);
    }
    this.compileArgs = { ...args, optimizer: opt };
    this.setMetricNames(metrics);
  }

  /** History and log keys as TF.js names them ('acc'; '<output>_acc' with several outputs). */
  private setMetricNames(metrics: string[]): void {
    const short = metrics.map((name) => (name === 'accuracy' ? 'acc' : name));
    const outs = mod()._kiln_model_num_outputs(this.handle);
    const outNames = this.symbolicOutputs.map((t) => t.node.layer.name);
    this.metricNames = [];
    for (let k = 0; k < outs; k++) for (const m of short) this.metricNames.push(outs > 1 ? `${outNames[k] ?? `output_${k}`}_${m}` : m);
  }

  /** The compiled optimizer (as TF.js's model.optimizer), null before compile(). */
  get optimizer(): OptimizerSpec | null {
    return (this.compileArgs?.optimizer as OptimizerSpec | undefined) ?? null;
  }

  private requireCompiled(what: string): void {
    if (!this.compileArgs || !mod()._kiln_model_compiled(this.handle))
      throw new Error(`${what}: compile the model first (model.compile({optimizer, loss}))`);
  }

  private enter(what: string): void {
    if (this.busy) throw new Error(`${what}: the model is busy with another call (await fit() first)`);
    this.busy = true;
  }

  /** Checks x (one tensor per input, [n, ...inputShape]) and y (one per output) and returns n. */
  private checkData(what: string, x: Data, y?: Data): number {
    const xs = asList(x);
    const ins = this.inputs;
    if (xs.length !== ins.length) throw new Error(`${what}: the model has ${ins.length} input(s), got ${xs.length} tensor(s)`);
    const n = xs[0] instanceof Tensor ? xs[0].shape[0] : 0;
    xs.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new Error(`${what}: x must be a kiln.Tensor (or one per input)`);
      const want = [n, ...ins[i].shape.slice(1)];
      if (t.shape.join(',') !== want.join(','))
        throw new Error(`${what}: x${xs.length > 1 ? `[${i}]` : ''} must have shape [${want}], got [${t.shape}]`);
    });
    if (n === 0) throw new Error(`${what}: x has no samples`);
    if (y !== undefined) {
      const ys = asList(y);
      const outs = this.outputs;
      if (ys.length !== outs.length) throw new Error(`${what}: the model has ${outs.length} output(s), got ${ys.length} target tensor(s)`);
      const sparse = this.compileArgs?.loss === 'sparseCategoricalCrossentropy';
      ys.forEach((t, k) => {
        if (!(t instanceof Tensor)) throw new Error(`${what}: y must be a kiln.Tensor (or one per output)`);
        const full = [n, ...(outs[k].shape.slice(1) as number[])];
        const okShape = sparse
          ? t.size === full.slice(0, -1).reduce((a, b) => a * b, 1) && t.shape[0] === n &&
            (t.shape.join(',') === full.slice(0, -1).join(',') || t.shape.join(',') === [...full.slice(0, -1), 1].join(','))
          : t.shape.join(',') === full.join(',');
        if (!okShape)
          throw new Error(`${what}: y${ys.length > 1 ? `[${k}]` : ''} must have shape ${sparse ? `[${full.slice(0, -1)}] (class indices)` : `[${full}]`}, got [${t.shape}]`);
      });
    }
    return n;
  }

  private logsFrom(loss: number, metrics: ArrayLike<number>, prefix = ''): Logs {
    const logs: Logs = { [prefix + 'loss']: loss };
    this.metricNames.forEach((key, i) => (logs[prefix + key] = metrics[i]));
    return logs;
  }

  /** Copies tensors into the heap as float32 (other dtypes cast, as in TF.js); returns the pointer array and every allocation to free. */
  private copyTensors(list: Tensor[], what: string): { array: number; owned: number[] } {
    const owned: number[] = [];
    const array = alloc(4 * list.length, `${what} pointers`);
    owned.push(array);
    list.forEach((t, i) => {
      const p = copyIn(float32Data(t), what);
      owned.push(p);
      heapU32()[(array >> 2) + i] = p;
    });
    return { array, owned };
  }

  async fit(x: Data, y: Data, args: FitArgs = {}): Promise<History> {
    this.ensureBuilt();
    this.requireCompiled('fit');
    checkFitArgs(args);
    let n = this.checkData('fit', x, y);
    let validationData = args.validationData;
    const splits: Tensor[] = [];  // views made for validationSplit, disposed when fit ends
    if (args.validationSplit !== undefined) {
      // TF.js: the last samples, before shuffling.
      const at = Math.floor(n * (1 - args.validationSplit));
      if (at === 0 || at === n)
        throw new Error(`fit: validationSplit ${args.validationSplit} of ${n} samples leaves ${at === 0 ? 'no training' : 'no validation'} samples`);
      const xs = asList(x).map((t) => splitSamples(t, at)), ys = asList(y).map((t) => splitSamples(t, at));
      x = xs.map((p) => p[0]);
      y = ys.map((p) => p[0]);
      validationData = [xs.map((p) => p[1]), ys.map((p) => p[1])];
      n = at;
      for (const p of [...xs, ...ys]) splits.push(...p);
    }
    const epochs = args.epochs ?? 1;
    const initialEpoch = args.initialEpoch ?? 0;
    if (!Number.isInteger(initialEpoch) || initialEpoch < 0) throw new Error(`fit: initialEpoch must be a non-negative integer, got ${initialEpoch}`);
    const verbose = args.verbose ?? 0;
    if (verbose !== 0 && verbose !== 1) throw new Error(`fit: verbose must be 0 or 1, got ${verbose} (TF.js has no level 2 either)`);
    const batchSize = args.batchSize ?? 32;
    if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`fit: epochs must be a non-negative integer, got ${epochs}`);
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`fit: batchSize must be a positive integer, got ${batchSize}`);
    const run = new TrainingRun(this, args.callbacks, args.yieldEvery, verbose, epochs);
    if (validationData) this.checkData('fit (validationData)', validationData[0], validationData[1]);
    this.enter('fit');
    const m = mod();
    // A fit that fails anywhere (a NaN in epoch 2, a callback that throws) leaves the model as it found it.
    if (!m._kiln_model_begin(this.handle)) {
      this.busy = false;
      throw coreError('fit');
    }
    let completed = false;
    const owned: number[] = [];
    try {
      const xs = this.copyTensors(asList(x), 'fit x');
      owned.push(...xs.owned);
      const ys = this.copyTensors(asList(y), 'fit y');
      owned.push(...ys.owned);
      const ip = alloc(n * 4, 'the shuffle order');
      owned.push(ip);
      const k = this.metricNames.length;
      const outp = alloc(4 * (1 + k), 'fit results');
      owned.push(outp);
      const order = heapU32();
      for (let i = 0; i < n; i++) order[(ip >> 2) + i] = i;
      this.stopTraining = false;
      await run.call('onTrainBegin', {});
      for (let epoch = initialEpoch; epoch < epochs && !this.stopTraining; epoch++) {
        await run.epochBegin(epoch, k);
        if (args.shuffle ?? true) m._kiln_model_shuffle(this.handle, ip, n);
        for (let start = 0, batch = 0; start < n && !this.stopTraining; start += batchSize, batch++) {
          const count = Math.min(batchSize, n - start);
          await run.call('onBatchBegin', batch, { batch, size: count });
          if (!m._kiln_model_train_batch(this.handle, xs.array, ys.array, ip + start * 4, count, outp)) throw coreError('fit');
          const f = heapF32();
          const loss = f[outp >> 2], values = f.slice((outp >> 2) + 1, (outp >> 2) + 1 + k);
          await run.batchEnd(batch, count, loss, values, this.logsFrom(loss, values));
        }
        const means = run.means() ?? { loss: NaN, metrics: new Array<number>(k).fill(NaN) };
        const logs = this.logsFrom(means.loss, means.metrics);
        if (validationData) {
          const [vl, ...vm] = this.evaluateRaw(validationData[0], validationData[1]);
          Object.assign(logs, this.logsFrom(vl, vm, 'val_'));
        }
        await run.epochEnd(epoch, logs);
      }
      await run.call('onTrainEnd', {});
      completed = true;
    } finally {
      for (const p of owned) free(p);
      if (completed) m._kiln_model_commit(this.handle);
      else m._kiln_model_rollback(this.handle);
      this.busy = false;
      dispose(splits);
    }
    return run.history;
  }

  /**
   * TF.js's fitDataset: trains on the batches a kiln.data Dataset gives
   * ({xs, ys} or [xs, ys] elements, each a tensor or an array of tensors per
   * model input/output), batchesPerEpoch of them per epoch (default: until
   * the dataset ends, restarted each epoch). validationData: [x, y] tensors
   * or a Dataset (validationBatches of it). As fit: callbacks, initialEpoch,
   * yieldEvery, verbose, and a failure leaves the model as it was.
   */
  async fitDataset(dataset: Dataset<any>, args: FitDatasetArgs = {}): Promise<History> {
    const what = 'fitDataset';
    this.ensureBuilt();
    this.requireCompiled(what);
    if (!(dataset instanceof Dataset)) throw new Error(`${what}: expects a kiln.data Dataset`);
    if (args === null || typeof args !== 'object') throw new Error(`${what}: options must be an object`);
    for (const [key, value] of Object.entries(args)) {
      if (value === undefined) continue;
      if (key === 'classWeight') throw new Error(`${what}: classWeight: ${FIT_ARGS_REFUSED.classWeight}`);
      if (!FIT_DATASET_ARGS.includes(key)) throw new Error(`${what}: unknown argument '${key}' (supported: ${FIT_DATASET_ARGS.join(', ')})`);
    }
    const epochs = args.epochs ?? 1, initialEpoch = args.initialEpoch ?? 0, verbose = args.verbose ?? 0;
    if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`${what}: epochs must be a non-negative integer, got ${epochs}`);
    if (!Number.isInteger(initialEpoch) || initialEpoch < 0) throw new Error(`${what}: initialEpoch must be a non-negative integer, got ${initialEpoch}`);
    const perEpoch = args.batchesPerEpoch;
    if (perEpoch !== undefined && !(Number.isInteger(perEpoch) && perEpoch > 0)) throw new Error(`${what}: batchesPerEpoch must be a positive integer, got ${perEpoch}`);
    if (perEpoch === undefined && dataset.size === Infinity) throw new Error(`${what}: the dataset is endless; give batchesPerEpoch`);
    checkFitArgs({ yieldEvery: args.yieldEvery });
    const validation = args.validationData;
    if (validation !== undefined && !(validation instanceof Dataset) && !Array.isArray(validation))
      throw new Error(`${what}: validationData must be [x, y] tensors or a Dataset`);
    if (Array.isArray(validation)) this.checkData(`${what} (validationData)`, validation[0], validation[1]);
    const run = new TrainingRun(this, args.callbacks, args.yieldEvery, verbose, epochs);
    const pair = (e: any, where: string): [Data, Data] => {
      const xy = Array.isArray(e) && e.length === 2 ? e : e && typeof e === 'object' && 'xs' in e && 'ys' in e ? [e.xs, e.ys] : null;
      if (!xy) throw new Error(`${what}: ${where} elements must be {xs, ys} or [xs, ys]`);
      return xy as [Data, Data];
    };
    this.enter(what);
    const m = mod();
    if (!m._kiln_model_begin(this.handle)) {
      this.busy = false;
      throw coreError(what);
    }
    let completed = false;
    const k = this.metricNames.length;
    try {
      this.stopTraining = false;
      await run.call('onTrainBegin', {});
      let it = await dataset.iterator();
      for (let epoch = initialEpoch; epoch < epochs && !this.stopTraining; epoch++) {
        await run.epochBegin(epoch, k);
        for (let batch = 0; (perEpoch === undefined || batch < perEpoch) && !this.stopTraining; batch++) {
          let r = await it.next();
          if (r.done && perEpoch !== undefined && batch === 0) {
            it = await dataset.iterator();  // a finite dataset runs again for the next epoch
            r = await it.next();
          }
          if (r.done) {
            if (perEpoch !== undefined) console.warn(`kiln: fitDataset: the dataset ended after ${batch} of ${perEpoch} batches in epoch ${epoch}`);
            break;
          }
          const [x, y] = pair(r.value, 'the dataset\'s');
          const count = this.checkData(what, x, y);
          await run.call('onBatchBegin', batch, { batch, size: count });
          const owned: number[] = [];
          let loss: number, values: Float32Array;
          try {
            const xs = this.copyTensors(asList(x), `${what} x`);
            owned.push(...xs.owned);
            const ys = this.copyTensors(asList(y), `${what} y`);
            owned.push(...ys.owned);
            const order = alloc(4 * count, 'the batch order');
            owned.push(order);
            for (let i = 0; i < count; i++) heapU32()[(order >> 2) + i] = i;
            const outp = alloc(4 * (1 + k), 'results');
            owned.push(outp);
            if (!m._kiln_model_train_batch(this.handle, xs.array, ys.array, order, count, outp)) throw coreError(what);
            const f = heapF32();
            loss = f[outp >> 2];
            values = f.slice((outp >> 2) + 1, (outp >> 2) + 1 + k);
          } finally {
            for (const p of owned) free(p);
            dispose(r.value);
          }
          await run.batchEnd(batch, count, loss, values, this.logsFrom(loss, values));
        }
        if (perEpoch === undefined) it = await dataset.iterator();
        const means = run.means();
        const logs = means ? this.logsFrom(means.loss, means.metrics) : {};
        if (validation instanceof Dataset) {
          let vSeen = 0;
          const vSums = new Array<number>(1 + k).fill(0);
          const vit = await validation.iterator();
          for (let b = 0; args.validationBatches === undefined || b < args.validationBatches; b++) {
            const r = await vit.next();
            if (r.done) break;
            const [vx, vy] = pair(r.value, 'validationData\'s');
            const n = this.checkData(`${what} (validationData)`, vx, vy);
            this.evaluateRaw(vx, vy).forEach((v, i) => (vSums[i] += v * n));
            vSeen += n;
            dispose(r.value);
          }
          if (vSeen) Object.assign(logs, this.logsFrom(vSums[0] / vSeen, vSums.slice(1).map((v) => v / vSeen), 'val_'));
        } else if (validation) {
          const [vl, ...vm] = this.evaluateRaw(validation[0], validation[1]);
          Object.assign(logs, this.logsFrom(vl, vm, 'val_'));
        }
        await run.epochEnd(epoch, logs);
      }
      await run.call('onTrainEnd', {});
      completed = true;
    } finally {
      if (completed) m._kiln_model_commit(this.handle);
      else m._kiln_model_rollback(this.handle);
      this.busy = false;
    }
    return run.history;
  }

  /** One optimizer step on the whole batch; resolves to loss or [loss, ...metrics]. */
  async trainOnBatch(x: Data, y: Data): Promise<number | number[]> {
    this.ensureBuilt();
    this.requireCompiled('trainOnBatch');
    const n = this.checkData('trainOnBatch', x, y);
    this.enter('trainOnBatch');
    const owned: number[] = [];
    try {
      const xs = this.copyTensors(asList(x), 'trainOnBatch x');
      owned.push(...xs.owned);
      const ys = this.copyTensors(asList(y), 'trainOnBatch y');
      owned.push(...ys.owned);
      const k = this.metricNames.length;
      const outp = alloc(4 * (1 + k), 'results');
      owned.push(outp);
      if (!mod()._kiln_model_begin(this.handle)) throw coreError('trainOnBatch');
      if (!mod()._kiln_model_train_batch(this.handle, xs.array, ys.array, 0, n, outp)) {
        const error = coreError('trainOnBatch');
        mod()._kiln_model_rollback(this.handle);
        throw error;
      }
      mod()._kiln_model_commit(this.handle);
      const f = heapF32();
      return k ? Array.from(f.slice(outp >> 2, (outp >> 2) + 1 + k)) : f[outp >> 2];
    } finally {
      for (const p of owned) free(p);
      this.busy = false;
    }
  }

  /** [loss, ...metrics] */
  private evaluateRaw(x: Data, y: Data, batchSize = 0): number[] {
    const n = this.checkData('evaluate', x, y);
    const owned: number[] = [];
    try {
      const xs = this.copyTensors(asList(x), 'evaluate x');
      owned.push(...xs.owned);
      const ys = this.copyTensors(asList(y), 'evaluate y');
      owned.push(...ys.owned);
      const outp = alloc(4 * (1 + this.metricNames.length), 'results');
      owned.push(outp);
      if (!mod()._kiln_model_evaluate(this.handle, xs.array, ys.array, n, outp, batchSize)) throw coreError('evaluate');
      return Array.from(heapF32().slice(outp >> 2, (outp >> 2) + 1 + this.metricNames.length));
    } finally {
      for (const p of owned) free(p);
    }
  }

  /** Loss, or [loss, ...metrics] as scalars (TF.js returns Scalar | Scalar[]). Metrics
   * are over the whole set (TF.js averages per-batch values; the same for accuracies).
   * `batchSize` bounds the rows run at once (memory); the results differ only by float rounding. */
  evaluate(x: Data, y: Data, args: { batchSize?: number } = {}): Tensor | Tensor[] {
    this.ensureBuilt();
    this.requireCompiled('evaluate');
    const results = this.evaluateRaw(x, y, rowsAtOnce('evaluate', args));
    return this.metricNames.length ? results.map((v) => scalar(v)) : scalar(results[0]);
  }

  /** One tensor per output (a single Tensor for single-output models); `batchSize` bounds the rows run at once. */
  predict(x: Data, args: { batchSize?: number } = {}): Tensor | Tensor[] {
    this.ensureBuilt();
    const batchSize = rowsAtOnce('predict', args);
    // Inside a gradient function that watches x or the weights: recorded, as TF.js's predict is.
    const tape = activeTape();
    if (tape && (asList(x).some((t) => t instanceof Tensor && tape.watches(t)) || this.weightVariables().some((v) => tape.watches(v))))
      return this.predictRecorded(x, batchSize);
    return this.predictUnrecorded(x, batchSize);
  }

  // predict() under a tape: call() on batchSize rows at a time (the bound on
  // memory it promises), joined with ops the tape records.
  private predictRecorded(x: Data, batchSize: number): Tensor | Tensor[] {
    const n = this.checkData('predict', x);
    if (batchSize === 0 || batchSize >= n) return this.call(x);
    const xs = asList(x);
    const parts: Tensor[][] = [];
    try {
      for (let start = 0; start < n; start += batchSize) {
        const rows = Math.min(batchSize, n - start);
        const chunk = xs.map((t) => slice(t, [start, ...t.shape.slice(1).map(() => 0)], [rows, ...t.shape.slice(1)]));
        try {
          parts.push(asList(this.call(chunk)));
        } finally {
          dispose(chunk);
        }
      }
      const joined = parts[0].map((_, k) => concat(parts.map((p) => p[k]), 0));
      return joined.length === 1 ? joined[0] : joined;
    } finally {
      for (const p of parts) dispose(p);
    }
  }

  private predictUnrecorded(x: Data, batchSize: number): Tensor | Tensor[] {
    const n = this.checkData('predict', x);
    const outs = this.outputs.map((o) => [n, ...(o.shape.slice(1) as number[])]);
    const owned: number[] = [];
    try {
      const xs = this.copyTensors(asList(x), 'predict x');
      owned.push(...xs.owned);
      const outArray = alloc(4 * outs.length, 'predict output pointers');
      owned.push(outArray);
      const ptrs = outs.map((s) => {
        const p = alloc(4 * s.reduce((a, b) => a * b, 1), 'predict output');
        owned.push(p);
        return p;
      });
      ptrs.forEach((p, k) => (heapU32()[(outArray >> 2) + k] = p));
      if (!mod()._kiln_model_predict(this.handle, xs.array, n, outArray, batchSize)) throw coreError('predict');
      const result = outs.map((s, k) => new Tensor(heapF32().slice(ptrs[k] >> 2, (ptrs[k] >> 2) + s.reduce((a, b) => a * b, 1)), s));
      return result.length === 1 ? result[0] : result;
    } finally {
      for (const p of owned) free(p);
    }
  }

  /** predict() on one batch (TF.js's predictOnBatch): every row at once. */
  predictOnBatch(x: Data): Tensor | Tensor[] {
    return this.predict(x);
  }

  /** TF.js's getConfig(): {name, layers: [{className, config}]} (and a functional model's inputLayers and outputLayers). */
  getConfig(): Record<string, unknown> {
    return pythonicToTs(kerasTopology(this).config);
  }

  /** Compiles the execution plans and runs them once, so the first real call has no hidden cost. */
  warmup(batchSize = 32): void {
    this.ensureBuilt();
    if (!mod()._kiln_model_warmup(this.handle, batchSize)) throw coreError('warmup');
  }

  countParams(): number {
    this.ensureBuilt();
    return mod()._kiln_model_count_params(this.handle);
  }

  /**
   * Prints the layers, output shapes and parameter counts through printFn.
   * Kiln's table has fixed columns: lineLength and positions (TF.js's column
   * layout) are refused rather than ignored.
   */
  summary(lineLength?: number, positions?: number[], printFn: (s: string) => void = console.log): void {
    if (lineLength !== undefined || positions !== undefined)
      throw new Error('summary: lineLength and positions are not supported (Kiln prints fixed columns); pass undefined for both');
    this.ensureBuilt();
    printFn(mod().UTF8ToString(mod()._kiln_model_summary(this.handle)));
  }

  /**
   * Where the steps of each plan compiled so far ran (Kiln's own; see
   * kiln.setBackend): one entry per plan (predict, evaluate, train or
   * gradients, and its batch size) with every step's op and backend, the
   * copies between backends, and each fallback with its reason.
   */
  placement(): PlanPlacement[] {
    this.ensureBuilt();
    return JSON.parse(mod().UTF8ToString(mod()._kiln_model_placement(this.handle)));
  }

  private weightCount(): number { return mod()._kiln_model_num_weights(this.handle); }
  private weightName(i: number): string { return mod().UTF8ToString(mod()._kiln_model_weight_name(this.handle, i)); }

  private weightShape(i: number): number[] {
    const m = mod();
    const shape: number[] = [];
    for (let d = 0; d < m._kiln_model_weight_rank(this.handle, i); d++) shape.push(m._kiln_model_weight_dim(this.handle, i, d));
    return shape;
  }

  private readWeight(i: number): Tensor {
    const shape = this.weightShape(i);
    const size = shape.reduce((a, b) => a * b, 1);
    const m = mod();
    const ptr = m._kiln_model_weight_view(this.handle, i);  // a read: the plans keep what they packed
    return new Tensor(heapF32().slice(ptr >> 2, (ptr >> 2) + size), shape);
  }

  /** Checks every tensor (count, shapes, finite values) and returns their float32 values; writes nothing. */
  private checkedWeightValues(indices: number[], weights: Tensor[], what: string): Float32Array[] {
    if (weights.length !== indices.length) throw new Error(`${what}: expected ${indices.length} weight tensors, got ${weights.length}`);
    return weights.map((w, k) => {
      if (!(w instanceof Tensor)) throw new Error(`${what}: weight ${k} is not a kiln.Tensor`);
      const want = this.weightShape(indices[k]);
      if (w.shape.join(',') !== want.join(','))
        throw new Error(`${what}: weight ${k} (${this.weightName(indices[k])}) must have shape [${want}], got [${w.shape}]`);
      // NaN or Infinity would only surface later, as a diverged fit or NaN predictions.
      const v = float32Data(w);
      const bad = v.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new Error(`${what}: weight ${k} (${this.weightName(indices[k])}) holds ${v[bad]} at index ${bad}`);
      return v;
    });
  }

  /** Checks every tensor first, then writes: a bad call changes nothing. */
  private writeWeights(indices: number[], weights: Tensor[], what: string): void {
    const values = this.checkedWeightValues(indices, weights, what);
    values.forEach((v, k) => {
      const ptr = mod()._kiln_model_weight_data(this.handle, indices[k]);
      heapF32().set(v, ptr >> 2);
    });
  }

  /** Every weight, in getWeights order (TF.js's model.weights). */
  get weights(): LayerVariable[] {
    this.ensureBuilt();
    return Array.from({ length: this.weightCount() }, (_, i) => this.variable(i));
  }
  /** The weights fitting moves (frozen layers' and moving statistics left out). */
  get trainableWeights(): LayerVariable[] { return this.weights.filter((w) => w.trainable); }
  get nonTrainableWeights(): LayerVariable[] { return this.weights.filter((w) => !w.trainable); }

  private variable(i: number): LayerVariable {
    const name = this.weightName(i);
    const shape = this.weightShape(i);
    const trainable = mod()._kiln_model_weight_trainable(this.handle, i) !== 0;
    return Object.freeze({
      name, originalName: name, shape, dtype: 'float32' as const, trainable,
      read: () => { this.ensureBuilt(); return this.readWeight(i); },
      write: (value: Tensor) => { this.ensureBuilt(); this.writeWeights([i], [value], `${name}.write`); },
    });
  }

  getWeights(): Tensor[] {
    this.ensureBuilt();
    const out: Tensor[] = [];
    for (let i = 0; i < this.weightCount(); i++) out.push(this.readWeight(i));
    return out;
  }

  setWeights(weights: Tensor[]): void {
    this.ensureBuilt();
    this.writeWeights(Array.from({ length: this.weightCount() }, (_, i) => i), weights, 'setWeights');
  }

  // Each layer's weight indices, read once per core model (its weights are fixed
  // once built): weight reads and optimizer steps ask for them per weight.
  private layerIndices: { handle: number; byLayer: Map<Layer, number[]> } | null = null;

  private weightsOf(layer: Layer): number[] {
    if (!this.layers.includes(layer)) throw new Error(`${layer.name} does not belong to this model`);
    if (this.layerIndices?.handle !== this.handle) {
      const names = Array.from({ length: this.weightCount() }, (_, i) => this.weightName(i));
      this.layerIndices = { handle: this.handle, byLayer: new Map() };
      for (const l of this.layers)
        this.layerIndices.byLayer.set(l, names.flatMap((n, i) => (n.startsWith(`${l.name}/`) ? [i] : [])));
    }
    return this.layerIndices.byLayer.get(layer)!;
  }

  /** @internal */ layerVariables(layer: Layer): LayerVariable[] {
    return this.weightsOf(layer).map((i) => this.variable(i));
  }

  /** @internal */ layerWeights(layer: Layer): Tensor[] {
    return this.weightsOf(layer).map((i) => this.readWeight(i));
  }

  /** @internal */ setLayerWeights(layer: Layer, weights: Tensor[]): void {
    this.writeWeights(this.weightsOf(layer), weights, `${layer.name}.setWeights`);
  }

  /** @internal The full names of a layer's weights ("<layer>/kernel"), in getWeights order. */
  layerWeightNames(layer: Layer): string[] {
    this.ensureBuilt();
    return this.weightsOf(layer).map((i) => this.weightName(i));
  }

  /** @internal Throws what setWeights would, without writing. */
  checkLayerWeights(layer: Layer, weights: Tensor[]): void {
    this.checkedWeightValues(this.weightsOf(layer), weights, `${layer.name}.setWeights`);
  }

  /** @internal Every weight with its full name, in getWeights order. */
  namedWeights(): { name: string; tensor: Tensor }[] {
    this.ensureBuilt();
    return Array.from({ length: this.weightCount() }, (_, i) => ({ name: this.weightName(i), tensor: this.readWeight(i) }));
  }

  /**
   * With a URL or an IO handler (TF.js's signature: 'file://dir' in Node,
   * 'downloads://name', 'localstorage://name', 'indexeddb://name', an
   * http(s) URL to POST to, kiln.io.withSaveHandler(...)), saves in TF.js's
   * layers format (model.json + weights) and resolves to TF.js's SaveResult.
   * Without one, resolves to the model as one Kiln file (docs/FORMAT.md);
   * `{includeOptimizer: true}` keeps the optimizer's state in it.
   */
  save(handlerOrURL: string | IOHandler, config?: { includeOptimizer?: boolean }): Promise<SaveResult>;
  save(options?: { includeOptimizer?: boolean }): Promise<Uint8Array>;
  async save(target: any = {}, config?: { includeOptimizer?: boolean }): Promise<Uint8Array | SaveResult> {
    if (typeof target === 'string' || typeof target?.save === 'function') return saveLayersModel(this, target, config);
    if (config !== undefined) throw new Error('model.save: a second argument goes with a URL or an IO handler');
    return this.saveKilnFile(target);
  }

  private async saveKilnFile(options: { includeOptimizer?: boolean }): Promise<Uint8Array> {
    if (options === null || typeof options !== 'object') throw new Error('model.save: expected a URL, an IO handler or {includeOptimizer}');
    for (const key of Object.keys(options))
      if (key !== 'includeOptimizer') throw new Error(`model.save: unknown option '${key}' (the option is includeOptimizer)`);
    this.ensureBuilt();
    const ptr = mod()._kiln_model_save(this.handle, options.includeOptimizer ? 1 : 0);
    if (!ptr) throw coreError('save');
    return heapU8().slice(ptr, ptr + mod()._kiln_saved_size());
  }

  /** The topology as JSON text (TF.js's model.toJSON() role). */
  toJSON(): string {
    this.ensureBuilt();
    return mod().UTF8ToString(mod()._kiln_model_topology(this.handle));
  }

  /** Frees the C++ model; the object is unusable afterwards. */
  dispose(): void {
    if (this.busy) throw new Error('dispose: the model is training (fit() is running); set model.stopTraining = true and await fit() first');
    if (!this.handle) return;
    registry?.unregister(this);
    mod()._kiln_model_free(this.handle);
    this.handle = 0;
    this.disposed = true;
    // Layers a newer model took over (a base under a new head) stay with it.
    for (const l of this.layers) if (l.owner === this) l.owner = null;
  }

  /** @internal Restores compile() state after loading. */
  restoreCompileState(args: CompileArgs): void {
    this.compileArgs = args;
    this.setMetricNames((args.metrics ?? []).map((n) => (n === 'acc' ? 'accuracy' : n)));
  }
}

export class Sequential extends LayersModel {
  // TF.js's sequential({layers: [inputLayer({inputShape}), ...]}): the input layer names the model's input.
  private inputLayer: Layer | null = null;
  // What add() was given, in order: layers, and models used as layers (their layers join this.layers).
  private steps: (Layer | LayersModel)[] = [];

  constructor(args: SequentialArgs = {}) {
    checkKeys('sequential', args, ['layers', 'name', 'seed']);
    super({ seed: args.seed, name: args.name });
    for (const l of args.layers ?? []) this.add(l);
  }

  /** Appends a layer, or a model used as a layer (its layers keep their weights and are shared with it). */
  add(layer: Layer | LayersModel): void {
    if (!(layer instanceof Layer) && !(layer instanceof LayersModel)) throw new Error('sequential: add() takes a layer (kiln.layers.*) or a model');
    if (this.handle) throw new Error('sequential: cannot add layers after the model is built');
    if (layer instanceof LayersModel) {
      if (layer === this) throw new Error('sequential: a model cannot contain itself');
      if (layer.inputs.length !== 1 || layer.outputs.length !== 1)
        throw new Error(`sequential: ${layer.name} has ${layer.inputs.length} inputs and ${layer.outputs.length} outputs; a sequential model's steps take one and give one (use kiln.model)`);
      this.steps.push(layer);
      for (const l of layer.layers) if (!this.layers.includes(l)) this.layers.push(l);
      return;
    }
    if (layer instanceof StackedRNN) {  // its recurrent layers join this model
      if (this.steps.length === 0 && layer.inputShape === undefined && !this.inputLayer)
        throw new Error(`sequential: the first layer needs an inputShape (e.g. inputShape: [784])`);
      this.steps.push(layer);
      for (const l of layer.inner) {
        this.layers.push(l);
        l.container ??= this;
      }
      return;
    }
    if (layer.className === 'InputLayer') {
      if (this.steps.length || this.inputLayer) throw new Error(`sequential: ${layer.name}: an input layer can only come first`);
      if (layer.inputShape === undefined) throw new Error(`sequential: ${layer.name} needs an inputShape (or batchInputShape)`);
      this.inputLayer = layer;
      this.layers.push(layer);  // TF.js lists an input layer it was given
      return;
    }
    if (this.steps.length === 0 && layer.inputShape === undefined && !this.inputLayer)
      throw new Error(`sequential: the first layer needs an inputShape (e.g. inputShape: [784])`);
    this.steps.push(layer);
    this.layers.push(layer);
    layer.container ??= this;
  }

  // The model's input shape (batch excluded): an input layer's, the first layer's, or a first model's.
  private inputShapeOf(): number[] {
    if (this.inputLayer) return this.inputLayer.inputShape as number[];
    const first = this.steps[0];
    return first instanceof LayersModel ? (first.inputs[0].shape.slice(1) as number[]) : (first.inputShape as number[]);
  }

  private chain(t: SymbolicTensor): SymbolicTensor {
    for (const step of this.steps) {
      const out = step.apply(t);
      if (Array.isArray(out)) throw new Error(`sequential: ${step.name} returns several tensors; use the functional API (kiln.model)`);
      t = out;
    }
    return t;
  }

  protected topology(): string {
    if (this.steps.length === 0) throw new Error('sequential: the model has no layers');
    const first = this.steps[0];
    const t = this.inputLayer ? inputOf(this.inputLayer) : input({ shape: this.inputShapeOf(), name: `${first.name}_input` });
    this.symbolicInputs = [t];
    this.symbolicOutputs = [this.chain(t)];
    return topologyOf(this.symbolicInputs, this.symbolicOutputs, true).json;
  }

  /** @internal Loaders: a Sequential over these already-made layers. */
  setLayers(layers: Layer[]): void {
    this.steps = [...layers];
    this.layers = [...layers];
  }
}

export interface SequentialArgs {
  layers?: (Layer | LayersModel)[];
  name?: string;
  seed?: number;
}

export function sequential(args: SequentialArgs = {}): Sequential {
  return new Sequential(args);
}

/** A functional model from symbolic inputs to outputs. */
export function model(args: { inputs: SymbolicTensor | SymbolicTensor[]; outputs: SymbolicTensor | SymbolicTensor[]; seed?: number; name?: string }): LayersModel {
  checkKeys('model', args, ['inputs', 'outputs', 'name', 'seed']);
  return new LayersModel(args);
}

/** Rebuilds a model from a Kiln file (bytes from model.save()). */
export async function loadModel(source: Uint8Array | ArrayBuffer): Promise<LayersModel> {
  const bytes = source instanceof Uint8Array ? source : source instanceof ArrayBuffer ? new Uint8Array(source) : null;
  if (!bytes) throw new Error('loadModel: expected the model file as a Uint8Array or ArrayBuffer');
  const m = mod();
  const ptr = alloc(bytes.length, 'the model file');
  let handle = 0;
  try {
    heapU8().set(bytes, ptr);
    handle = m._kiln_model_load(ptr, bytes.length);
    if (!handle) throw coreError('loadModel');
  } finally {
    free(ptr);
  }
  return modelFromHandle(handle);
}

/**
 * @internal A LayersModel over a C++ model handle (a loaded file, an imported
 * ONNX model): layers, symbolic inputs and outputs rebuilt from its topology.
 * Frees the handle if that fails.
 */
export function modelFromHandle(handle: number): LayersModel {
  const m = mod();
  try {
    const topo = JSON.parse(m.UTF8ToString(m._kiln_model_topology(handle)));
    const layerObjs: Layer[] = topo.layers.map((l: { className: string; config: Record<string, unknown> }) => {
      // A custom layer the load made from its config (a registered class), or a core layer.
      return claimCreatedLayer(l.config.name as string) ?? layerFromConfig(l.className, { ...l.config });
    });
    // Re-create the symbolic graph so layers, inputs and outputs are as before.
    const values: SymbolicTensor[][] = [];
    topo.nodes.forEach((n: { layer: number; inputs: [number, number][] }) => {
      const layer = layerObjs[n.layer];
      if (layer.className === 'InputLayer') {
        const shape = (layer.config.shape as number[]) ?? ((layer.config.batchInputShape as number[]) ?? []).slice(1);
        const node: LayerNode = { layer, inputs: [], outputs: [] };
        node.outputs.push(new SymbolicTensor(node, 0, [null, ...shape]));
        layer.nodes.push(node);
        values.push(node.outputs);
      } else {
        const out = layer.apply(n.inputs.map(([node, k]) => values[node][k]));
        values.push(Array.isArray(out) ? out : [out]);
      }
    });
    const ins = topo.inputs.map((i: number) => values[i][0]);
    const outs = topo.outputs.map(([node, k]: [number, number]) => values[node][k]);
    let model: LayersModel;
    if (topo.className === 'Sequential' || topo.className === undefined) {
      model = new Sequential();
      (model as Sequential).setLayers(layerObjs.filter((l) => l.className !== 'InputLayer'));
    } else {
      model = new LayersModel({ inputs: ins, outputs: outs });
    }
    (model as any).symbolicInputs = ins;
    (model as any).symbolicOutputs = outs;
    model.adopt(handle);
    if (m._kiln_model_compiled(handle)) {
      const training = alloc(8 * (22 + 2 * 1024 + 1), 'training info');
      try {
        const n = m._kiln_model_training_info(handle, training);
        const t = new Float64Array(heapU8().buffer, training, n).slice();
        model.restoreCompileState({ optimizer: optimizerFromFields(t.subarray(1)), loss: LOSSES[t[0]], metrics: ['accuracy'] });
      } finally {
        free(training);
      }
    }
    return model;
  } catch (e) {
    m._kiln_model_free(handle);
    throw e;
  }
}

// A layer applied to tensors (TF.js's layer.apply(tensor)) runs in a model of
// its own, one per input-shape signature, made on first use: the layer keeps
// one set of weights wherever it is used (a model that uses it later starts
// from them), and under kiln.grad or minimize the call is differentiable as a
// model's is.
const layerModels = new WeakMap<Layer, Map<string, LayersModel>>();
setEagerLayerRunner((layer, xs, kwargs) => {
  const what = `${layer.name}.apply`;
  // Its weights would not be the custom layer's: fit() would not train them.
  if (insideCustomCall()) throw new Error(`${what}: a layer applied to tensors inside a custom layer's call() would not train with the model; add the weights with addWeight() and compute with kiln ops`);
  for (const key of Object.keys(kwargs))
    if (key !== 'training') throw new Error(`${what}: on tensors the only argument is training, got '${key}'`);
  const signature = xs.map((t) => t.shape.slice(1).join('x')).join(',');
  let models = layerModels.get(layer);
  if (!models) layerModels.set(layer, (models = new Map()));
  let m = models.get(signature);
  if (!m) {
    xs.forEach((t, i) => { if (t.rank < 1) throw new Error(`${what}: input ${i} needs a batch dimension, got a scalar`); });
    const name = `${layer.name}_on_tensors`;
    const ins = xs.map((t, i) => input({ shape: t.shape.slice(1), name: `${name}_input${i}` }));
    const out = layer.apply(ins.length === 1 ? ins[0] : ins);
    // The application stays the private model's: layer.output is still the user's one.
    layer.nodes.pop();
    m = new LayersModel({ inputs: ins, outputs: out, name });
    models.set(signature, m);
  }
  return m.call(xs, kwargs as { training?: boolean });
});
