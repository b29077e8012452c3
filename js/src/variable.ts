// Variables (TF.js's tf.variable / tf.Variable): tensors whose values can be
// replaced (assign), registered by name so that variableGrads and the
// optimizers' minimize find the trainable ones. Not disposed by tidy().
import { DataType, TypedArray } from './dtypes.js';
import { keep } from './engine.js';
import { cast } from './ops.js';
import { VariableStorage } from './storage.js';
import { Tensor } from './tensor.js';

const registry = new Map<string, Variable>();
let nextName = 0;

export class Variable extends Tensor {
  readonly name: string;
  private readonly state: { trainable: boolean };

  /** @internal Use kiln.variable(). */
  constructor(initial: Tensor, trainable: boolean, name: string | undefined, dtype: DataType) {
    const values = (initial.dataSync() as TypedArray).slice() as TypedArray;
    super(values, initial.shape.slice(), dtype, new VariableStorage(values));
    const chosen = name ?? String(nextName++);
    if (registry.has(chosen)) throw new Error(`kiln.variable: a variable named '${chosen}' already exists (names are unique until disposed)`);
    this.name = chosen;
    this.state = { trainable };
    registry.set(chosen, this);
    keep(this);
    Object.freeze(this);
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
    (this.storage as VariableStorage).swap(newValue.dataSync());
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

/** The registered variables (TF.js's engine.registeredVariables), by name. */
export function registeredVariables(): Map<string, Variable> {
  return registry;
}
