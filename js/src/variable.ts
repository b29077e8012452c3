// Variables (TF.js's tf.variable / tf.Variable): tensors whose values can be
// replaced (assign), registered by name so that variableGrads and the
// optimizers' minimize find the trainable ones. Not disposed by tidy().
import { DataType, TypedArray } from './dtypes.js';
import { keep } from './engine.js';
import { cast } from './ops.js';
import { TensorStorage, VariableStorage } from './storage.js';
import { Tensor } from './tensor.js';

/** Where a variable's values live: replaced whole by assign(), never changed in place. */
export interface AssignableStorage extends TensorStorage {
  swap(values: TypedArray): void;
}

const registry = new Map<string, Variable>();
let nextName = 0;

// Variables that live elsewhere (model weights, weight_variables.ts): each
// source lists its own, held weakly so a model nobody holds is still freed.
export interface VariableSource {
  weightVariables(): Variable[];
}
const sources = new Set<WeakRef<VariableSource>>();
const registeredSources = new WeakSet<VariableSource>();
const sourcedNames = new Set<string>();

/** @internal Makes `source`'s variables registered (variableGrads and minimize find them) while it lives. */
export function registerVariableSource(source: VariableSource): void {
  if (registeredSources.has(source)) return;  // a model registers again each time it is rebuilt
  registeredSources.add(source);
  sources.add(new WeakRef(source));
}

/** @internal `base`, or `base_1`, `base_2`, ... : a name no variable has (TF.js's unique tensor names); taken for a sourced variable. */
export function uniqueVariableName(base: string): string {
  let name = base;
  for (let k = 1; registry.has(name) || sourcedNames.has(name); k++) name = `${base}_${k}`;
  sourcedNames.add(name);
  return name;
}

export class Variable extends Tensor {
  readonly name: string;
  private readonly state: { trainable: boolean };

  /**
   * @internal Use kiln.variable(). `source`: the initial values (copied), or
   * the shape and storage of values kept elsewhere (a model weight's).
   */
  constructor(source: Tensor | { shape: number[]; storage: AssignableStorage }, trainable: boolean, name: string | undefined, dtype: DataType) {
    if (source instanceof Tensor) {
      const values = (source.dataSync() as TypedArray).slice() as TypedArray;
      super(values, source.shape.slice(), dtype, new VariableStorage(values));
    } else {
      super(null, source.shape.slice(), dtype, source.storage);
    }
    const chosen = name ?? String(nextName++);
    if (source instanceof Tensor) {
      if (registry.has(chosen) || sourcedNames.has(chosen))
        throw new Error(`kiln.variable: a variable named '${chosen}' already exists (names are unique until disposed)`);
      registry.set(chosen, this);
      keep(this);
    }
    this.name = chosen;
    this.state = { trainable };
    if (new.target === Variable) Object.freeze(this);
  }

  /** Whether variableGrads() and optimizer.minimize() without a list update it. */
  get trainable(): boolean { return this.state.trainable; }
  set trainable(v: boolean) {
    if (typeof v !== 'boolean') throw new Error(`variable '${this.name}': trainable must be a boolean, got ${typeof v}`);
    this.state.trainable = v;
  }

  /** Replaces the values with newValue's (same shape and dtype, as TF.js requires). */
  assign(newValue: Tensor): void {
    if (!(newValue instanceof Tensor)) throw new Error(`variable '${this.name}': assign() expects a Tensor`);
    if (newValue.dtype !== this.dtype)
      throw new Error(`variable '${this.name}': the new value's dtype (${newValue.dtype}) must match the variable's (${this.dtype})`);
    if (newValue.shape.length !== this.shape.length || newValue.shape.some((d, i) => d !== this.shape[i]))
      throw new Error(`variable '${this.name}': the new value's shape [${newValue.shape}] must match the variable's [${this.shape}]`);
    (this.storage as AssignableStorage).swap(newValue.dataSync());
  }

  dispose(): void {
    if (registry.get(this.name) === this) registry.delete(this.name);
    super.dispose();
  }
}

/** kiln.variable(initialValue, trainable = true, name?, dtype?) as in TF.js (a dtype that differs casts the value). */
export function variable(initialValue: Tensor, trainable = true, name?: string, dtype?: DataType): Variable {
  if (!(initialValue instanceof Tensor)) throw new Error('kiln.variable: the initial value must be a Tensor');
  if (initialValue.isDisposed) throw new Error('kiln.variable: the initial value is disposed');
  if (name !== undefined && typeof name !== 'string') throw new Error('kiln.variable: name must be a string');
  if (dtype === undefined || dtype === initialValue.dtype) return new Variable(initialValue, trainable, name, initialValue.dtype);
  const c = cast(initialValue, dtype);
  try {
    return new Variable(c, trainable, name, dtype);
  } finally {
    c.dispose();
  }
}

/** The registered variables (TF.js's engine.registeredVariables), by name: kiln.variable()'s and live models' weights. */
export function registeredVariables(): Map<string, Variable> {
  const all = new Map(registry);
  for (const ref of sources) {
    const source = ref.deref();
    if (!source) {
      sources.delete(ref);
      continue;
    }
    for (const v of source.weightVariables()) if (!v.isDisposed) all.set(v.name, v);
  }
  return all;
}
