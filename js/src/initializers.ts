// TF.js's tf.initializers: objects naming how a weight starts, for layer
// arguments (kernelInitializer: kiln.initializers.heNormal()) and a custom
// layer's addWeight(). The core draws the values (src/train/initializer.h)
// from the model's seed; each object serializes as TF.js's {className, config}.

type Params = Record<string, number | string | undefined | null>;

export class Initializer {
  /** @internal */
  constructor(private readonly className: string, private readonly config: Params) {}
  getClassName(): string { return this.className; }
  getConfig(): Params { return { ...this.config }; }
  /** @internal What a layer config holds (JSON.stringify uses it). */
  toJSON(): { className: string; config: Params } { return { className: this.className, config: this.getConfig() }; }
}

// An initializer factory taking TF.js's arguments `keys` (checked: an unknown
// key, or a seed, is an error rather than a value quietly dropped).
function factory(className: string, keys: string[]) {
  return (args: Params = {}): Initializer => {
    if (args === null || typeof args !== 'object') throw new Error(`initializers.${className}: arguments must be an object`);
    const config: Params = {};
    for (const [k, v] of Object.entries(args)) {
      if (v === undefined || v === null) continue;
      if (k === 'seed') throw new Error(`initializers.${className}: a seed of its own is not supported (Kiln seeds a whole model: kiln.sequential({seed}))`);
      if (!keys.includes(k)) throw new Error(`initializers.${className}: unknown argument '${k}'${keys.length ? ` (it takes ${keys.join(', ')})` : ''}`);
      config[k] = v;
    }
    return new Initializer(className, config);
  };
}

export const initializers = {
  zeros: factory('Zeros', []),
  ones: factory('Ones', []),
  constant: (args: { value: number }) => {
    if (!args || typeof args.value !== 'number' || !Number.isFinite(args.value)) throw new Error('initializers.constant: value must be a finite number');
    return factory('Constant', ['value'])(args);
  },
  randomUniform: factory('RandomUniform', ['minval', 'maxval']) as (args?: { minval?: number; maxval?: number }) => Initializer,
  randomNormal: factory('RandomNormal', ['mean', 'stddev']) as (args?: { mean?: number; stddev?: number }) => Initializer,
  truncatedNormal: factory('TruncatedNormal', ['mean', 'stddev']) as (args?: { mean?: number; stddev?: number }) => Initializer,
  varianceScaling: factory('VarianceScaling', ['scale', 'mode', 'distribution']) as (args?: {
    scale?: number; mode?: 'fanIn' | 'fanOut' | 'fanAvg'; distribution?: 'normal' | 'uniform' | 'truncatedNormal' }) => Initializer,
  glorotUniform: factory('GlorotUniform', []) as (args?: Record<string, never>) => Initializer,
  glorotNormal: factory('GlorotNormal', []) as (args?: Record<string, never>) => Initializer,
  heUniform: factory('HeUniform', []) as (args?: Record<string, never>) => Initializer,
  heNormal: factory('HeNormal', []) as (args?: Record<string, never>) => Initializer,
  leCunUniform: factory('LeCunUniform', []) as (args?: Record<string, never>) => Initializer,
  leCunNormal: factory('LeCunNormal', []) as (args?: Record<string, never>) => Initializer,
  orthogonal: factory('Orthogonal', ['gain']) as (args?: { gain?: number }) => Initializer,
  identity: factory('Identity', ['gain']) as (args?: { gain?: number }) => Initializer,
};
