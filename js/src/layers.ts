// Layer objects, created with TF.js's kiln.layers.* names. A layer holds its
// configuration until a model builds it; then its weights live in the model.

import { ACTIVATIONS, INITIALIZERS, ActivationName, InitializerName, codeOf } from './codes.js';
import { Tensor } from './tensor.js';

export interface DenseLayerArgs {
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  inputShape?: number[];
  batchInputShape?: (number | null)[];
  inputDim?: number;
  name?: string;
}

/** What a model gives a layer once built, to reach its weights. */
export interface LayerOwner {
  layerWeights(layer: Dense): Tensor[];
  setLayerWeights(layer: Dense, weights: Tensor[]): void;
}

let layerCount = 0;

export class Dense {
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerName;
  readonly biasInitializer: InitializerName;
  readonly inputDim: number | undefined;
  readonly name: string;
  /** @internal */ owner: LayerOwner | null = null;

  constructor(args: DenseLayerArgs) {
    if (!args || !Number.isInteger(args.units) || args.units <= 0)
      throw new Error(`dense: units must be a positive integer, got ${args?.units}`);
    this.units = args.units;
    this.activation = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
    this.biasInitializer = args.biasInitializer ?? 'zeros';
    codeOf(ACTIVATIONS, this.activation, 'activation');
    codeOf(INITIALIZERS, this.kernelInitializer, 'kernelInitializer');
    codeOf(INITIALIZERS, this.biasInitializer, 'biasInitializer');
    const shape = args.inputShape ?? (args.batchInputShape ? args.batchInputShape.slice(1) : undefined);
    if (shape !== undefined && (shape.length !== 1 || !Number.isInteger(shape[0]) || (shape[0] as number) <= 0))
      throw new Error(`dense: inputShape must be [features], got [${shape}]`);
    this.inputDim = args.inputDim ?? (shape ? (shape[0] as number) : undefined);
    this.name = args.name ?? `dense_${++layerCount}`;
  }

  getClassName(): string { return 'Dense'; }
  getConfig(): Record<string, unknown> {
    return { name: this.name, units: this.units, activation: this.activation, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer };
  }

  /** [kernel [in, units], bias [units]] as in TF.js. */
  getWeights(): Tensor[] {
    if (!this.owner) throw new Error(`${this.name}: the layer has no weights until its model is built`);
    return this.owner.layerWeights(this);
  }
  setWeights(weights: Tensor[]): void {
    if (!this.owner) throw new Error(`${this.name}: the layer has no weights until its model is built`);
    this.owner.setLayerWeights(this, weights);
  }
}

export const layers = {
  dense: (args: DenseLayerArgs): Dense => new Dense(args),
};
