// Layers with TF.js's names and arguments (kiln.layers.conv2d({...}), ...).
// A layer here is its class name and config; the C++ core validates the
// config, builds the weights and runs it. Layers are applied to symbolic
// tensors (kiln.input) to make functional models, or stacked in a Sequential.

import { Tensor } from './tensor.js';
import { stack, unstack, zeros } from './ops.js';
import { uniqueInputName, uniqueLayerName } from './names.js';
import type { LayerFactories } from './layer_args.js';

export type LayerArgs = Record<string, unknown> & {
  name?: string;
  inputShape?: (number | null)[];
  batchInputShape?: (number | null)[];
  inputDim?: number;
  inputLength?: number;
};

/**
 * A model weight as TF.js's LayerVariable shows it (`model.weights`,
 * `trainableWeights`, `layer.weights`): its name, shape and dtype, whether
 * fitting moves it, `read()` for its values and `write(tensor)` to set them.
 */
export interface LayerVariable {
  readonly name: string;
  readonly originalName: string;
  readonly shape: number[];
  readonly dtype: 'float32';
  readonly trainable: boolean;
  read(): Tensor;
  write(value: Tensor): void;
}

/** What a model gives a layer once built, to reach its weights. */
export interface LayerOwner {
  layerWeights(layer: Layer): Tensor[];
  layerVariables(layer: Layer): LayerVariable[];
  setLayerWeights(layer: Layer, weights: Tensor[]): void;
  setLayerTrainable(layer: Layer, trainable: boolean): void;
}

/** One application of a layer: its inputs and outputs. */
export interface LayerNode {
  layer: Layer;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
}

/** A placeholder for a tensor in a functional model. `shape` is known for inputs (batch first, null). */
export class SymbolicTensor {
  constructor(readonly node: LayerNode, readonly index: number, readonly shape: (number | null)[] | null) {}
  get name(): string { return `${this.node.layer.name}/${this.index}`; }
}

// Arguments that describe the model's input rather than the layer.
const INPUT_ARGS = ['inputShape', 'batchInputShape', 'inputDim', 'batchSize', 'dtype'];

export class Layer {
  readonly className: string;
  readonly name: string;
  /** The config the core receives (TF.js argument names). */
  readonly config: Record<string, unknown>;
  /** The input shape (without batch) given by inputShape / batchInputShape / inputDim, if any. */
  readonly inputShape: number[] | undefined;
  /** @internal */ owner: LayerOwner | null = null;
  /** @internal The model the layer was first put in, built on demand by getWeights/setWeights (TF.js builds at once). */
  container: { build(): void } | null = null;
  /** @internal */ readonly nodes: LayerNode[] = [];

  /** TF.js's custom layers: `class MyLayer extends kiln.layers.Layer { constructor(args) { super(args); } ... }`. */
  constructor(args?: LayerArgs);
  /** @internal A layer of the core's class `className`. */
  constructor(className: string, args?: LayerArgs);
  constructor(classOrArgs: string | LayerArgs = {}, builtinArgs: LayerArgs = {}) {
    const custom = typeof classOrArgs !== 'string';
    const className = custom ? customClassName(new.target) : classOrArgs;
    const args = custom ? classOrArgs : builtinArgs;
    if (args === null || typeof args !== 'object') throw new Error(`${className}: arguments must be an object`);
    // dtype describes the input, so it is not in the config; layers compute in float32 only.
    if (args.dtype !== undefined && args.dtype !== null && args.dtype !== 'float32')
      throw new Error(`${className}: dtype '${String(args.dtype)}' is not supported; layers compute in float32`);
    this.className = className;
    this.name = typeof args.name === 'string' ? args.name : uniqueLayerName(className);
    const config: Record<string, unknown> = { name: this.name };
    // An embedding's inputDim is its vocabulary size, not the input's shape.
    const embedding = className === 'Embedding';
    const inputArgs = embedding ? INPUT_ARGS.filter((k) => k !== 'inputDim') : INPUT_ARGS;
    // A custom layer's own arguments are its class's business (its getConfig() says what is saved).
    if (custom) {
      if (args.trainable !== undefined) config.trainable = args.trainable;
    } else {
      for (const [k, v] of Object.entries(args)) if (!inputArgs.includes(k) && k !== 'name' && v !== undefined) config[k] = v instanceof Layer ? v.toJSON() : v;
    }
    this.config = config;
    let shape = args.inputShape ?? (args.batchInputShape ? args.batchInputShape.slice(1) : undefined);
    if (shape === undefined && embedding && args.inputLength !== undefined) shape = [args.inputLength];
    if (shape === undefined && !embedding && args.inputDim !== undefined)
      shape = args.inputLength !== undefined ? [args.inputLength, args.inputDim] : [args.inputDim];
    if (shape !== undefined) {
      if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || (d as number) <= 0))
        throw new Error(`${this.name}: inputShape must be a list of positive integers, got [${shape}]`);
      this.inputShape = shape as number[];
    }
  }

  /** @internal True for a layer class written in JavaScript (extends kiln.layers.Layer). */
  get isCustom(): boolean { return this.constructor !== Layer; }

  getClassName(): string { return this.className; }
  getConfig(): Record<string, unknown> { return { ...this.config }; }
  /** @internal The {className, config} pair the core reads (also for wrapped layers); a custom layer's config is its getConfig(). */
  toJSON(): { className: string; config: Record<string, unknown> } {
    if (!this.isCustom) return { className: this.className, config: this.config };
    const config = this.getConfig();
    if (config === null || typeof config !== 'object') throw new Error(`${this.name}: getConfig() must return an object`);
    return { className: this.className, config: { ...config, name: this.name, trainable: this.trainable } };
  }

  /**
   * How many tensors one application returns: recurrent layers with
   * returnState add their states; Bidirectional with mergeMode null returns
   * both directions' outputs, and with returnState both directions' states.
   */
  get numOutputs(): number {
    const states = (cls: string) => (cls === 'LSTM' || cls === 'ConvLSTM2D' ? 2 : 1);
    if (this.className === 'Bidirectional') {
      const inner = this.config.layer as { className: string; config: Record<string, unknown> } | undefined;
      if (!inner) return 1;
      return (this.config.mergeMode === null ? 2 : 1) + (inner.config.returnState ? 2 * states(inner.className) : 0);
    }
    return this.config.returnState ? 1 + states(this.className) : 1;
  }

  // ---- What a custom layer (class X extends kiln.layers.Layer) overrides or calls, as in TF.js. ----

  /** True once build() has run. */
  built = false;
  /** @internal The weights addWeight() declared, in order. */
  readonly addedWeights: LayerWeight[] = [];
  /** Creates the layer's weights for an input of `inputShape` (batch first, null); called once, before the first call(). */
  build(_inputShape: (number | null)[] | (number | null)[][]): void {
    this.built = true;
  }
  /** The layer's computation on concrete tensors, with kiln ops (custom layers override it; the default returns the inputs). */
  call(inputs: Tensor | Tensor[], _kwargs: Record<string, unknown>): Tensor | Tensor[] {
    return inputs;
  }
  /** The output shape for an input of `inputShape` (batch first, null); the default is the input's. */
  computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] | (number | null)[][] {
    return inputShape;
  }
  /** TF.js calls the layer's call hook here; Kiln has none, so it does nothing. */
  invokeCallHook(_inputs: Tensor | Tensor[], _kwargs: Record<string, unknown>): void {}
  /** TF.js's Layer.fromConfig: a layer of class `cls` from a saved config. */
  static fromConfig<T extends Layer>(cls: new (args: any) => T, config: Record<string, unknown>): T {
    return new cls(config);
  }

  /**
   * Declares a weight (in build()): its values live in the model, start from
   * `initializer` (a name such as 'glorotUniform', or kiln.initializers.*; TF.js's
   * default glorotUniform), and train unless `trainable` is false. Read it in
   * call() with `weight.read()`. Regularizers and constraints are refused
   * (Kiln adds no regularization losses).
   */
  addWeight(name: string, shape: number[], dtype: 'float32' = 'float32', initializer?: unknown, regularizer?: unknown,
    trainable = true, constraint?: unknown): LayerWeight {
    const what = `${this.name}.addWeight('${name}')`;
    if (typeof name !== 'string' || name === '') throw new Error(`${this.name}.addWeight: the name must be a non-empty string`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
      throw new Error(`${what}: shape must be a list of non-negative integers, got [${shape}]`);
    if (dtype !== undefined && dtype !== null && dtype !== 'float32') throw new Error(`${what}: dtype '${dtype}' is not supported; layer weights are float32`);
    if (regularizer !== undefined && regularizer !== null)
      throw new Error(`${what}: regularizers are not supported (Kiln adds no regularization losses)`);
    if (constraint !== undefined && constraint !== null) throw new Error(`${what}: constraints are not supported`);
    if (typeof trainable !== 'boolean') throw new Error(`${what}: trainable must be true or false`);
    if (this.addedWeights.some((w) => w.originalName === name)) throw new Error(`${what}: the layer already has a weight named '${name}'`);
    const weight = new LayerWeight(this, this.addedWeights.length, name, shape, initializer ?? 'glorotUniform', trainable);
    this.addedWeights.push(weight);
    return weight;
  }

  /** The layer's weights (TF.js's layer.weights): a custom layer's addWeight() objects, a built-in layer's once its model is built. */
  get weights(): LayerVariable[] {
    if (this.isCustom) return [...this.addedWeights];
    if (!this.owner) this.container?.build();
    return this.owner ? this.owner.layerVariables(this) : [];
  }
  get trainableWeights(): LayerVariable[] { return this.trainable ? this.weights.filter((w) => w.trainable) : []; }
  get nonTrainableWeights(): LayerVariable[] { return this.trainable ? this.weights.filter((w) => !w.trainable) : this.weights; }

  /**
   * Applies the layer to symbolic tensors (functional API). Recurrent layers
   * take `{initialState: [h]}` (LSTM: `[h, c]`; Bidirectional: the forward
   * states, then the backward ones), e.g. another layer's returned states.
   * On tensors it computes, as TF.js's does (`{training}` as model.apply's).
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: { initialState?: SymbolicTensor | SymbolicTensor[] }): SymbolicTensor | SymbolicTensor[];
  apply(inputs: Tensor | Tensor[], kwargs?: { training?: boolean }): Tensor | Tensor[];
  apply(inputs: SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[],
    kwargs?: { initialState?: SymbolicTensor | SymbolicTensor[]; training?: boolean }): SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[] {
    const given = Array.isArray(inputs) ? inputs : [inputs];
    if (given.length > 0 && given.every((t) => t instanceof Tensor)) {
      if (!eagerRunner) throw new Error(`${this.name}.apply: layers run on tensors through a model, which is not loaded`);
      return eagerRunner(this, given as Tensor[], kwargs ?? {});
    }
    if (kwargs?.training !== undefined) throw new Error(`${this.name}.apply: training applies to tensors; on symbolic tensors fit and predict set it`);
    const list = [...given] as SymbolicTensor[];
    const initial = kwargs?.initialState;
    if (initial !== undefined) list.push(...(Array.isArray(initial) ? initial : [initial]));
    for (const t of list)
      if (!(t instanceof SymbolicTensor))
        throw new Error(`${this.name}.apply: inputs must be all symbolic tensors (from kiln.input or another layer) or all tensors`);
    const node: LayerNode = { layer: this, inputs: list, outputs: [] };
    for (let i = 0; i < this.numOutputs; i++) node.outputs.push(new SymbolicTensor(node, i, null));
    this.nodes.push(node);
    return node.outputs.length === 1 ? node.outputs[0] : node.outputs;
  }

  /**
   * Keras's `trainable`: false freezes the layer, so fit() leaves its weights
   * as they are, and a frozen batchNormalization runs in inference mode (its
   * moving statistics, not the batch's). Takes effect at the next call.
   */
  get trainable(): boolean { return this.config.trainable !== false; }
  set trainable(value: boolean) {
    if (typeof value !== 'boolean') throw new Error(`${this.name}: trainable must be true or false`);
    this.owner?.setLayerTrainable(this, value);
    this.config.trainable = value;
  }

  /** The output of the layer's (only) application, for building a new model on top (TF.js's layer.output). */
  get output(): SymbolicTensor | SymbolicTensor[] {
    if (this.nodes.length !== 1)
      throw new Error(`${this.name}.output: the layer has ${this.nodes.length} applications; use the tensor an apply() returned`);
    const outs = this.nodes[0].outputs;
    return outs.length === 1 ? outs[0] : outs;
  }

  /** The layer's weights in TF.js order (e.g. [kernel, bias]). */
  getWeights(): Tensor[] {
    if (!this.owner) this.container?.build();
    if (!this.owner) throw new Error(`${this.name}: the layer has no weights until its model is built`);
    return this.owner.layerWeights(this);
  }
  setWeights(weights: Tensor[]): void {
    if (!this.owner) this.container?.build();
    if (!this.owner) throw new Error(`${this.name}: the layer has no weights until its model is built`);
    this.owner.setLayerWeights(this, weights);
  }
}

// How a layer runs on tensors (model.ts: in a model of its own); set there, since models are made of layers.
type EagerRunner = (layer: Layer, inputs: Tensor[], kwargs: Record<string, unknown>) => Tensor | Tensor[];
let eagerRunner: EagerRunner | null = null;
/** @internal */
export function setEagerLayerRunner(run: EagerRunner): void {
  eagerRunner = run;
}

/** A custom layer's weight, made by addWeight() (TF.js's LayerVariable); its values live in the model. */
export class LayerWeight implements LayerVariable {
  readonly dtype = 'float32' as const;
  /** @internal The weight's values while the layer's call() runs (set by custom_layers.ts). */
  bound: Tensor | null = null;
  /** @internal */
  constructor(private readonly layer: Layer, private readonly index: number, readonly originalName: string, readonly shape: number[],
    /** @internal */ readonly initializer: unknown, readonly trainable: boolean) {}
  get name(): string { return `${this.layer.name}/${this.originalName}`; }
  /** The values: inside call(), the tensor the layer computes with; elsewhere a copy of the model's. */
  read(): Tensor {
    if (this.bound) return this.bound;
    const all = this.layer.getWeights();
    all.forEach((t, i) => { if (i !== this.index) t.dispose(); });
    return all[this.index];
  }
  write(value: Tensor): void {
    if (this.bound) throw new Error(`${this.name}.write: weights cannot change while the layer computes`);
    const all = this.layer.getWeights();
    const old = all[this.index];
    all[this.index] = value;
    try {
      this.layer.setWeights(all);
    } finally {
      all.forEach((t, i) => { if (i !== this.index) t.dispose(); });
      old.dispose();
    }
  }
}

// Custom layer classes by name (kiln.serialization.registerClass), so saved models that use them load.
const registeredClasses = new Map<string, typeof Layer>();

function customClassName(ctor: Function): string {
  const named = (ctor as unknown as { className?: unknown }).className;
  return typeof named === 'string' && named !== '' ? named : ctor.name;
}

/** TF.js's tf.serialization: registerClass makes a custom layer class loadable by its name. */
export const serialization = {
  registerClass<T extends typeof Layer>(cls: T, name?: string): T {
    if (typeof cls !== 'function' || !(cls.prototype instanceof Layer))
      throw new Error('serialization.registerClass: expects a class that extends kiln.layers.Layer');
    const key = name ?? customClassName(cls);
    if (!key) throw new Error('serialization.registerClass: the class needs a name (a static className)');
    registeredClasses.set(key, cls);
    return cls;
  },
  /** @internal */
  registeredClass(name: string): typeof Layer | undefined {
    return registeredClasses.get(name);
  },
};

// TF.js's RNN cells, by class: the core's recurrent layer each one runs as.
const CELL_LAYERS: Record<string, string> = { SimpleRNNCell: 'SimpleRNN', LSTMCell: 'LSTM', GRUCell: 'GRU', ConvLSTM2DCell: 'ConvLSTM2D' };

/**
 * A recurrent cell, for kiln.layers.rnn({cell}). The built-in ones
 * (kiln.layers.simpleRNNCell, lstmCell, gruCell, convLstm2dCell) hold the
 * arguments of one step: Kiln runs their whole sequence as the core's
 * recurrent layer of the same kind. A custom cell, as in TF.js, extends it:
 * `class MyCell extends kiln.layers.RNNCell` with `stateSize` (a number, or one
 * per state), `build(inputShape)` (addWeight) and `call([input, ...states])`
 * returning `[output, ...newStates]` with kiln ops; rnn() runs it step by step.
 */
export class RNNCell extends Layer {
  /** @internal A built-in cell's arguments (those of its recurrent layer's step). */
  readonly args: LayerArgs;
  /** A custom cell's state sizes: a number, or one per state (TF.js's stateSize; a field or a getter of the subclass). */
  declare stateSize: number | number[];
  /** A custom cell: `super(args)`, as in TF.js. */
  constructor(args?: LayerArgs);
  /** @internal A built-in cell of class `className`. */
  constructor(className: string, args: LayerArgs);
  constructor(classOrArgs: string | LayerArgs = {}, builtinArgs: LayerArgs = {}) {
    const builtin = typeof classOrArgs === 'string';
    if (builtin && (builtinArgs === null || typeof builtinArgs !== 'object')) throw new Error(`${classOrArgs}: arguments must be an object`);
    super(classOrArgs as string, builtin ? { name: builtinArgs.name } : undefined);
    this.args = builtin ? builtinArgs : {};
  }
  /** @internal True for a cell class written in JavaScript. */
  get isCustom(): boolean { return this.constructor !== RNNCell; }
  getConfig(): Record<string, unknown> { return this.isCustom ? super.getConfig() : { ...this.args }; }
}

// The arguments rnn() passes on (the cell's are the others).
const RNN_ARGS = ['returnSequences', 'returnState', 'goBackwards', 'stateful', 'unroll', 'name', 'trainable', 'inputShape', 'batchInputShape',
  'inputDim', 'inputLength', 'batchSize', 'dtype'];

/**
 * TF.js's rnn({cell}): a recurrent layer over a cell (one cell, or a list
 * or stackedRNNCells of one). Stacked cells are refused: stack recurrent
 * layers instead (returnSequences on all but the last).
 */
export function rnnLayer(args: LayerArgs & { cell?: unknown }): Layer {
  if (args === null || typeof args !== 'object') throw new Error('rnn: arguments must be an object');
  let cell = args.cell;
  if (cell instanceof StackedRNNCells) cell = cell.cells;
  const cells = Array.isArray(cell) ? cell : [cell];
  if (cells.length === 0 || cells.some((c) => !(c instanceof RNNCell)))
    throw new Error('rnn: cell must be kiln.layers.simpleRNNCell, lstmCell, gruCell, convLstm2dCell or a class extending kiln.layers.RNNCell, or a list of them');
  for (const key of Object.keys(args))
    if (key !== 'cell' && !RNN_ARGS.includes(key)) throw new Error(`rnn: unknown argument '${key}' (the cell takes the step's arguments)`);
  const { cell: _cell, ...rest } = args;
  if (cells.some((c) => (c as RNNCell).isCustom)) {
    if (cells.length > 1) throw new Error('rnn: a custom cell runs alone (stack rnn layers instead)');
    return new CustomCellRNN(cells[0] as RNNCell, rest);
  }
  if (cells.length > 1) return new StackedRNN(cells as RNNCell[], rest);
  const { name: _name, ...step } = (cells[0] as RNNCell).args;
  return new Layer(CELL_LAYERS[(cells[0] as RNNCell).className], { ...step, ...rest });
}

/**
 * rnn() over several cells (TF.js's stacked cells): a chain of the core's
 * recurrent layers, one per cell, which computes what the stack does (each
 * cell reads the previous one's outputs; only the first reads the sequence
 * backwards with goBackwards). Applied, it adds its layers to the model (as
 * a model used as a layer does); with returnState it returns the output and
 * every cell's states, the last cell's first, as TF.js.
 */
export class StackedRNN extends Layer {
  /** The recurrent layers, one per cell. */
  readonly inner: Layer[];
  private readonly returnsState: boolean;
  /** @internal */
  constructor(cells: RNNCell[], rest: LayerArgs) {
    super('StackedRNN', { name: (rest.name as string | undefined) ?? uniqueLayerName('RNN'), dtype: rest.dtype, inputShape: rest.inputShape, batchInputShape: rest.batchInputShape,
      inputDim: rest.inputDim, inputLength: rest.inputLength });
    this.returnsState = rest.returnState === true;
    const last = cells.length - 1;
    this.inner = cells.map((cell, i) => {
      const { name: _name, ...step } = cell.args;
      return new Layer(CELL_LAYERS[cell.className], {
        // TF.js's weight names for stacked cells: <rnn>/RNNCell_<i>/kernel, ...
        ...step, name: `${this.name}/RNNCell_${i}`, trainable: rest.trainable, stateful: rest.stateful, unroll: rest.unroll,
        returnSequences: i < last ? true : rest.returnSequences, returnState: rest.returnState, goBackwards: i === 0 ? rest.goBackwards : false,
        ...(i === 0 ? { inputShape: rest.inputShape, batchInputShape: rest.batchInputShape, inputDim: rest.inputDim, inputLength: rest.inputLength } : {}),
      });
    });
  }

  apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: { initialState?: SymbolicTensor | SymbolicTensor[] }): SymbolicTensor | SymbolicTensor[];
  apply(inputs: Tensor | Tensor[], kwargs?: { training?: boolean }): Tensor | Tensor[];
  apply(inputs: SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[],
    kwargs?: { initialState?: SymbolicTensor | SymbolicTensor[]; training?: boolean }): SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[] {
    if ((Array.isArray(inputs) ? inputs : [inputs]).every((t) => t instanceof Tensor)) return super.apply(inputs as Tensor[], kwargs);
    if (kwargs?.initialState !== undefined) throw new Error(`${this.name}: initial states for stacked cells are not supported`);
    let t = inputs as SymbolicTensor | SymbolicTensor[];
    const states: SymbolicTensor[][] = [];
    for (const layer of this.inner) {
      const out = layer.apply(t);
      if (this.returnsState) {
        const [seq, ...st] = out as SymbolicTensor[];
        states.push(st);
        t = seq;
      } else {
        t = out;
      }
    }
    // TF.js lists the states last cell first (each cell's own in order: LSTM h, c).
    return this.returnsState ? [t as SymbolicTensor, ...states.reverse().flat()] : t;
  }

  getWeights(): Tensor[] { return this.inner.flatMap((l) => l.getWeights()); }
  setWeights(weights: Tensor[]): void {
    let at = 0;
    for (const l of this.inner) {
      const n = l.getWeights().length;
      l.setWeights(weights.slice(at, at + n));
      at += n;
    }
  }
  get trainable(): boolean { return this.inner.some((l) => l.trainable); }
  set trainable(value: boolean) { for (const l of this.inner) l.trainable = value; }
}

/**
 * rnn() over a custom cell: a custom layer (it runs in the model's plans as
 * any class extending kiln.layers.Layer does, trained through the autograd
 * tape) that calls the cell's call() once per step. The cell's weights are
 * the layer's: they are declared again here and bound to the cell's while
 * it computes.
 */
export class CustomCellRNN extends Layer {
  static readonly className = 'RNN';
  private readonly returnSequences: boolean;
  private readonly goBackwards: boolean;
  /** @internal */
  constructor(readonly cell: RNNCell, rest: LayerArgs) {
    // The input arguments (inputShape, inputDim with inputLength, dtype, ...) as any layer takes them.
    const { returnSequences: _seq, goBackwards: _back, returnState: _state, stateful: _stateful, unroll: _unroll, ...layerArgs } = rest;
    super(layerArgs);
    for (const key of ['returnState', 'stateful', 'unroll'])
      if (rest[key]) throw new Error(`${this.name}: '${key}' is not supported with a custom cell`);
    this.returnSequences = rest.returnSequences === true;
    this.goBackwards = rest.goBackwards === true;
  }
  private get stateSizes(): number[] {
    const s = this.cell.stateSize;
    const sizes = Array.isArray(s) ? s : [s];
    if (sizes.length === 0 || sizes.some((d) => !Number.isInteger(d) || d <= 0))
      throw new Error(`${this.name}: the cell's stateSize must be a positive integer or a list of them, got ${JSON.stringify(s)}`);
    return sizes;
  }
  build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = inputShape as (number | null)[];
    if (shape.length !== 3) throw new Error(`${this.name}: expects inputs [batch, steps, features], got [${shape}]`);
    if (!this.cell.built) this.cell.build([shape[0], shape[2]]);
    this.cell.built = true;
    for (const w of this.cell.addedWeights) this.addWeight(w.originalName, w.shape, 'float32', w.initializer, undefined, w.trainable);
    super.build(inputShape);
  }
  computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
    const [batch, steps] = inputShape as (number | null)[];
    const units = this.stateSizes[0];
    return this.returnSequences ? [batch, steps, units] : [batch, units];
  }
  call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const mine = this.addedWeights, theirs = this.cell.addedWeights;
    theirs.forEach((w, i) => { w.bound = mine[i].bound; });
    try {
      let states: Tensor[] = this.stateSizes.map((size) => zeros([x.shape[0], size]));
      const steps = unstack(x, 1);
      if (this.goBackwards) steps.reverse();
      const outputs: Tensor[] = [];
      for (const step of steps) {
        const result = this.cell.call([step, ...states], kwargs);
        const list = Array.isArray(result) ? result : [result];
        if (list.length !== 1 + states.length)
          throw new Error(`${this.name}: the cell's call() must return [output, ...${states.length} new state(s)], got ${list.length} tensor(s)`);
        outputs.push(list[0]);
        states = list.slice(1);
      }
      return this.returnSequences ? stack(outputs, 1) : outputs[outputs.length - 1];
    } finally {
      theirs.forEach((w) => { w.bound = null; });
    }
  }
  getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), cell: { className: this.cell.getClassName(), config: this.cell.getConfig() },
      returnSequences: this.returnSequences, goBackwards: this.goBackwards };
  }
}

/** TF.js's stackedRNNCells({cells}), for rnn({cell}). */
export class StackedRNNCells {
  readonly cells: RNNCell[];
  /** @internal */
  constructor(args: { cells: RNNCell[] }) {
    if (!args || !Array.isArray(args.cells) || args.cells.some((c) => !(c instanceof RNNCell)))
      throw new Error('stackedRNNCells: cells must be a list of kiln.layers.*Cell');
    this.cells = args.cells;
  }
}

/** @internal The cell factories and rnn() for the layers namespace. */
export const rnnFactories = {
  simpleRNNCell: (args: LayerArgs) => new RNNCell('SimpleRNNCell', args),
  lstmCell: (args: LayerArgs) => new RNNCell('LSTMCell', args),
  gruCell: (args: LayerArgs) => new RNNCell('GRUCell', args),
  convLstm2dCell: (args: LayerArgs) => new RNNCell('ConvLSTM2DCell', args),
  stackedRNNCells: (args: { cells: RNNCell[] }) => new StackedRNNCells(args),
  rnn: rnnLayer,
};

/**
 * @internal A layer from a saved {className, config}: a registered custom
 * class through its fromConfig, a TF.js RNN over one cell as the core's
 * recurrent layer, else a layer of the core's class.
 */
export function layerFromConfig(className: string, config: Record<string, unknown>): Layer {
  if (className === 'RNN') {
    type Saved = { className?: string; class_name?: string; config?: LayerArgs & { cells?: Saved[] } };
    const cellOf = (saved: Saved | undefined): RNNCell => {
      const cellClass = saved?.className ?? saved?.class_name;
      const custom = cellClass ? registeredClasses.get(cellClass) : undefined;
      if (custom && custom.prototype instanceof RNNCell) {
        const cell = (custom as unknown as { fromConfig(c: unknown, config: unknown): Layer }).fromConfig(custom, { ...(saved!.config ?? {}) });
        if (!(cell instanceof RNNCell)) throw new Error(`${cellClass}.fromConfig did not return a cell`);
        return cell;
      }
      if (!cellClass || !CELL_LAYERS[cellClass])
        throw new Error(`RNN: its cell (${cellClass ?? 'none'}) is not one Kiln has (SimpleRNNCell, LSTMCell, GRUCell, ConvLSTM2DCell) nor a registered custom cell class`);
      return new RNNCell(cellClass, saved!.config ?? {});
    };
    const saved = config.cell as Saved | undefined;
    const stacked = (saved?.className ?? saved?.class_name) === 'StackedRNNCells';
    // TF.js also repeats the cell's arguments at the top: the cell's own are used.
    const outer = Object.fromEntries(Object.entries(config).filter(([k]) => RNN_ARGS.includes(k)));
    return rnnLayer({ ...outer, cell: stacked ? (saved!.config?.cells ?? []).map(cellOf) : cellOf(saved) });
  }
  const cls = registeredClasses.get(className);
  if (!cls) return new Layer(className, config as LayerArgs);
  const layer = (cls as unknown as { fromConfig(c: unknown, config: unknown): Layer }).fromConfig(cls, { ...config });
  if (!(layer instanceof Layer)) throw new Error(`${className}.fromConfig did not return a layer`);
  return layer;
}

/** A model input (functional API): `shape` excludes the batch dimension. */
export function input(args: { shape?: number[]; batchShape?: (number | null)[]; name?: string }): SymbolicTensor {
  const shape = args.shape ?? (args.batchShape ? (args.batchShape.slice(1) as number[]) : undefined);
  if (!shape) throw new Error('input: needs a shape (without the batch dimension), e.g. kiln.input({shape: [28, 28, 1]})');
  return inputOf(new Layer('InputLayer', { name: args.name ?? uniqueInputName(), inputShape: shape }));
}

/** @internal The symbolic tensor an input layer (kiln.layers.inputLayer, or kiln.input's) gives. */
export function inputOf(layer: Layer): SymbolicTensor {
  if (layer.nodes.length) return layer.nodes[0].outputs[0];
  const shape = layer.inputShape as number[];
  layer.config.shape = shape;
  const node: LayerNode = { layer, inputs: [], outputs: [] };
  node.outputs.push(new SymbolicTensor(node, 0, [null, ...shape]));
  layer.nodes.push(node);
  return node.outputs[0];
}

// Every layer class the core has (src/layers/registry.cc), by its
// kiln.layers.* factory name (TF.js spelling); a test keeps the two in step.
const CLASSES: Record<string, string> = {
  dense: 'Dense', activation: 'Activation', masking: 'Masking', flatten: 'Flatten', reshape: 'Reshape', permute: 'Permute',
  repeatVector: 'RepeatVector', dropout: 'Dropout', spatialDropout1d: 'SpatialDropout1D', spatialDropout2d: 'SpatialDropout2D',
  gaussianNoise: 'GaussianNoise', gaussianDropout: 'GaussianDropout', alphaDropout: 'AlphaDropout',
  conv1d: 'Conv1D', conv2d: 'Conv2D', depthwiseConv2d: 'DepthwiseConv2D', separableConv2d: 'SeparableConv2D',
  conv2dTranspose: 'Conv2DTranspose', conv3d: 'Conv3D', conv3dTranspose: 'Conv3DTranspose', maxPooling3d: 'MaxPooling3D',
  averagePooling3d: 'AveragePooling3D', maxPooling1d: 'MaxPooling1D', maxPooling2d: 'MaxPooling2D',
  averagePooling1d: 'AveragePooling1D', averagePooling2d: 'AveragePooling2D', globalMaxPooling1d: 'GlobalMaxPooling1D',
  globalMaxPooling2d: 'GlobalMaxPooling2D', globalAveragePooling1d: 'GlobalAveragePooling1D',
  globalAveragePooling2d: 'GlobalAveragePooling2D', batchNormalization: 'BatchNormalization',
  layerNormalization: 'LayerNormalization', cropping1d: 'Cropping1D', cropping2d: 'Cropping2D', zeroPadding1d: 'ZeroPadding1D',
  zeroPadding2d: 'ZeroPadding2D', upSampling1d: 'UpSampling1D', upSampling2d: 'UpSampling2D', embedding: 'Embedding',
  add: 'Add', subtract: 'Subtract', multiply: 'Multiply', average: 'Average', maximum: 'Maximum', minimum: 'Minimum',
  concatenate: 'Concatenate', dot: 'Dot', reLU: 'ReLU', leakyReLU: 'LeakyReLU', prelu: 'PReLU', elu: 'ELU',
  thresholdedReLU: 'ThresholdedReLU', softmax: 'Softmax', inputLayer: 'InputLayer',
  simpleRNN: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU', convLstm2d: 'ConvLSTM2D', bidirectional: 'Bidirectional', timeDistributed: 'TimeDistributed',
  rescaling: 'Rescaling', centerCrop: 'CenterCrop', resizing: 'Resizing', categoryEncoding: 'CategoryEncoding',
};

/** Every layer class name (TF.js's className) the core builds. */
export function layerClassNames(): string[] {
  return Object.values(CLASSES);
}

// TF.js's other names for the same factories.
const ALIASES: Record<string, string> = {
  maxPool1d: 'MaxPooling1D', maxPool2d: 'MaxPooling2D', avgPool1d: 'AveragePooling1D', avgPool2d: 'AveragePooling2D',
  avgPooling1d: 'AveragePooling1D', avgPooling2d: 'AveragePooling2D', globalMaxPool1d: 'GlobalMaxPooling1D',
  globalMaxPool2d: 'GlobalMaxPooling2D', cropping2D: 'Cropping2D', maxPool3d: 'MaxPooling3D', avgPool3d: 'AveragePooling3D',
  avgPooling3d: 'AveragePooling3D',
};

const factories = Object.fromEntries(
  [...Object.entries(CLASSES), ...Object.entries(ALIASES)].map(([factory, className]) => [factory, (args: LayerArgs = {}) => new Layer(className, args)]),
) as Record<string, (args?: LayerArgs) => Layer>;

// TF.js 4.22 layers Kiln does not have yet: their factories say so, rather
// than kiln.layers.x being undefined (a TypeError that names nothing).
const NOT_YET: Record<string, string> = {
  randomWidth: 'its output width changes from batch to batch, and Kiln plans have fixed shapes',
};
const notYet = Object.fromEntries(Object.entries(NOT_YET).map(([name, why]) => [name, () => {
  throw new Error(`kiln.layers.${name} is not supported yet: ${why}`);
}]));

/** The layer factories (kiln.layers.dense({...}), ...) and the base classes of custom layers and cells (kiln.layers.Layer, RNNCell). */
export const layers = Object.assign(Object.create(null) as Record<string, unknown>, notYet, factories, rnnFactories, { Layer, RNNCell }) as unknown as
  LayerFactories & { Layer: typeof Layer; RNNCell: typeof RNNCell };
