// Kiln's JavaScript API: the same in Node.js and in browsers. Mirrors
// TensorFlow.js's Layers API, so code moves over by changing the import.
export { ready, backendInfo, relaxedSimdSupported, memory } from './backend.js';
export type { ReadyOptions, BackendInfo, MemoryInfo } from './backend.js';
export { setBackend, getBackend, backends } from './compute_backends.js';
export type { SetBackendOptions, PlanPlacement } from './compute_backends.js';
export { Tensor, tensor, tensor2d, scalar } from './tensor.js';
export { TensorBuffer, buffer } from './tensor_buffer.js';
// The tensor-ops API (kiln.add, kiln.matMul, ..., and the Tensor methods).
export * from './ops.js';
export type { TensorOps } from './ops.js';
export { tidy, keep, dispose } from './engine.js';
export { env, nextFrame, util, Environment } from './environment.js';
// Autograd and variables (TF.js's tf.grad, tf.variable, optimizer.minimize).
export { grad, grads, valueAndGrad, valueAndGrads, variableGrads, customGrad } from './autograd.js';
export { Variable, variable } from './variable.js';
export { losses, metrics, Reduction } from './losses.js';
export { data, Dataset } from './data.js';
export type { CSVConfig, ColumnConfig } from './data.js';
export { browser } from './browser.js';
export type { PixelData } from './browser.js';
export type { TensorCounts } from './engine.js';
export type { Shape, TensorLike } from './tensor.js';
export type { DataType, DataTypeMap, TypedArray } from './dtypes.js';
export type { TensorStorage, StorageLocation } from './storage.js';
export { layers, Layer, LayerWeight, RNNCell, StackedRNNCells, SymbolicTensor, input, serialization } from './layers.js';
export { initializers, Initializer } from './initializers.js';
export type { LayerArgs, LayerVariable } from './layers.js';
export type {
  ActivationIdentifier, RecurrentActivationIdentifier, InitializerArg, TrainingOnlyArg, BaseLayerArgs, LayerFactories,
  DenseLayerArgs, ActivationLayerArgs, FlattenLayerArgs, ReshapeLayerArgs, PermuteLayerArgs, RepeatVectorLayerArgs, InputLayerArgs,
  BaseConvLayerArgs, ConvLayerArgs, Conv2DTransposeLayerArgs, DepthwiseConv2DLayerArgs, SeparableConvLayerArgs,
  Pooling1DLayerArgs, Pooling2DLayerArgs, GlobalPooling1DLayerArgs, GlobalPooling2DLayerArgs,
  BatchNormalizationLayerArgs, LayerNormalizationLayerArgs,
  Cropping1DLayerArgs, Cropping2DLayerArgs, ZeroPadding1DLayerArgs, ZeroPadding2DLayerArgs, UpSampling1DLayerArgs, UpSampling2DLayerArgs,
  EmbeddingLayerArgs, ConcatenateLayerArgs, DotLayerArgs,
  ReLULayerArgs, LeakyReLULayerArgs, PReLULayerArgs, ELULayerArgs, ThresholdedReLULayerArgs, SoftmaxLayerArgs,
  DropoutLayerArgs, SpatialDropout1DLayerArgs, SpatialDropout2DLayerArgs, GaussianNoiseArgs, GaussianDropoutArgs, AlphaDropoutArgs,
  SimpleRNNLayerArgs, LSTMLayerArgs, GRULayerArgs, WrapperLayerArgs, BidirectionalLayerArgs,
  RescalingLayerArgs, CenterCropLayerArgs, ResizingLayerArgs, CategoryEncodingLayerArgs, RNNLayerArgs, SimpleRNNCellArgs, LSTMCellArgs, GRUCellArgs,
} from './layer_args.js';
export { train, Optimizer } from './optimizers.js';
export type { ClipOptions, LearningRate, LearningRateSchedule, OptimizerKind, OptimizerSpec } from './optimizers.js';
export { LayersModel, Sequential, sequential, model, loadModel } from './model.js';
export type { CompileArgs, FitArgs, FitDatasetArgs, History, Callbacks, Logs, SequentialArgs } from './model.js';
export { loadLayersModel } from './layers_format.js';
export { callbacks, EarlyStopping } from './callbacks.js';
export type { EarlyStoppingArgs } from './callbacks.js';
export { GraphModel, loadGraphModel } from './graph_model.js';
export type { GraphModelLoadOptions, ModelTensorInfo, NamedTensorMap } from './graph_model.js';
export * as io from './io_exports.js';
export type { IOHandler, ModelArtifacts, SaveResult, LoadOptions } from './io.js';
export * as internals from './internals.js';
export * as onnx from './onnx.js';
export type { OnnxSession, OnnxFeed, OnnxInputInfo, OnnxOutput, OnnxValueInfo } from './onnx.js';
export type { OnnxLoadModelOptions } from './onnx_import.js';
