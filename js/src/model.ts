// Sequential models with TF.js's Layers API (compile, fit, predict, evaluate,
// save) over a C++ model handle in the wasm heap.

import { mod, coreError, heapF32, heapU8, heapU32, heapI32, alloc, free, copyIn } from './backend.js';
import { ACTIVATIONS, INITIALIZERS, LOSSES, LossName, METRICS, codeOf } from './codes.js';
import { Dense } from './layers.js';
import { OptimizerKind, OptimizerSpec, optimizerFields, optimizerFromFields, resolveOptimizer } from './optimizers.js';
import { Tensor, scalar } from './tensor.js';

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
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  validationData?: [Tensor, Tensor];
  callbacks?: Callbacks | Callbacks[];
  /** Milliseconds between yields to the event loop, so pages stay responsive (default 25). */
  yieldEvery?: number;
  verbose?: number;
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

export class Sequential {
  readonly layers: Dense[] = [];
  /** Set to true (e.g. from a callback) to stop fit() after the current batch. */
  stopTraining = false;
  private handle = 0;
  private compileArgs: CompileArgs | null = null;
  private metricNames: string[] = [];
  private busy = false;
  private readonly seed: number | undefined;

  /** `seed` (a Kiln extension) fixes the initializers and the shuffling order. */
  constructor(args: SequentialArgs = {}) {
    for (const l of args.layers ?? []) this.add(l);
    if (args.seed !== undefined && (!Number.isInteger(args.seed) || args.seed < 0))
      throw new Error(`sequential: seed must be a non-negative integer, got ${args.seed}`);
    this.seed = args.seed;
  }

  add(layer: Dense): void {
    if (!(layer instanceof Dense)) throw new Error('sequential: only kiln.layers.dense layers are supported so far');
    if (this.handle) throw new Error('sequential: cannot add layers after the model is built');
    if (this.layers.length === 0 && layer.inputDim === undefined)
      throw new Error(`sequential: the first layer needs an inputShape (e.g. inputShape: [784])`);
    this.layers.push(layer);
  }

  get built(): boolean { return this.handle !== 0; }
  get inputDim(): number { return this.ensureBuilt() && mod()._kiln_model_input_dim(this.handle); }
  get outputDim(): number { return this.ensureBuilt() && mod()._kiln_model_output_dim(this.handle); }
  get inputs(): { shape: (number | null)[] }[] { return [{ shape: [null, this.inputDim] }]; }
  get outputs(): { shape: (number | null)[] }[] { return [{ shape: [null, this.outputDim] }]; }

  /** Builds the C++ model (done on first use; exposed for TF.js parity). */
  build(): void {
    this.ensureBuilt();
  }

  private ensureBuilt(): true {
    if (this.handle) return true;
    if (this.layers.length === 0) throw new Error('sequential: the model has no layers');
    const m = mod();
    const n = this.layers.length;
    const ptr = alloc(n * 20, 'the layer list');
    try {
      const h = heapI32();
      this.layers.forEach((l, i) => {
        h.set([l.units, codeOf(ACTIVATIONS, l.activation, 'activation'), l.useBias ? 1 : 0,
          codeOf(INITIALIZERS, l.kernelInitializer, 'kernelInitializer'),
          codeOf(INITIALIZERS, l.biasInitializer, 'biasInitializer')], (ptr >> 2) + 5 * i);
      });
      const seed = this.seed ?? (Math.random() * 2 ** 32) >>> 0;
      const handle = m._kiln_model_create(this.layers[0].inputDim, n, ptr, seed >>> 0);
      if (!handle) throw coreError('sequential');
      this.adopt(handle);
    } finally {
      free(ptr);
    }
    return true;
  }

  /** @internal Takes ownership of a C++ model handle. */
  adopt(handle: number): void {
    this.handle = handle;
    registry?.register(this, handle, this);
    for (const l of this.layers) l.owner = this;
  }

  compile(args: CompileArgs): void {
    this.ensureBuilt();
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
    // History and log keys as TF.js names them.
    this.metricNames = metrics.map((name) => (name === 'accuracy' ? 'acc' : name));
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

  /** Checks x ([n, inputDim]) and y and returns n. */
  private checkData(what: string, x: Tensor, y?: Tensor): number {
    if (!(x instanceof Tensor)) throw new Error(`${what}: x must be a kiln.Tensor`);
    const inDim = this.inputDim;
    if (x.rank !== 2 || x.shape[1] !== inDim)
      throw new Error(`${what}: x must have shape [n, ${inDim}], got [${x.shape}]`);
    const n = x.shape[0];
    if (n === 0) throw new Error(`${what}: x has no samples`);
    if (y !== undefined) {
      if (!(y instanceof Tensor)) throw new Error(`${what}: y must be a kiln.Tensor`);
      const tdim = mod()._kiln_model_target_dim(this.handle);
      const sparse = this.compileArgs?.loss === 'sparseCategoricalCrossentropy';
      const okShape = sparse
        ? (y.rank === 1 && y.shape[0] === n) || (y.rank === 2 && y.shape[0] === n && y.shape[1] === 1)
        : y.rank === 2 && y.shape[0] === n && y.shape[1] === tdim;
      if (!okShape)
        throw new Error(`${what}: y must have shape ${sparse ? `[${n}] or [${n}, 1] (class indices)` : `[${n}, ${tdim}]`}, got [${y.shape}]`);
    }
    return n;
  }

  private logsFrom(loss: number, metrics: ArrayLike<number>, prefix = ''): Logs {
    const logs: Logs = { [prefix + 'loss']: loss };
    this.metricNames.forEach((key, i) => (logs[prefix + key] = metrics[i]));
    return logs;
  }

  async fit(x: Tensor, y: Tensor, args: FitArgs = {}): Promise<History> {
    this.ensureBuilt();
    this.requireCompiled('fit');
    const n = this.checkData('fit', x, y);
    const epochs = args.epochs ?? 1;
    const batchSize = args.batchSize ?? 32;
    if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`fit: epochs must be a non-negative integer, got ${epochs}`);
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`fit: batchSize must be a positive integer, got ${batchSize}`);
    const callbacks = Array.isArray(args.callbacks) ? args.callbacks : args.callbacks ? [args.callbacks] : [];
    const call = async (name: keyof Callbacks, ...a: any[]) => {
      for (const c of callbacks) if (c[name]) await (c[name] as any)(...a);
    };
    if (args.validationData) this.checkData('fit (validationData)', args.validationData[0], args.validationData[1]);
    this.enter('fit');
    const m = mod();
    let xp = 0, yp = 0, ip = 0, outp = 0;
    const history: History = { epoch: [], history: {} };
    const record = (logs: Logs) => {
      for (const [k, v] of Object.entries(logs)) (history.history[k] ??= []).push(v);
    };
    try {
      xp = copyIn(x.dataSync(), 'fit x');
      yp = copyIn(y.dataSync(), 'fit y');
      ip = alloc(n * 4, 'the shuffle order');
      const k = this.metricNames.length;
      outp = alloc(4 * (1 + k), 'fit results');
      const order = heapU32();
      for (let i = 0; i < n; i++) order[(ip >> 2) + i] = i;
      this.stopTraining = false;
      await call('onTrainBegin', {});
      const yieldEvery = args.yieldEvery ?? 25;
      let lastYield = performance.now();
      for (let epoch = 0; epoch < epochs && !this.stopTraining; epoch++) {
        await call('onEpochBegin', epoch, {});
        if (args.shuffle ?? true) m._kiln_model_shuffle(this.handle, ip, n);
        let lossSum = 0, seen = 0;
        const metricSums = new Array<number>(k).fill(0);
        for (let start = 0, batch = 0; start < n && !this.stopTraining; start += batchSize, batch++) {
          const count = Math.min(batchSize, n - start);
          await call('onBatchBegin', batch, { batch, size: count });
          if (!m._kiln_model_train_batch(this.handle, xp, yp, ip + start * 4, count, outp)) throw coreError('fit');
          const f = heapF32();
          const loss = f[outp >> 2], values = f.slice((outp >> 2) + 1, (outp >> 2) + 1 + k);
          lossSum += loss * count;
          values.forEach((v, i) => (metricSums[i] += v * count));
          seen += count;
          await call('onBatchEnd', batch, { batch, size: count, ...this.logsFrom(loss, values) });
          if (performance.now() - lastYield > yieldEvery) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
        }
        const logs = this.logsFrom(lossSum / seen, metricSums.map((s) => s / seen));
        if (args.validationData) {
          const [vl, ...vm] = this.evaluateRaw(args.validationData[0], args.validationData[1]);
          Object.assign(logs, this.logsFrom(vl, vm, 'val_'));
        }
        history.epoch.push(epoch);
        record(logs);
        await call('onEpochEnd', epoch, logs);
      }
      await call('onTrainEnd', {});
    } finally {
      free(xp); free(yp); free(ip); free(outp);
      this.busy = false;
    }
    return history;
  }

  /** One optimizer step on the whole batch; resolves to loss or [loss, ...metrics]. */
  async trainOnBatch(x: Tensor, y: Tensor): Promise<number | number[]> {
    this.ensureBuilt();
    this.requireCompiled('trainOnBatch');
    const n = this.checkData('trainOnBatch', x, y);
    this.enter('trainOnBatch');
    let xp = 0, yp = 0, outp = 0;
    try {
      xp = copyIn(x.dataSync(), 'trainOnBatch x');
      yp = copyIn(y.dataSync(), 'trainOnBatch y');
      const k = this.metricNames.length;
      outp = alloc(4 * (1 + k), 'results');
      if (!mod()._kiln_model_train_batch(this.handle, xp, yp, 0, n, outp)) throw coreError('trainOnBatch');
      const f = heapF32();
      return k ? Array.from(f.slice(outp >> 2, (outp >> 2) + 1 + k)) : f[outp >> 2];
    } finally {
      free(xp); free(yp); free(outp);
      this.busy = false;
    }
  }

  /** [loss, ...metrics] */
  private evaluateRaw(x: Tensor, y: Tensor): number[] {
    const n = this.checkData('evaluate', x, y);
    let xp = 0, yp = 0, outp = 0;
    try {
      xp = copyIn(x.dataSync(), 'evaluate x');
      yp = copyIn(y.dataSync(), 'evaluate y');
      outp = alloc(4 * (1 + this.metricNames.length), 'results');
      if (!mod()._kiln_model_evaluate(this.handle, xp, yp, n, outp)) throw coreError('evaluate');
      return Array.from(heapF32().slice(outp >> 2, (outp >> 2) + 1 + this.metricNames.length));
    } finally {
      free(xp); free(yp); free(outp);
    }
  }

  /** Loss, or [loss, ...metrics] as scalars (TF.js returns Scalar | Scalar[]). Metrics
   * are over the whole set (TF.js averages per-batch values; the same for accuracies). */
  evaluate(x: Tensor, y: Tensor, _args: { batchSize?: number } = {}): Tensor | Tensor[] {
    this.ensureBuilt();
    this.requireCompiled('evaluate');
    const results = this.evaluateRaw(x, y);
    return this.metricNames.length ? results.map(scalar) : scalar(results[0]);
  }

  predict(x: Tensor, _args: { batchSize?: number } = {}): Tensor {
    this.ensureBuilt();
    const n = this.checkData('predict', x);
    const out = this.outputDim;
    let xp = 0, op = 0;
    try {
      xp = copyIn(x.dataSync(), 'predict x');
      op = alloc(n * out * 4, 'predict output');
      if (!mod()._kiln_model_predict(this.handle, xp, n, op)) throw coreError('predict');
      return new Tensor(heapF32().slice(op >> 2, (op >> 2) + n * out), [n, out]);
    } finally {
      free(xp); free(op);
    }
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

  summary(lineLength?: number, positions?: number[], printFn: (s: string) => void = console.log): void {
    this.ensureBuilt();
    void lineLength; void positions;
    printFn(mod().UTF8ToString(mod()._kiln_model_summary(this.handle)));
  }

  private weightCount(): number { return mod()._kiln_model_num_weights(this.handle); }

  private readWeight(i: number): Tensor {
    const m = mod();
    const shape: number[] = [];
    for (let d = 0; d < m._kiln_model_weight_rank(this.handle, i); d++) shape.push(m._kiln_model_weight_dim(this.handle, i, d));
    const size = shape.reduce((a, b) => a * b, 1);
    const ptr = m._kiln_model_weight_data(this.handle, i);
    return new Tensor(heapF32().slice(ptr >> 2, (ptr >> 2) + size), shape);
  }

  /** Checks every tensor first, then writes: a bad call changes nothing. */
  private writeWeights(first: number, weights: Tensor[], what: string): void {
    const expected = weights.map((_, k) => this.readWeight(first + k).shape);
    weights.forEach((w, k) => {
      if (!(w instanceof Tensor)) throw new Error(`${what}: weight ${k} is not a kiln.Tensor`);
      if (w.shape.join(',') !== expected[k].join(','))
        throw new Error(`${what}: weight ${k} must have shape [${expected[k]}], got [${w.shape}]`);
    });
    weights.forEach((w, k) => {
      const ptr = mod()._kiln_model_weight_data(this.handle, first + k);
      heapF32().set(w.dataSync(), ptr >> 2);
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
    if (weights.length !== this.weightCount())
      throw new Error(`setWeights: the model has ${this.weightCount()} weight tensors, got ${weights.length}`);
    this.writeWeights(0, weights, 'setWeights');
  }

  private firstWeightOf(layer: Dense): number {
    let i = 0;
    for (const l of this.layers) {
      if (l === layer) return i;
      i += l.useBias ? 2 : 1;
    }
    throw new Error(`${layer.name} does not belong to this model`);
  }

  /** @internal */ layerWeights(layer: Dense): Tensor[] {
    const first = this.firstWeightOf(layer);
    return Array.from({ length: layer.useBias ? 2 : 1 }, (_, k) => this.readWeight(first + k));
  }

  /** @internal */ setLayerWeights(layer: Dense, weights: Tensor[]): void {
    const count = layer.useBias ? 2 : 1;
    if (weights.length !== count) throw new Error(`${layer.name}.setWeights: expected ${count} tensors, got ${weights.length}`);
    this.writeWeights(this.firstWeightOf(layer), weights, `${layer.name}.setWeights`);
  }

  /** The model as one Kiln file (docs/FORMAT.md). */
  async save(options: { includeOptimizer?: boolean } = {}): Promise<Uint8Array> {
    this.ensureBuilt();
    const ptr = mod()._kiln_model_save(this.handle, options.includeOptimizer ? 1 : 0);
    if (!ptr) throw coreError('save');
    return heapU8().slice(ptr, ptr + mod()._kiln_saved_size());
  }

  /** Frees the C++ model; the object is unusable afterwards. */
  dispose(): void {
    if (!this.handle) return;
    registry?.unregister(this);
    mod()._kiln_model_free(this.handle);
    this.handle = 0;
    for (const l of this.layers) l.owner = null;
  }
}

export interface SequentialArgs {
  layers?: Dense[];
  name?: string;
  seed?: number;
}

export function sequential(args: SequentialArgs = {}): Sequential {
  return new Sequential(args);
}


/** Rebuilds a model from a Kiln file (bytes from model.save()). */
export async function loadModel(source: Uint8Array | ArrayBuffer): Promise<Sequential> {
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
  const info = alloc(32, 'layer info');
  try {
    const layerList: Dense[] = [];
    const nl = m._kiln_model_num_layers(handle);
    for (let i = 0; i < nl; i++) {
      m._kiln_model_layer_info(handle, i, info);
      const v = heapI32().slice(info >> 2, (info >> 2) + 5);
      layerList.push(new Dense({ units: v[0], activation: ACTIVATIONS[v[1]], useBias: v[2] === 1,
        ...(i === 0 ? { inputShape: [m._kiln_model_input_dim(handle)] } : {}) }));
    }
    const model = new Sequential({ layers: layerList });
    model.adopt(handle);
    if (m._kiln_model_compiled(handle)) {
      const training = alloc(8 * (22 + 2 * 1024 + 1), 'training info');
      try {
        const n = m._kiln_model_training_info(handle, training);
        const t = new Float64Array(heapU8().buffer, training, n).slice();
        (model as any).compileArgs = { optimizer: optimizerFromFields(t.subarray(1)), loss: LOSSES[t[0]], metrics: ['accuracy'] };
      } finally {
        free(training);
      }
      (model as any).metricNames = ['acc'];
    }
    return model;
  } catch (e) {
    m._kiln_model_free(handle);
    throw e;
  } finally {
    free(info);
  }
}
