// The arguments of every kiln.layers.* factory, typed: TF.js's names and
// types, narrowed to what the C++ core reads (src/layers/*.cc), so a typo in
// a factory or an argument name (`kiln.layers.denze`, `{unitz: 3}`), or a
// value the core does not take (`padding: 'causal'`), fails to compile.
// Arguments TF.js has and the core does not read are absent: the core would
// not honour them. Types only: nothing here exists at run time.

import type { Layer, RNNCell, StackedRNNCells } from './layers.js';

/** An activation's name, as the core spells it (src/core/activation.cc). */
export type ActivationIdentifier =
  | 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'hardSigmoid' | 'tanh' | 'softmax' | 'logSoftmax' | 'elu' | 'selu'
  | 'gelu' | 'swish' | 'mish' | 'softplus' | 'softsign' | 'exponential' | 'leakyRelu';

/** The activations a recurrent layer takes: elementwise ones (not softmax or logSoftmax). */
export type RecurrentActivationIdentifier = Exclude<ActivationIdentifier, 'softmax' | 'logSoftmax'>;

/**
 * An initializer: a name ('glorotUniform', 'heNormal', 'zeros', ...; TF.js's
 * camel case or Keras's snake case), a `{className, config}` object
 * (`{className: 'RandomUniform', config: {minval: 0, maxval: 1}}`), or a
 * `kiln.initializers.*` object. An initializer's own seed is refused: seed the
 * model (`kiln.sequential({seed})`).
 */
export type InitializerArg = string | { className: string; config?: Record<string, unknown> } | { toJSON(): unknown };

/**
 * A regularizer or constraint (TF.js's `kernelRegularizer`, `biasConstraint`,
 * ...). Kiln adds no regularization losses and applies no constraints: a layer
 * that sets one builds and predicts, but its model refuses to train
 * (src/layers/registry.cc, training_only_option). Accepted so that models
 * written for TF.js run inference unchanged.
 */
export type TrainingOnlyArg = unknown;

/** What every layer factory takes. */
export interface BaseLayerArgs {
  /** The layer's name (unique in a model); by default TF.js's automatic one (`dense_Dense1`). */
  name?: string;
  /** False freezes the layer: fitting leaves its weights as they are (default true). */
  trainable?: boolean;
  /** For a model's first layer: the input's shape without the batch dimension, e.g. `[28, 28, 1]`. */
  inputShape?: number[];
  /** The input's shape with the batch dimension first (`[null, 28, 28, 1]`); the batch entry is not used. */
  batchInputShape?: (number | null)[];
  /**
   * Accepted for TF.js compatibility and not used: a Kiln model takes any
   * batch size (a stateful recurrent layer keeps states per batch size).
   */
  batchSize?: number;
  /** With no inputShape: a 1-D input of this many features (`[inputDim]`, or `[inputLength, inputDim]`). */
  inputDim?: number;
  /** With inputDim, the number of steps of a sequence input; for embedding, the sequence length. */
  inputLength?: number;
  /** Layers compute in float32 only. */
  dtype?: 'float32';
}

// ---- core layers ----

/**
 * masking: steps whose features all equal `maskValue` are zeroed and masked:
 * the recurrent layers after it skip them (keeping their state and repeating
 * the previous output). Dense, activation, dropout, noise, normalization and
 * timeDistributed layers pass the mask on; other layers refuse a masked input,
 * as in TF.js.
 */
export interface MaskingLayerArgs extends BaseLayerArgs {
  /** The padding value (default 0). */
  maskValue?: number;
}

/** dense: a fully connected layer, `activation(input · kernel + bias)`, applied along the last axis. */
export interface DenseLayerArgs extends BaseLayerArgs {
  /** The output size. */
  units: number;
  /** Applied to the output (default 'linear'). */
  activation?: ActivationIdentifier;
  /** Whether to add a bias (default true). */
  useBias?: boolean;
  /** The kernel's initial values (default 'glorotNormal', as TF.js). */
  kernelInitializer?: InitializerArg;
  /** The bias's initial values (default 'zeros'). */
  biasInitializer?: InitializerArg;
  /** Prediction only: see TrainingOnlyArg. */
  kernelRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  biasRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  activityRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  kernelConstraint?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  biasConstraint?: TrainingOnlyArg;
}

/** activation: applies an activation function elementwise (softmax: over the last axis). */
export interface ActivationLayerArgs extends BaseLayerArgs {
  /** The function to apply. */
  activation: ActivationIdentifier;
}

/** flatten: reshapes each sample to one dimension. */
export interface FlattenLayerArgs extends BaseLayerArgs {
  /** The input's layout; 'channelsFirst' flattens in channels-first order, as Keras (default 'channelsLast'). */
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

/** reshape: gives each sample a new shape with the same number of values. */
export interface ReshapeLayerArgs extends BaseLayerArgs {
  /** The new shape without the batch dimension; at most one entry may be -1 or null (inferred). */
  targetShape: (number | null)[];
}

/** permute: reorders the axes of each sample. */
export interface PermuteLayerArgs extends BaseLayerArgs {
  /** The new order of the non-batch axes, numbered from 1 (`[2, 1]` swaps two axes). */
  dims: number[];
}

/** repeatVector: repeats a `[batch, features]` input `n` times into `[batch, n, features]`. */
export interface RepeatVectorLayerArgs extends BaseLayerArgs {
  /** How many times to repeat. */
  n: number;
}

/** inputLayer: a model's input as a layer (functional models usually use kiln.input). */
export interface InputLayerArgs {
  /** The input's shape without the batch dimension. */
  inputShape?: number[];
  /** The input's shape with the batch dimension first (`[null, ...]`). */
  batchInputShape?: (number | null)[];
  /** Accepted for TF.js compatibility and not used (any batch size is taken). */
  batchSize?: number;
  /** Inputs are float32. */
  dtype?: 'float32';
  /** The input's name. */
  name?: string;
}

// ---- convolution ----

/** What every convolution takes. */
export interface BaseConvLayerArgs extends BaseLayerArgs {
  /** The window's size: one number for every spatial axis, or one per axis. */
  kernelSize: number | number[];
  /** The step between windows (default 1); strides > 1 cannot be combined with dilationRate > 1. */
  strides?: number | number[];
  /** 'valid' (no padding, the default) or 'same' (the output keeps the input's size at stride 1). */
  padding?: 'valid' | 'same';
  /** Inputs are channels-last only. */
  dataFormat?: 'channelsLast';
  /** The spacing of the window's cells (default 1). */
  dilationRate?: number | [number] | [number, number] | [number, number, number];
  /** Applied to the output (default 'linear'). */
  activation?: ActivationIdentifier;
  /** Whether to add a bias (default true). */
  useBias?: boolean;
  /** The bias's initial values (default 'zeros'). */
  biasInitializer?: InitializerArg;
  /** Prediction only: see TrainingOnlyArg. */
  biasRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  activityRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  biasConstraint?: TrainingOnlyArg;
}

/** conv1d and conv2d: convolutions over `[steps, channels]` or `[height, width, channels]` inputs. */
export interface ConvLayerArgs extends BaseConvLayerArgs {
  /** The number of output channels. */
  filters: number;
  /** The kernel's initial values (default 'glorotNormal', as TF.js). */
  kernelInitializer?: InitializerArg;
  /**
   * Not in TF.js (Keras's and PyTorch's argument): splits the input channels
   * into this many groups, each convolved with its own filters (default 1;
   * input channels and filters must divide by it).
   */
  groups?: number;
  /** Prediction only: see TrainingOnlyArg. */
  kernelRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  kernelConstraint?: TrainingOnlyArg;
}

/** conv2dTranspose: the transposed ("deconvolution") 2-D convolution. */
export interface Conv2DTransposeLayerArgs extends BaseConvLayerArgs {
  /** The number of output channels. */
  filters: number;
  /** The kernel's initial values (default 'glorotNormal', as TF.js). */
  kernelInitializer?: InitializerArg;
  /** Prediction only: see TrainingOnlyArg. */
  kernelRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  kernelConstraint?: TrainingOnlyArg;
}

/** conv3d: the 3-D convolution over `[depth, height, width, channels]` inputs (kernel `[kd, kh, kw, in, filters]`). */
export interface Conv3DLayerArgs extends BaseConvLayerArgs {
  /** The number of output channels. */
  filters: number;
  /** The kernel's initial values (default 'glorotNormal', as TF.js). */
  kernelInitializer?: InitializerArg;
  /** Prediction only: see TrainingOnlyArg. */
  kernelRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  kernelConstraint?: TrainingOnlyArg;
}

/** conv3dTranspose: the transposed 3-D convolution (kernel `[kd, kh, kw, filters, in]`; dilationRate > 1 is refused). */
export type Conv3DTransposeLayerArgs = Conv3DLayerArgs;

/** depthwiseConv2d: convolves each input channel on its own, with `depthMultiplier` filters per channel. */
export interface DepthwiseConv2DLayerArgs extends BaseConvLayerArgs {
  /** The window's size: a number, or [height, width]. */
  kernelSize: number | [number, number];
  /** Output channels per input channel (default 1). */
  depthMultiplier?: number;
  /** The depthwise kernel's initial values (default 'glorotNormal', as TF.js). */
  depthwiseInitializer?: InitializerArg;
  /** Prediction only: see TrainingOnlyArg. */
  depthwiseRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  depthwiseConstraint?: TrainingOnlyArg;
}

/** separableConv2d: a depthwise convolution followed by a 1x1 (pointwise) convolution to `filters` channels. */
export interface SeparableConvLayerArgs extends BaseConvLayerArgs {
  /** The number of output channels. */
  filters: number;
  /** Depthwise output channels per input channel (default 1). */
  depthMultiplier?: number;
  /** The depthwise kernel's initial values (default 'glorotUniform', as TF.js). */
  depthwiseInitializer?: InitializerArg;
  /** The pointwise kernel's initial values (default 'glorotUniform', as TF.js). */
  pointwiseInitializer?: InitializerArg;
  /** Prediction only: see TrainingOnlyArg. */
  depthwiseRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  pointwiseRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  depthwiseConstraint?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  pointwiseConstraint?: TrainingOnlyArg;
}

// ---- pooling ----

/** maxPooling1d and averagePooling1d over `[steps, channels]` inputs. */
export interface Pooling1DLayerArgs extends BaseLayerArgs {
  /** The window's length (default 2). */
  poolSize?: number | [number];
  /** The step between windows (default poolSize). */
  strides?: number | [number];
  /** 'valid' (the default) or 'same'. */
  padding?: 'valid' | 'same';
  /** Not in TF.js's 1-D pooling: inputs are channels-last only. */
  dataFormat?: 'channelsLast';
}

/** maxPooling2d and averagePooling2d over `[height, width, channels]` inputs. */
export interface Pooling2DLayerArgs extends BaseLayerArgs {
  /** The window's size: a number, or [height, width] (default 2). */
  poolSize?: number | [number, number];
  /** The step between windows (default poolSize). */
  strides?: number | [number, number];
  /** 'valid' (the default) or 'same' ('same' averages over the cells inside the input only, as TF.js). */
  padding?: 'valid' | 'same';
  /** Inputs are channels-last only. */
  dataFormat?: 'channelsLast';
}

/** maxPooling3d and averagePooling3d over `[depth, height, width, channels]` inputs. */
export interface Pooling3DLayerArgs extends BaseLayerArgs {
  /** The window's size: a number, or [depth, height, width] (default 2). */
  poolSize?: number | [number, number, number];
  /** The step between windows (default poolSize). */
  strides?: number | [number, number, number];
  /** 'valid' (the default) or 'same' ('same' averages over the cells inside the input only, as TF.js). */
  padding?: 'valid' | 'same';
  /** Inputs are channels-last only. */
  dataFormat?: 'channelsLast';
}

/** globalMaxPooling1d and globalAveragePooling1d: pool over all steps. */
export interface GlobalPooling1DLayerArgs extends BaseLayerArgs {
  /** Not in TF.js's 1-D global pooling: inputs are channels-last only. */
  dataFormat?: 'channelsLast';
}

/** globalMaxPooling2d and globalAveragePooling2d: pool over height and width. */
export interface GlobalPooling2DLayerArgs extends BaseLayerArgs {
  /** Inputs are channels-last only. */
  dataFormat?: 'channelsLast';
}

// ---- normalization ----

/** batchNormalization: normalizes with the batch's statistics while training, the moving ones otherwise. */
export interface BatchNormalizationLayerArgs extends BaseLayerArgs {
  /** The features axis: the last one only (-1, or its index; default -1). */
  axis?: number;
  /** How much of the moving statistics each training step keeps (default 0.99). */
  momentum?: number;
  /** Added to the variance before dividing (default 1e-3). */
  epsilon?: number;
  /** Whether to add the learned offset beta (default true). */
  center?: boolean;
  /** Whether to multiply by the learned scale gamma (default true). */
  scale?: boolean;
  /** Beta's initial values (default 'zeros'). */
  betaInitializer?: InitializerArg;
  /** Gamma's initial values (default 'ones'). */
  gammaInitializer?: InitializerArg;
  /** Prediction only: see TrainingOnlyArg. */
  betaRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  gammaRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  betaConstraint?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  gammaConstraint?: TrainingOnlyArg;
}

/** layerNormalization: normalizes each sample over its last axis. */
export interface LayerNormalizationLayerArgs extends BaseLayerArgs {
  /** The axis normalized over: the last one only (-1, or its index, alone or in a one-item list; default -1). */
  axis?: number | [number];
  /** Added to the variance before dividing (default 1e-3). */
  epsilon?: number;
  /** Whether to add the learned offset beta (default true). */
  center?: boolean;
  /** Whether to multiply by the learned scale gamma (default true). */
  scale?: boolean;
  /** Beta's initial values (default 'zeros'). */
  betaInitializer?: InitializerArg;
  /** Gamma's initial values (default 'ones'). */
  gammaInitializer?: InitializerArg;
  /** Prediction only: see TrainingOnlyArg. */
  betaRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  gammaRegularizer?: TrainingOnlyArg;
}

// ---- padding, cropping, upsampling ----

/** cropping1d: removes steps from the start and end of a `[steps, channels]` input. Not in TF.js (Keras's). */
export interface Cropping1DLayerArgs extends BaseLayerArgs {
  /** Steps to remove: one number for both ends, or [start, end] (default [1, 1], as Keras). */
  cropping?: number | [number, number];
}

/** cropping2d: removes rows and columns at the edges of a `[height, width, channels]` input. */
export interface Cropping2DLayerArgs extends BaseLayerArgs {
  /** A number for every edge, [rows, columns] (both sides), or [[top, bottom], [left, right]] (default none). */
  cropping?: number | [number, number] | [[number, number], [number, number]];
  /** The input's layout (default 'channelsLast'). */
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

/** zeroPadding1d: adds zero steps at the start and end of a `[steps, channels]` input. Not in TF.js (Keras's). */
export interface ZeroPadding1DLayerArgs extends BaseLayerArgs {
  /** Steps to add: one number for both ends, or [start, end] (default 1). */
  padding?: number | [number, number];
}

/** zeroPadding2d: adds zero rows and columns at the edges of a `[height, width, channels]` input. */
export interface ZeroPadding2DLayerArgs extends BaseLayerArgs {
  /** A number for every edge, [rows, columns] (both sides), or [[top, bottom], [left, right]] (default 1). */
  padding?: number | [number, number] | [[number, number], [number, number]];
  /** The input's layout (default 'channelsLast'). */
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

/** upSampling1d: repeats each step `size` times. Not in TF.js (Keras's). */
export interface UpSampling1DLayerArgs extends BaseLayerArgs {
  /** The repeat factor (default 2). */
  size?: number | [number];
}

/** upSampling2d: enlarges a `[height, width, channels]` input by whole factors. */
export interface UpSampling2DLayerArgs extends BaseLayerArgs {
  /** The factors for rows and columns: a number for both, or [rows, columns] (default [2, 2]). */
  size?: number | number[];
  /** The input's layout (default 'channelsLast'). */
  dataFormat?: 'channelsLast' | 'channelsFirst';
  /** 'nearest' repeats values (the default); 'bilinear' interpolates. */
  interpolation?: 'nearest' | 'bilinear';
}

// ---- embedding ----

/** embedding: maps integer indices to learned vectors; `[batch, steps]` gives `[batch, steps, outputDim]`. */
export interface EmbeddingLayerArgs extends BaseLayerArgs {
  /** The vocabulary size: indices run from 0 to inputDim - 1 (others give zero rows). */
  inputDim: number;
  /** The vectors' size. */
  outputDim: number;
  /** The vectors' initial values (default 'randomUniform'). */
  embeddingsInitializer?: InitializerArg;
  /** Whether id 0 is padding: its steps are masked for the recurrent layers after (default false; see MaskingLayerArgs). */
  maskZero?: boolean;
  /** Prediction only: see TrainingOnlyArg. */
  embeddingsRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  activityRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  embeddingsConstraint?: TrainingOnlyArg;
}

// ---- merging ----

/** concatenate: joins its inputs along an axis. */
export interface ConcatenateLayerArgs extends BaseLayerArgs {
  /** The axis to join along (default -1, the last). */
  axis?: number;
}

/** dot: the dot product of two inputs along the given axes. */
export interface DotLayerArgs extends BaseLayerArgs {
  /** The axis reduced: one for both inputs, or one per input. */
  axes: number | [number, number];
  /** Whether to L2-normalize both inputs along the axes first, giving cosine similarity (default false). */
  normalize?: boolean;
}

// ---- advanced activations ----

/** reLU: `min(max(x, threshold), maxValue)` with slope `negativeSlope` below the threshold. */
export interface ReLULayerArgs extends BaseLayerArgs {
  /** The output's upper bound (default none). */
  maxValue?: number;
  /** Not in TF.js (Keras's): the slope below the threshold (default 0). */
  negativeSlope?: number;
  /** Not in TF.js (Keras's): where the function turns on (default 0). */
  threshold?: number;
}

/** leakyReLU: `x` for x >= 0, `alpha * x` below. */
export interface LeakyReLULayerArgs extends BaseLayerArgs {
  /** The slope below zero (default 0.3, as TF.js). */
  alpha?: number;
}

/** prelu: a leaky ReLU whose slopes are learned. */
export interface PReLULayerArgs extends BaseLayerArgs {
  /** The slopes' initial values (default 'zeros'). */
  alphaInitializer?: InitializerArg;
  /** Axes (1-based, batch excluded) along which one slope is shared, e.g. [1, 2] for one slope per channel of an image. */
  sharedAxes?: number | number[];
  /** Prediction only: see TrainingOnlyArg. */
  alphaRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  alphaConstraint?: TrainingOnlyArg;
}

/** elu: `x` for x > 0, `alpha * (exp(x) - 1)` below. */
export interface ELULayerArgs extends BaseLayerArgs {
  /** The scale of the negative part (default 1). */
  alpha?: number;
}

/** thresholdedReLU: `x` where x > theta, 0 elsewhere. */
export interface ThresholdedReLULayerArgs extends BaseLayerArgs {
  /** The threshold (default 1). */
  theta?: number;
}

/** softmax: the softmax over one axis. */
export interface SoftmaxLayerArgs extends BaseLayerArgs {
  /** The axis (default -1); a one-item list is accepted, several axes are not. */
  axis?: number | [number];
}

// ---- dropout and noise (active only while training) ----

/** dropout: zeroes a fraction of the values and scales the rest up, while training. */
export interface DropoutLayerArgs extends BaseLayerArgs {
  /** The fraction to drop, in [0, 1). */
  rate: number;
  /** The mask's shape, one entry per input axis with the batch first; 1 shares the mask along that axis, null takes the input's size. */
  noiseShape?: (number | null)[];
}

/** spatialDropout1d: drops whole channels of a `[steps, channels]` input, while training. */
export interface SpatialDropout1DLayerArgs extends BaseLayerArgs {
  /** The fraction of channels to drop, in [0, 1). */
  rate: number;
}

/** spatialDropout2d: drops whole channels of an image input, while training. Not in TF.js (Keras's). */
export interface SpatialDropout2DLayerArgs extends BaseLayerArgs {
  /** The fraction of channels to drop, in [0, 1). */
  rate: number;
  /** The input's layout (default 'channelsLast'). */
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

/** gaussianNoise: adds zero-mean Gaussian noise, while training. */
export interface GaussianNoiseArgs extends BaseLayerArgs {
  /** The noise's standard deviation. */
  stddev: number;
}

/** gaussianDropout: multiplies by Gaussian noise of mean 1, while training. */
export interface GaussianDropoutArgs extends BaseLayerArgs {
  /** The drop rate the noise stands for, in [0, 1): its variance is rate / (1 - rate). */
  rate: number;
}

/** alphaDropout: dropout that keeps SELU's mean and variance, while training. */
export interface AlphaDropoutArgs extends BaseLayerArgs {
  /** The fraction to drop, in [0, 1). */
  rate: number;
  /** The mask's shape, one entry per input axis with the batch first; 1 shares the mask along that axis, null takes the input's size. */
  noiseShape?: (number | null)[];
}

// ---- recurrent layers ----

/** simpleRNN: a fully connected recurrent layer over `[steps, features]` inputs. */
export interface SimpleRNNLayerArgs extends BaseLayerArgs {
  /** The state's and output's size. */
  units: number;
  /** The output activation (default 'tanh'); elementwise ones only. */
  activation?: RecurrentActivationIdentifier;
  /** Whether to add biases (default true). */
  useBias?: boolean;
  /** The input kernel's initial values (default 'glorotNormal', as TF.js). */
  kernelInitializer?: InitializerArg;
  /** The recurrent kernel's initial values (default 'orthogonal'). */
  recurrentInitializer?: InitializerArg;
  /** The bias's initial values (default 'zeros'). */
  biasInitializer?: InitializerArg;
  /** The fraction of input features dropped while training, one mask per sequence, in [0, 1) (default 0). */
  dropout?: number;
  /** Not supported: only 0 is accepted (use dropout, or a dropout layer between recurrent layers). */
  recurrentDropout?: 0;
  /** Return every step's output `[steps, units]` rather than the last one (default false). */
  returnSequences?: boolean;
  /** Also return the final states (default false). */
  returnState?: boolean;
  /** Read the sequence from its end (default false). */
  goBackwards?: boolean;
  /** Carry the final states of one call into the next, per batch size (default false; model.resetStates() clears them). */
  stateful?: boolean;
  /** Prediction only: see TrainingOnlyArg. */
  kernelRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  recurrentRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  biasRegularizer?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  kernelConstraint?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  recurrentConstraint?: TrainingOnlyArg;
  /** Prediction only: see TrainingOnlyArg. */
  biasConstraint?: TrainingOnlyArg;
}

/** lstm: a long short-term memory layer (gates i, f, c, o). */
export interface LSTMLayerArgs extends SimpleRNNLayerArgs {
  /** The gates' activation (default 'hardSigmoid', as TF.js). */
  recurrentActivation?: RecurrentActivationIdentifier;
  /** Start the forget gate's bias at 1 (default false, as TF.js). */
  unitForgetBias?: boolean;
}

/**
 * convLstm2d: an LSTM whose products are 2-D convolutions, over
 * `[steps, height, width, channels]` inputs; outputs `[oh, ow, filters]`
 * (`[steps, oh, ow, filters]` with returnSequences). The input convolution
 * takes strides, padding and dilationRate; the recurrent one is 'same' with
 * stride 1, as in TF.js.
 */
export interface ConvLSTM2DLayerArgs extends BaseLayerArgs {
  /** The state's channels. */
  filters: number;
  /** The window's size: a number, or [height, width]. */
  kernelSize: number | [number, number];
  /** The input convolution's step (default 1). */
  strides?: number | [number, number];
  /** 'valid' (the default) or 'same', for the input convolution. */
  padding?: 'valid' | 'same';
  /** Inputs are channels-last only. */
  dataFormat?: 'channelsLast';
  /** The input convolution's dilation (default 1). */
  dilationRate?: number | [number, number];
  /** The output activation (default 'tanh'); elementwise ones only. */
  activation?: RecurrentActivationIdentifier;
  /** The gates' activation (default 'hardSigmoid', as TF.js). */
  recurrentActivation?: RecurrentActivationIdentifier;
  /** Whether to add biases (default true). */
  useBias?: boolean;
  /** Start the forget gate's bias at 1 (default false, as TF.js). */
  unitForgetBias?: boolean;
  /** The input kernel's initial values (default 'glorotNormal', as TF.js). */
  kernelInitializer?: InitializerArg;
  /** The recurrent kernel's initial values (default 'orthogonal'). */
  recurrentInitializer?: InitializerArg;
  /** The bias's initial values (default 'zeros'). */
  biasInitializer?: InitializerArg;
  /** Return every step's output rather than the last one (default false). */
  returnSequences?: boolean;
  /** Also return the final states h and c (default false). */
  returnState?: boolean;
  /** Read the sequence from its end (default false). */
  goBackwards?: boolean;
  /** Not supported: only false is accepted. */
  stateful?: false;
  /** Not supported: only 0 is accepted (use a dropout layer before it). */
  dropout?: 0;
  /** Not supported: only 0 is accepted. */
  recurrentDropout?: 0;
}

/** gru: a gated recurrent unit layer (gates z, r, h). */
export interface GRULayerArgs extends SimpleRNNLayerArgs {
  /** The gates' activation (default 'hardSigmoid', as TF.js). */
  recurrentActivation?: RecurrentActivationIdentifier;
  /**
   * Not in TF.js's gru (its GRU cell has it): apply the reset gate after the
   * recurrent product, the Keras 2 / cuDNN / PyTorch form (default false).
   */
  resetAfter?: boolean;
}

// ---- wrappers ----

/** timeDistributed: applies a layer to every step of a `[steps, ...]` input. */
export interface WrapperLayerArgs extends BaseLayerArgs {
  /** The layer to apply (one input, one output). */
  layer: Layer;
}

/** bidirectional: runs a recurrent layer forwards and backwards and merges the two. */
export interface BidirectionalLayerArgs extends WrapperLayerArgs {
  /** The recurrent layer (simpleRNN, lstm or gru); a copy reads the sequence backwards. */
  layer: Layer;
  /** How the two directions' outputs combine (default 'concat'); null returns both. */
  mergeMode?: 'concat' | 'sum' | 'mul' | 'ave' | null;
}

/**
 * kiln.layers: every layer factory, with its arguments typed. Each returns a
 * Layer to put in a Sequential or to apply() to symbolic tensors.
 */
/** rescaling: x * scale + offset (e.g. scale 1/255 for pixel values). */
export interface RescalingLayerArgs extends BaseLayerArgs {
  scale: number;
  /** Added after scaling (default 0). */
  offset?: number;
}

/** centerCrop: the central height x width of each `[rows, cols, channels]` image (which must be at least that large). */
export interface CenterCropLayerArgs extends BaseLayerArgs {
  height: number;
  width: number;
}

/** resizing: each `[rows, cols, channels]` image resized to height x width, corners aligned (as TF.js's Resizing). */
export interface ResizingLayerArgs extends BaseLayerArgs {
  height: number;
  width: number;
  /** 'bilinear' (default) or 'nearest'. */
  interpolation?: 'bilinear' | 'nearest';
}

/** categoryEncoding: integer ids per sample to vectors of numTokens. */
export interface CategoryEncodingLayerArgs extends BaseLayerArgs {
  numTokens: number;
  /** 'oneHot' (one id per sample), 'multiHot' (1 where an id occurs; the default) or 'count'. */
  outputMode?: 'oneHot' | 'multiHot' | 'count';
}

/** A cell's arguments: those of its recurrent layer for one step. */
export type SimpleRNNCellArgs = Omit<SimpleRNNLayerArgs, 'returnSequences' | 'returnState' | 'goBackwards' | 'stateful'>;
export type LSTMCellArgs = Omit<LSTMLayerArgs, 'returnSequences' | 'returnState' | 'goBackwards' | 'stateful'>;
export type GRUCellArgs = Omit<GRULayerArgs, 'returnSequences' | 'returnState' | 'goBackwards' | 'stateful'>;
export type ConvLSTM2DCellArgs = Omit<ConvLSTM2DLayerArgs, 'returnSequences' | 'returnState' | 'goBackwards' | 'stateful'>;

/** rnn: a recurrent layer over a cell (kiln.layers.lstmCell({units}), ...). */
export interface RNNLayerArgs extends BaseLayerArgs {
  /** One cell, or a list / stackedRNNCells of one (more are refused: stack recurrent layers). */
  cell: RNNCell | RNNCell[] | StackedRNNCells;
  returnSequences?: boolean;
  returnState?: boolean;
  goBackwards?: boolean;
  stateful?: boolean;
  /** Speed only in Keras; accepted. */
  unroll?: boolean;
}

export interface LayerFactories {
  /** A model's input as a layer (kiln.input is the usual way). */
  inputLayer(args: InputLayerArgs): Layer;
  /** A fully connected layer. */
  dense(args: DenseLayerArgs): Layer;
  /** Masks padding steps for the recurrent layers after it. */
  masking(args?: MaskingLayerArgs): Layer;
  /** An activation function as a layer. */
  activation(args: ActivationLayerArgs): Layer;
  /** Flattens each sample to one dimension. */
  flatten(args?: FlattenLayerArgs): Layer;
  /** Gives each sample a new shape. */
  reshape(args: ReshapeLayerArgs): Layer;
  /** Reorders each sample's axes. */
  permute(args: PermuteLayerArgs): Layer;
  /** Repeats a vector n times. */
  repeatVector(args: RepeatVectorLayerArgs): Layer;
  /** Dropout. */
  dropout(args: DropoutLayerArgs): Layer;
  /** Drops whole channels of a sequence. */
  spatialDropout1d(args: SpatialDropout1DLayerArgs): Layer;
  /** Drops whole channels of an image. */
  spatialDropout2d(args: SpatialDropout2DLayerArgs): Layer;
  /** Additive Gaussian noise. */
  gaussianNoise(args: GaussianNoiseArgs): Layer;
  /** Multiplicative Gaussian noise. */
  gaussianDropout(args: GaussianDropoutArgs): Layer;
  /** Dropout for SELU networks. */
  alphaDropout(args: AlphaDropoutArgs): Layer;
  /** 1-D convolution. */
  conv1d(args: ConvLayerArgs): Layer;
  /** 2-D convolution. */
  conv2d(args: ConvLayerArgs): Layer;
  /** Depthwise 2-D convolution. */
  depthwiseConv2d(args: DepthwiseConv2DLayerArgs): Layer;
  /** Depthwise-separable 2-D convolution. */
  separableConv2d(args: SeparableConvLayerArgs): Layer;
  /** Transposed 2-D convolution. */
  conv2dTranspose(args: Conv2DTransposeLayerArgs): Layer;
  /** 3-D convolution. */
  conv3d(args: Conv3DLayerArgs): Layer;
  /** Transposed 3-D convolution. */
  conv3dTranspose(args: Conv3DTransposeLayerArgs): Layer;
  /** 3-D max pooling. */
  maxPooling3d(args?: Pooling3DLayerArgs): Layer;
  /** 3-D average pooling. */
  averagePooling3d(args?: Pooling3DLayerArgs): Layer;
  /** 1-D max pooling. */
  maxPooling1d(args?: Pooling1DLayerArgs): Layer;
  /** 2-D max pooling. */
  maxPooling2d(args?: Pooling2DLayerArgs): Layer;
  /** 1-D average pooling. */
  averagePooling1d(args?: Pooling1DLayerArgs): Layer;
  /** 2-D average pooling. */
  averagePooling2d(args?: Pooling2DLayerArgs): Layer;
  /** Max over all steps. */
  globalMaxPooling1d(args?: GlobalPooling1DLayerArgs): Layer;
  /** Max over height and width. */
  globalMaxPooling2d(args?: GlobalPooling2DLayerArgs): Layer;
  /** Average over all steps. */
  globalAveragePooling1d(args?: GlobalPooling1DLayerArgs): Layer;
  /** Average over height and width. */
  globalAveragePooling2d(args?: GlobalPooling2DLayerArgs): Layer;
  /** Batch normalization. */
  batchNormalization(args?: BatchNormalizationLayerArgs): Layer;
  /** Layer normalization. */
  layerNormalization(args?: LayerNormalizationLayerArgs): Layer;
  /** Crops a sequence's ends. */
  cropping1d(args?: Cropping1DLayerArgs): Layer;
  /** Crops an image's edges. */
  cropping2d(args?: Cropping2DLayerArgs): Layer;
  /** cropping2d's TF.js spelling. */
  cropping2D(args?: Cropping2DLayerArgs): Layer;
  /** Preprocessing: x * scale + offset. */
  rescaling(args: RescalingLayerArgs): Layer;
  /** Preprocessing: the central height x width of each image. */
  centerCrop(args: CenterCropLayerArgs): Layer;
  /** Preprocessing: images resized (bilinear or nearest). */
  resizing(args: ResizingLayerArgs): Layer;
  /** Preprocessing: ids to one-hot, multi-hot or count vectors. */
  categoryEncoding(args: CategoryEncodingLayerArgs): Layer;
  /** Not supported yet (TF.js's): each throws an error saying why. */
  randomWidth(args?: unknown): never;
  /** A recurrent layer over a cell (runs as the core's simpleRNN, lstm or gru). */
  rnn(args: RNNLayerArgs): Layer;
  simpleRNNCell(args: SimpleRNNCellArgs): RNNCell;
  lstmCell(args: LSTMCellArgs): RNNCell;
  gruCell(args: GRUCellArgs): RNNCell;
  stackedRNNCells(args: { cells: RNNCell[] }): StackedRNNCells;
  /** Pads a sequence's ends with zeros. */
  zeroPadding1d(args?: ZeroPadding1DLayerArgs): Layer;
  /** Pads an image's edges with zeros. */
  zeroPadding2d(args?: ZeroPadding2DLayerArgs): Layer;
  /** Repeats each step. */
  upSampling1d(args?: UpSampling1DLayerArgs): Layer;
  /** Enlarges an image. */
  upSampling2d(args?: UpSampling2DLayerArgs): Layer;
  /** Learned vectors for integer indices. */
  embedding(args: EmbeddingLayerArgs): Layer;
  /** The sum of same-shape inputs. */
  add(args?: BaseLayerArgs): Layer;
  /** The first input minus the second. */
  subtract(args?: BaseLayerArgs): Layer;
  /** The elementwise product of the inputs. */
  multiply(args?: BaseLayerArgs): Layer;
  /** The elementwise mean of the inputs. */
  average(args?: BaseLayerArgs): Layer;
  /** The elementwise maximum of the inputs. */
  maximum(args?: BaseLayerArgs): Layer;
  /** The elementwise minimum of the inputs. */
  minimum(args?: BaseLayerArgs): Layer;
  /** Joins the inputs along an axis. */
  concatenate(args?: ConcatenateLayerArgs): Layer;
  /** The dot product of two inputs. */
  dot(args: DotLayerArgs): Layer;
  /** ReLU with an optional cap, slope and threshold. */
  reLU(args?: ReLULayerArgs): Layer;
  /** Leaky ReLU. */
  leakyReLU(args?: LeakyReLULayerArgs): Layer;
  /** Leaky ReLU with learned slopes. */
  prelu(args?: PReLULayerArgs): Layer;
  /** Exponential linear unit. */
  elu(args?: ELULayerArgs): Layer;
  /** ReLU that zeroes values up to theta. */
  thresholdedReLU(args?: ThresholdedReLULayerArgs): Layer;
  /** Softmax over an axis. */
  softmax(args?: SoftmaxLayerArgs): Layer;
  /** A simple recurrent layer. */
  simpleRNN(args: SimpleRNNLayerArgs): Layer;
  /** A long short-term memory layer. */
  lstm(args: LSTMLayerArgs): Layer;
  /** Convolutional LSTM over image sequences. */
  convLstm2d(args: ConvLSTM2DLayerArgs): Layer;
  /** A convLstm2d step, for rnn({cell}). */
  convLstm2dCell(args: ConvLSTM2DCellArgs): RNNCell;
  /** A gated recurrent unit layer. */
  gru(args: GRULayerArgs): Layer;
  /** Runs a recurrent layer in both directions. */
  bidirectional(args: BidirectionalLayerArgs): Layer;
  /** Applies a layer to every step. */
  timeDistributed(args: WrapperLayerArgs): Layer;
  // TF.js's other names for the same factories.
  /** maxPooling1d's other name. */
  maxPool1d(args?: Pooling1DLayerArgs): Layer;
  /** maxPooling2d's other name. */
  maxPool2d(args?: Pooling2DLayerArgs): Layer;
  /** averagePooling1d's other name. */
  avgPool1d(args?: Pooling1DLayerArgs): Layer;
  /** averagePooling2d's other name. */
  avgPool2d(args?: Pooling2DLayerArgs): Layer;
  /** averagePooling1d's other name. */
  avgPooling1d(args?: Pooling1DLayerArgs): Layer;
  /** averagePooling2d's other name. */
  avgPooling2d(args?: Pooling2DLayerArgs): Layer;
  /** maxPooling3d's other name. */
  maxPool3d(args?: Pooling3DLayerArgs): Layer;
  /** averagePooling3d's other name. */
  avgPool3d(args?: Pooling3DLayerArgs): Layer;
  /** averagePooling3d's other name. */
  avgPooling3d(args?: Pooling3DLayerArgs): Layer;
  /** globalMaxPooling1d's other name. */
  globalMaxPool1d(args?: GlobalPooling1DLayerArgs): Layer;
  /** globalMaxPooling2d's other name. */
  globalMaxPool2d(args?: GlobalPooling2DLayerArgs): Layer;
}
