// TF.js's tf.callbacks: earlyStopping, with TF.js's arguments and rules
// (tfjs-layers callbacks.ts). fit() hands each callback with setModel() the
// model, as TF.js does, so it can set model.stopTraining.
import type { Callbacks, LayersModel, Logs } from './model.js';

export interface EarlyStoppingArgs {
  /** The log to watch (default 'val_loss'). */
  monitor?: string;
  /** The least change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement before training stops (default 0). */
  patience?: number;
  /** 1: a console line when it stops. */
  verbose?: number;
  /** 'min', 'max', or 'auto' (max for accuracies, min otherwise). */
  mode?: 'auto' | 'min' | 'max';
  /** The value to beat; training stops if it is not reached within `patience` epochs. */
  baseline?: number;
  /** Not implemented in TF.js either: true is refused. */
  restoreBestWeights?: boolean;
}

const ARGS = ['monitor', 'minDelta', 'patience', 'verbose', 'mode', 'baseline', 'restoreBestWeights'];

export class EarlyStopping implements Callbacks {
  readonly monitor: string;
  readonly patience: number;
  readonly baseline: number | undefined;
  readonly verbose: number;
  /** The epoch at which training stopped (0 when it did not). */
  stoppedEpoch = 0;
  private readonly minDelta: number;
  private readonly better: (a: number, b: number) => boolean;
  private model: LayersModel | null = null;
  private wait = 0;
  private best = Infinity;

  constructor(args: EarlyStoppingArgs = {}) {
    if (args === null || typeof args !== 'object') throw new Error('earlyStopping: arguments must be an object');
    for (const key of Object.keys(args))
      if (!ARGS.includes(key)) throw new Error(`earlyStopping: unknown argument '${key}' (supported: ${ARGS.join(', ')})`);
    if (args.restoreBestWeights) throw new Error('earlyStopping: restoreBestWeights is not implemented (TF.js refuses it too)');
    this.monitor = args.monitor ?? 'val_loss';
    this.patience = args.patience ?? 0;
    this.verbose = args.verbose ?? 0;
    this.baseline = args.baseline;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new Error(`earlyStopping: patience must be a non-negative integer, got ${args.patience}`);
    const mode = args.mode ?? 'auto';
    if (!['auto', 'min', 'max'].includes(mode)) throw new Error(`earlyStopping: mode must be 'auto', 'min' or 'max', got '${mode}'`);
    const max = mode === 'max' || (mode === 'auto' && this.monitor.includes('acc'));
    this.better = max ? (a, b) => a > b : (a, b) => a < b;
    const delta = Math.abs(args.minDelta ?? 0);
    if (!Number.isFinite(delta)) throw new Error(`earlyStopping: minDelta must be a number, got ${args.minDelta}`);
    this.minDelta = max ? delta : -delta;
  }

  setModel(model: LayersModel): void { this.model = model; }

  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = this.baseline ?? (this.better(0, 1) ? Infinity : -Infinity);
  }

  onEpochEnd(epoch: number, logs?: Logs): void {
    const current = logs?.[this.monitor];
    if (current === undefined) {
      console.warn(`earlyStopping: the logs have no '${this.monitor}' (they have: ${Object.keys(logs ?? {}).join(', ')})`);
      return;
    }
    if (this.better(current - this.minDelta, this.best)) {
      this.best = current;
      this.wait = 0;
    } else if (++this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      if (this.model) this.model.stopTraining = true;
    }
  }

  onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose) console.log(`Epoch ${this.stoppedEpoch}: early stopping`);
  }
}

/** tf.callbacks: the callbacks TF.js ships. */
export const callbacks = {
  earlyStopping: (args?: EarlyStoppingArgs): EarlyStopping => new EarlyStopping(args),
};
