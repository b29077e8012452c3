// Layers with TF.js's names and arguments (kiln.layers.conv2d({...}), ...).
// A layer here is its class name and config; the C++ core validates the
// config, builds the weights and runs it. Layers are applied to symbolic
// tensors (kiln.input) to make functional models, or stacked in a Sequential.

import { Tensor } from './tensor.js';
import { uniqueInputName, uniqueLayerName } from './names.js';

export type LayerArgs = Record<string, unknown> & {
  name?: string;
  inputShape?: (number | null)[];
  batchInputShape?: (number | null)[];
  inputDim?: number;
  inputLength?: number;
};

/** What a model gives a layer once built, to reach its weights. */
export interface LayerOwner {
  layerWeights(layer: Layer): Tensor[];
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

  constructor(className: string, args: LayerArgs = {}) {
    if (args === null || typeof args !== 'object') throw new Error(`${className}: arguments must be an object`);
    this.className = className;
    this.name = typeof args.name === 'string' ? args.name : uniqueLayerName(className);
    const config: Record<string, unknown> = { name: this.name };
    // An embedding's inputDim is its vocabulary size, not the input's shape.
    const embedding = className === 'Embedding';
    const inputArgs = embedding ? INPUT_ARGS.filter((k) => k !== 'inputDim') : INPUT_ARGS;
    for (const [k, v] of Object.entries(args)) if (!inputArgs.includes(k) && k !== 'name' && v !== undefined) config[k] = v instanceof Layer ? v.toJSON() : v;
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

  getClassName(): string { return this.className; }
  getConfig(): Record<string, unknown> { return { ...this.config }; }
  /** @internal The {className, config} pair the core reads (also for wrapped layers). */
  toJSON(): { className: string; config: Record<string, unknown> } {
    return { className: this.className, config: this.config };
  }

  /**
   * How many tensors one application returns: recurrent layers with
   * returnState add their states; Bidirectional with mergeMode null returns
   * both directions' outputs, and with returnState both directions' states.
   */
  get numOutputs(): number {
    const states = (cls: string) => (cls === 'LSTM' ? 2 : 1);
    if (this.className === 'Bidirectional') {
      const inner = this.config.layer as { className: string; config: Record<string, unknown> } | undefined;
      if (!inner) return 1;
      return (this.config.mergeMode === null ? 2 : 1) + (inner.config.returnState ? 2 * states(inner.className) : 0);
    }
    return this.config.returnState ? 1 + states(this.className) : 1;
  }

  /**
   * Applies the layer to symbolic tensors (functional API). Recurrent layers
   * take `{initialState: [h]}` (LSTM: `[h, c]`; Bidirectional: the forward
   * states, then the backward ones), e.g. another layer's returned states.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: { initialState?: SymbolicTensor | SymbolicTensor[] }): SymbolicTensor | SymbolicTensor[] {
    const list = Array.isArray(inputs) ? [...inputs] : [inputs];
    const initial = kwargs?.initialState;
    if (initial !== undefined) list.push(...(Array.isArray(initial) ? initial : [initial]));
    for (const t of list)
      if (!(t instanceof SymbolicTensor)) throw new Error(`${this.name}.apply: inputs must be symbolic tensors (from kiln.input or another layer)`);
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

/** A model input (functional API): `shape` excludes the batch dimension. */
export function input(args: { shape?: number[]; batchShape?: (number | null)[]; name?: string }): SymbolicTensor {
  const shape = args.shape ?? (args.batchShape ? (args.batchShape.slice(1) as number[]) : undefined);
  if (!shape) throw new Error('input: needs a shape (without the batch dimension), e.g. kiln.input({shape: [28, 28, 1]})');
  const layer = new Layer('InputLayer', { name: args.name ?? uniqueInputName(), inputShape: shape });
  layer.config.shape = shape;
  const node: LayerNode = { layer, inputs: [], outputs: [] };
  node.outputs.push(new SymbolicTensor(node, 0, [null, ...shape]));
  layer.nodes.push(node);
  return node.outputs[0];
}

// Every layer class the core has (src/layers/registry.cc), by its
// kiln.layers.* factory name (TF.js spelling); a test keeps the two in step.
const CLASSES: Record<string, string> = {
  dense: 'Dense', activation: 'Activation', flatten: 'Flatten', reshape: 'Reshape', permute: 'Permute',
  repeatVector: 'RepeatVector', dropout: 'Dropout', spatialDropout1d: 'SpatialDropout1D', spatialDropout2d: 'SpatialDropout2D',
  gaussianNoise: 'GaussianNoise', gaussianDropout: 'GaussianDropout', alphaDropout: 'AlphaDropout',
  conv1d: 'Conv1D', conv2d: 'Conv2D', depthwiseConv2d: 'DepthwiseConv2D', separableConv2d: 'SeparableConv2D',
  conv2dTranspose: 'Conv2DTranspose', maxPooling1d: 'MaxPooling1D', maxPooling2d: 'MaxPooling2D',
  averagePooling1d: 'AveragePooling1D', averagePooling2d: 'AveragePooling2D', globalMaxPooling1d: 'GlobalMaxPooling1D',
  globalMaxPooling2d: 'GlobalMaxPooling2D', globalAveragePooling1d: 'GlobalAveragePooling1D',
  globalAveragePooling2d: 'GlobalAveragePooling2D', batchNormalization: 'BatchNormalization',
  layerNormalization: 'LayerNormalization', cropping1d: 'Cropping1D', cropping2d: 'Cropping2D', zeroPadding1d: 'ZeroPadding1D',
  zeroPadding2d: 'ZeroPadding2D', upSampling1d: 'UpSampling1D', upSampling2d: 'UpSampling2D', embedding: 'Embedding',
  add: 'Add', subtract: 'Subtract', multiply: 'Multiply', average: 'Average', maximum: 'Maximum', minimum: 'Minimum',
  concatenate: 'Concatenate', dot: 'Dot', reLU: 'ReLU', leakyReLU: 'LeakyReLU', prelu: 'PReLU', elu: 'ELU',
  thresholdedReLU: 'ThresholdedReLU', softmax: 'Softmax', inputLayer: 'InputLayer',
  simpleRNN: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU', bidirectional: 'Bidirectional', timeDistributed: 'TimeDistributed',
};

/** Every layer class name (TF.js's className) the core builds. */
export function layerClassNames(): string[] {
  return Object.values(CLASSES);
}

// TF.js's other names for the same factories.
const ALIASES: Record<string, string> = {
  maxPool1d: 'MaxPooling1D', maxPool2d: 'MaxPooling2D', avgPool1d: 'AveragePooling1D', avgPool2d: 'AveragePooling2D',
  avgPooling1d: 'AveragePooling1D', avgPooling2d: 'AveragePooling2D', globalMaxPool1d: 'GlobalMaxPooling1D',
  globalMaxPool2d: 'GlobalMaxPooling2D',
};

export const layers: Record<string, (args?: LayerArgs) => Layer> = Object.fromEntries(
  [...Object.entries(CLASSES), ...Object.entries(ALIASES)].map(([factory, className]) => [factory, (args: LayerArgs = {}) => new Layer(className, args)]),
);
