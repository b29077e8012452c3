// TF.js's name conventions (tfjs-layers generic_utils and getUid): camel and
// snake case for configs, and the automatic layer names built from them
// ('dense_Dense1', 'conv2d_Conv2D1', 'simple_rnn_SimpleRNN1'; Python Keras
// would say 'dense_1'), so code that looks layers up by their TF.js default
// names finds them.

export function toCamelCase(s: string): string {
  return s.length <= 1 || !s.includes('_') ? s : s.replace(/[_]+(\w|$)/g, (_m, c: string) => c.toUpperCase());
}

export function toSnakeCase(s: string): string {
  const snake = s.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  return snake[0] !== '_' ? snake : 'private' + snake;
}

// TF.js's getUid: one counter per prefix for the whole process, appended to it.
const uidCounts = new Map<string, number>();
function getUid(prefix: string): string {
  const n = (uidCounts.get(prefix) ?? 0) + 1;
  uidCounts.set(prefix, n);
  return `${prefix}${n}`;
}

/** A layer's automatic name as TF.js gives it: 'Conv2D' -> 'conv2d_Conv2D1', then 'conv2d_Conv2D2', ... */
export function uniqueLayerName(className: string): string {
  return `${toSnakeCase(className)}_${getUid(className)}`;
}

/** kiln.input()'s automatic name, as tf.input's: 'input1', 'input2', ... */
export function uniqueInputName(): string {
  return getUid('input');
}

/** A model's automatic name as TF.js gives it: sequential 'sequential_1', functional 'model1'. */
export function uniqueModelName(kind: 'sequential' | 'functional'): string {
  return kind === 'sequential' ? getUid('sequential_') : getUid('model');
}
