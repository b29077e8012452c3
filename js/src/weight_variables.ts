// A model's weights as Variables (what TF.js's LayerVariable holds): one per
// layer weight, shared by every model the layer is in, read from and written
// to the model that holds the layer now (layer.owner). So kiln.variableGrads
// and optimizer.minimize without a list find them, as in TF.js, and a model
// called on tensors inside them (model_call.ts) trains. The values stay in
// the model: reading copies them out, assign() writes them in.
import type { TypedArray } from './dtypes.js';
import { withoutCounting } from './engine.js';
import type { Layer } from './layers.js';
import { Tensor } from './tensor.js';
import { AssignableStorage, uniqueVariableName, Variable } from './variable.js';

class WeightStorage implements AssignableStorage {
  readonly location = 'wasm' as const;

  constructor(private readonly layer: Layer, private readonly index: number, private readonly size: number) {}

  private weight() {
    const owner = this.layer.owner;
    if (!owner) throw new Error(`${this.layer.name}: its model was disposed`);
    return owner.layerVariables(this.layer)[this.index];
  }

  get disposed(): boolean { return !this.layer.owner; }
  get byteLength(): number { return this.disposed ? 0 : 4 * this.size; }
  readSync(): TypedArray {
    const t = withoutCounting(() => this.weight().read());
    const values = t.dataSync();
    t.dispose();
    return values;
  }
  async read(): Promise<TypedArray> { return this.readSync(); }
  swap(values: TypedArray): void {
    const w = this.weight();
    withoutCounting(() => w.write(new Tensor(values as Float32Array, w.shape.slice(), 'float32')));
  }
  dispose(): void { /* the model owns the values: model.dispose() frees them */ }
}

/** A layer weight as a Variable; trainable as its layer and kind say (set layer.trainable to change it). */
export class WeightVariable extends Variable {
  /** @internal */ constructor(private readonly layer: Layer, private readonly index: number, name: string, shape: number[]) {
    super({ shape, storage: new WeightStorage(layer, index, shape.reduce((a, b) => a * b, 1)) }, true, name, 'float32');
    Object.freeze(this);
  }

  get trainable(): boolean {
    const owner = this.layer.owner;
    return !!owner && owner.layerVariables(this.layer)[this.index].trainable;
  }
  set trainable(_: boolean) {
    throw new Error(`variable '${this.name}': a model weight is trainable as its layer is; set ${this.layer.name}.trainable instead`);
  }

  /** The model owns the values: model.dispose() frees them, this does nothing. */
  dispose(): void {}
}

const byLayer = new WeakMap<Layer, WeightVariable[]>();

/** @internal The Variables of a built layer's weights (made on first use, then the same objects). */
export function layerWeightVariables(layer: Layer): WeightVariable[] {
  const owner = layer.owner;
  if (!owner) return [];
  const weights = owner.layerVariables(layer);
  let vars = byLayer.get(layer);
  if (!vars || vars.length !== weights.length) {
    vars = withoutCounting(() => weights.map((w, i) => new WeightVariable(layer, i, uniqueVariableName(w.name), w.shape.slice())));
    byLayer.set(layer, vars);
  }
  return vars;
}
