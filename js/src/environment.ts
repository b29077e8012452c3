// TF.js's environment helpers: kiln.env() (flags, with TF.js's rule that
// only registered flags can be set), kiln.nextFrame(), and kiln.util's
// plain-JavaScript helpers. The flags Kiln has are honoured: DEBUG checks
// every op's float results for NaN (TF.js's debug mode throws the same way),
// and the IS_* flags say where the module runs; any other flag is refused.
type FlagValue = boolean | number | string;

const isNode = typeof process !== 'undefined' && !!(process as { versions?: { node?: string } }).versions?.node;
const isBrowser = typeof window !== 'undefined' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

interface Flag {
  initial: () => FlagValue;
  readonly?: boolean;
}
const FLAGS: Record<string, Flag> = {
  DEBUG: { initial: () => false },
  IS_BROWSER: { initial: () => isBrowser, readonly: true },
  IS_NODE: { initial: () => isNode, readonly: true },
};

export class Environment {
  private values = new Map<string, FlagValue>();

  private flag(name: string, what: string): Flag {
    const f = FLAGS[name];
    if (!f) throw new Error(`kiln.env().${what}: '${name}' is not a flag Kiln has (flags: ${Object.keys(FLAGS).join(', ')})`);
    return f;
  }

  get(name: string): FlagValue {
    const f = this.flag(name, 'get');
    if (!this.values.has(name)) this.values.set(name, f.initial());
    return this.values.get(name)!;
  }
  getBool(name: string): boolean { return this.get(name) as boolean; }
  getNumber(name: string): number { return this.get(name) as number; }

  set(name: string, value: FlagValue): void {
    const f = this.flag(name, 'set');
    if (f.readonly) throw new Error(`kiln.env().set: '${name}' describes where Kiln runs and cannot be set`);
    if (typeof value !== typeof f.initial()) throw new Error(`kiln.env().set: '${name}' takes a ${typeof f.initial()}, got ${typeof value}`);
    this.values.set(name, value);
  }

  /** Every flag and its value. */
  getFlags(): Record<string, FlagValue> {
    return Object.fromEntries(Object.keys(FLAGS).map((k) => [k, this.get(k)]));
  }

  /** Flags back to their initial values. */
  reset(): void { this.values.clear(); }
}

const environment = new Environment();
export function env(): Environment { return environment; }

/** @internal True when DEBUG is set: op_runner.ts checks results for NaN. */
export function debugMode(): boolean { return environment.getBool('DEBUG'); }

/** Resolves at the next animation frame in a page, or the next turn of the event loop elsewhere (TF.js's nextFrame). */
export function nextFrame(): Promise<void> {
  const g = globalThis as { requestAnimationFrame?: (cb: () => void) => void; setImmediate?: (cb: () => void) => void };
  return new Promise((resolve) => {
    if (typeof g.requestAnimationFrame === 'function') g.requestAnimationFrame(() => resolve());
    else if (typeof g.setImmediate === 'function') g.setImmediate(() => resolve());
    else setTimeout(resolve, 0);
  });
}

type Nested = number | boolean | string | Nested[];

/** tf.util's helpers. */
export const util = {
  sizeFromShape(shape: number[]): number {
    return shape.reduce((a, b) => a * b, 1);
  },
  arraysEqual(a: ArrayLike<unknown>, b: ArrayLike<unknown>): boolean {
    if (a === b) return true;
    if (a == null || b == null || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  },
  assert(expr: boolean, msg: () => string): void {
    if (!expr) throw new Error(typeof msg === 'string' ? msg : msg());
  },
  /** Fisher-Yates in place, with Math.random as TF.js. */
  shuffle(array: unknown[] | Uint32Array | Int32Array | Float32Array): void {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [array[i], array[j]] = [array[j], array[i]];
    }
  },
  /** Two arrays shuffled by the same permutation. */
  shuffleCombo(array: unknown[] | Uint32Array | Int32Array | Float32Array, array2: unknown[] | Uint32Array | Int32Array | Float32Array): void {
    if (array.length !== array2.length) throw new Error(`kiln.util.shuffleCombo: the arrays' lengths differ (${array.length} and ${array2.length})`);
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [array[i], array[j]] = [array[j], array[i]];
      [array2[i], array2[j]] = [array2[j], array2[i]];
    }
  },
  createShuffledIndices(n: number): Uint32Array {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    util.shuffle(out);
    return out;
  },
  flatten(arr: Nested | Nested[], result: Nested[] = []): Nested[] {
    if (Array.isArray(arr)) for (const v of arr) util.flatten(v, result);
    else result.push(arr);
    return result;
  },
  now(): number {
    return performance.now();
  },
  encodeString(s: string, encoding = 'utf-8'): Uint8Array {
    if (encoding.toLowerCase() !== 'utf-8' && encoding.toLowerCase() !== 'utf8') throw new Error(`kiln.util.encodeString: only utf-8, got '${encoding}'`);
    return new TextEncoder().encode(s);
  },
  decodeString(bytes: Uint8Array, encoding = 'utf-8'): string {
    return new TextDecoder(encoding).decode(bytes);
  },
  isTypedArray(a: unknown): boolean {
    return ArrayBuffer.isView(a) && !(a instanceof DataView);
  },
};
