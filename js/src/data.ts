// TF.js's tf.data (tfjs-data): lazy, asynchronous datasets of elements
// (numbers, tensors, or arrays and plain objects of them) with the same
// sources (array, generator, csv, zip) and the same chainable steps (map,
// filter, batch, shuffle, take, skip, repeat, prefetch, concatenate), for
// model.fitDataset. Batching stacks elements with the ops API.
import * as ops from './ops.js';
import { nodeImport } from './backend.js';
import { tidy } from './engine.js';
import { Tensor, tensor } from './tensor.js';

type Element = any;
type Iter<T> = { next(): Promise<IteratorResult<T>> };

// A small seeded generator for shuffle (mulberry32), so a seed repeats an order.
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isContainer = (v: unknown): v is Element[] | Record<string, Element> =>
  Array.isArray(v) || (typeof v === 'object' && v !== null && !(v instanceof Tensor) && Object.getPrototypeOf(v) === Object.prototype);

// An array of numbers (or of such arrays): a leaf, batched into one tensor, as TF.js does.
const isNumericArray = (v: unknown): boolean =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' || typeof x === 'boolean' || isNumericArray(x));

/** Stacks a batch of like-structured elements: numbers, numeric arrays and tensors become one tensor, containers are batched per key. */
function stackBatch(items: Element[], what: string): Element {
  const first = items[0];
  if (isNumericArray(first)) return tensor(items as number[][]);
  if (Array.isArray(first)) return first.map((_, k) => stackBatch(items.map((e) => e[k]), what));
  if (isContainer(first)) return Object.fromEntries(Object.keys(first).map((k) => [k, stackBatch(items.map((e) => e[k]), what)]));
  if (first instanceof Tensor) return ops.stack(items as Tensor[]);
  if (typeof first === 'number') return tensor(items as number[], [items.length], 'float32');
  if (typeof first === 'boolean') return tensor(items as boolean[], [items.length], 'bool');
  if (typeof first === 'string') return items;
  throw new Error(`${what}: cannot batch an element of type ${typeof first}`);
}

// Tensors in an element, in arrays and plain objects.
function tensorsIn(e: Element, out: Set<Tensor> = new Set()): Set<Tensor> {
  if (e instanceof Tensor) out.add(e);
  else if (isContainer(e)) for (const v of Object.values(e)) tensorsIn(v, out);
  return out;
}

// The element with every tensor copied (array() hands out copies, as TF.js
// does, so later steps may dispose what they consume).
function deepClone(e: Element): Element {
  if (e instanceof Tensor) return ops.clone(e);
  if (Array.isArray(e)) return e.map(deepClone);
  if (isContainer(e)) return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, deepClone(v)]));
  return e;
}

function disposeElement(e: Element): void {
  if (e instanceof Tensor) e.dispose();
  else if (isContainer(e)) for (const v of Object.values(e)) disposeElement(v);
}

/** A dataset: iterating it runs its chain from the source each time. */
export class Dataset<T = Element> {
  /** Number of elements when known (Infinity for endless, null for unknown), as TF.js. */
  readonly size: number | null;
  private readonly make: () => Promise<Iter<T>> | Iter<T>;

  /** @internal Use kiln.data.array, generator, csv or zip. */
  constructor(make: () => Promise<Iter<T>> | Iter<T>, size: number | null) {
    this.make = make;
    this.size = size;
  }

  /** A fresh iterator over the elements. */
  async iterator(): Promise<Iter<T>> {
    return this.make();
  }

  map<O>(transform: (value: T) => O): Dataset<O> {
    if (typeof transform !== 'function') throw new Error('dataset.map: expects a function');
    return new Dataset<O>(async () => {
      const it = await this.iterator();
      return {
        next: async () => {
          const r = await it.next();
          if (r.done) return { done: true, value: undefined };
          // As TF.js: tensors of the element that the result does not carry on are disposed.
          const value = tidy(() => transform(r.value) as any) as O;
          const kept = tensorsIn(value);
          for (const t of tensorsIn(r.value)) if (!kept.has(t)) t.dispose();
          return { done: false, value };
        },
      };
    }, this.size);
  }

  mapAsync<O>(transform: (value: T) => Promise<O>): Dataset<O> {
    if (typeof transform !== 'function') throw new Error('dataset.mapAsync: expects a function');
    return new Dataset<O>(async () => {
      const it = await this.iterator();
      return {
        next: async () => {
          const r = await it.next();
          return r.done ? { done: true, value: undefined } : { done: false, value: await transform(r.value) };
        },
      };
    }, this.size);
  }

  filter(predicate: (value: T) => boolean): Dataset<T> {
    if (typeof predicate !== 'function') throw new Error('dataset.filter: expects a function');
    return new Dataset<T>(async () => {
      const it = await this.iterator();
      return {
        next: async () => {
          for (;;) {
            const r = await it.next();
            if (r.done || predicate(r.value)) return r;
            disposeElement(r.value);
          }
        },
      };
    }, this.size === Infinity ? Infinity : null);
  }

  /** Groups batchSize elements (the last batch smaller when smallLastBatch, else dropped). */
  batch(batchSize: number, smallLastBatch = true): Dataset<Element> {
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`dataset.batch: batchSize must be a positive integer, got ${batchSize}`);
    const size = this.size === null || this.size === Infinity ? this.size
      : smallLastBatch ? Math.ceil(this.size / batchSize) : Math.floor(this.size / batchSize);
    return new Dataset<Element>(async () => {
      const it = await this.iterator();
      return {
        next: async () => {
          const items: T[] = [];
          while (items.length < batchSize) {
            const r = await it.next();
            if (r.done) break;
            items.push(r.value);
          }
          if (items.length === 0 || (items.length < batchSize && !smallLastBatch)) {
            for (const e of items) disposeElement(e);
            return { done: true, value: undefined };
          }
          const batch = tidy(() => stackBatch(items, 'dataset.batch'));
          for (const e of items) disposeElement(e);
          return { done: false, value: batch };
        },
      };
    }, size);
  }

  /** Shuffles within a window of bufferSize elements (TF.js's rule), reshuffled each iteration unless asked not to. */
  shuffle(bufferSize: number, seed?: string | number, reshuffleEachIteration = true): Dataset<T> {
    if (!Number.isInteger(bufferSize) || bufferSize <= 0) throw new Error(`dataset.shuffle: bufferSize must be a positive integer, got ${bufferSize}`);
    const base = seed === undefined ? Math.floor(Math.random() * 2 ** 32)
      : typeof seed === 'number' ? seed : [...String(seed)].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261);
    let pass = 0;
    return new Dataset<T>(async () => {
      const random = seededRandom(reshuffleEachIteration ? base + pass++ : base);
      const it = await this.iterator();
      const buffer: T[] = [];
      let ended = false;
      return {
        next: async () => {
          while (!ended && buffer.length < bufferSize) {
            const r = await it.next();
            if (r.done) ended = true;
            else buffer.push(r.value);
          }
          if (buffer.length === 0) return { done: true, value: undefined };
          const i = Math.floor(random() * buffer.length);
          const value = buffer[i];
          buffer[i] = buffer[buffer.length - 1];
          buffer.pop();
          return { done: false, value };
        },
      };
    }, this.size);
  }

  take(count: number): Dataset<T> {
    if (!(count >= 0)) throw new Error(`dataset.take: count must be non-negative, got ${count}`);
    return new Dataset<T>(async () => {
      const it = await this.iterator();
      let taken = 0;
      return { next: async () => (taken++ < count ? it.next() : { done: true, value: undefined }) };
    }, this.size === null ? null : Math.min(this.size, count));
  }

  skip(count: number): Dataset<T> {
    if (!(count >= 0)) throw new Error(`dataset.skip: count must be non-negative, got ${count}`);
    return new Dataset<T>(async () => {
      const it = await this.iterator();
      let skipped = 0;
      return {
        next: async () => {
          while (skipped < count) {
            skipped++;
            const r = await it.next();
            if (r.done) return r;
            disposeElement(r.value);
          }
          return it.next();
        },
      };
    }, this.size === null ? null : this.size === Infinity ? Infinity : Math.max(0, this.size - count));
  }

  /** The elements `count` times over (endlessly without a count). */
  repeat(count?: number): Dataset<T> {
    const times = count === undefined || count < 0 ? Infinity : count;
    return new Dataset<T>(async () => {
      let round = 0;
      let it: Iter<T> | null = null;
      return {
        next: async () => {
          while (round < times) {
            it ??= await this.iterator();
            const r = await it.next();
            if (!r.done) return r;
            it = null;
            round++;
            if (this.size === 0) break;
          }
          return { done: true, value: undefined };
        },
      };
    }, this.size === null ? null : times === Infinity ? (this.size === 0 ? 0 : Infinity) : this.size * times);
  }

  /** Reads up to bufferSize elements ahead. */
  prefetch(bufferSize: number): Dataset<T> {
    if (!(bufferSize > 0)) throw new Error(`dataset.prefetch: bufferSize must be positive, got ${bufferSize}`);
    return new Dataset<T>(async () => {
      const it = await this.iterator();
      const ahead: Promise<IteratorResult<T>>[] = [];
      return {
        next: async () => {
          while (ahead.length < bufferSize) ahead.push(it.next());
          return ahead.shift()!;
        },
      };
    }, this.size);
  }

  concatenate(other: Dataset<T>): Dataset<T> {
    if (!(other instanceof Dataset)) throw new Error('dataset.concatenate: expects a Dataset');
    return new Dataset<T>(async () => {
      let it: Iter<T> = await this.iterator();
      let second = false;
      return {
        next: async () => {
          const r = await it.next();
          if (!r.done || second) return r;
          second = true;
          it = await other.iterator();
          return it.next();
        },
      };
    }, this.size === null || other.size === null ? null : this.size + other.size);
  }

  async forEachAsync(f: (value: T) => void | Promise<void>): Promise<void> {
    const it = await this.iterator();
    for (let r = await it.next(); !r.done; r = await it.next()) await f(r.value);
  }

  async toArray(): Promise<T[]> {
    if (this.size === Infinity) throw new Error('dataset.toArray: the dataset is endless');
    const out: T[] = [];
    await this.forEachAsync((v) => { out.push(v); });
    return out;
  }
}

/** A dataset of the array's items (tensors in them copied for each pass, so the array's own stay). */
export function array<T>(items: T[]): Dataset<T> {
  if (!Array.isArray(items)) throw new Error('kiln.data.array: expects an array');
  return new Dataset<T>(() => {
    let i = 0;
    return { next: async () => (i < items.length ? { done: false, value: deepClone(items[i++]) } : { done: true, value: undefined }) };
  }, items.length);
}

/** A dataset of what a (sync or async) generator function yields, restarted for each iteration. */
export function generator<T>(make: () => Iterator<T> | AsyncIterator<T> | Promise<Iterator<T> | AsyncIterator<T>>): Dataset<T> {
  if (typeof make !== 'function') throw new Error('kiln.data.generator: expects a generator function');
  return new Dataset<T>(async () => {
    const it = await make();
    if (!it || typeof (it as Iterator<T>).next !== 'function') throw new Error('kiln.data.generator: the function must return an iterator');
    return { next: async () => (await (it as AsyncIterator<T>).next()) as IteratorResult<T> };
  }, null);
}

/** Elements of several datasets side by side (an array or object of datasets), until the shortest ends. */
export function zip(datasets: Dataset[] | Record<string, Dataset>): Dataset<Element> {
  const entries = Array.isArray(datasets) ? datasets.map((d, i) => [String(i), d] as const) : Object.entries(datasets ?? {});
  if (entries.length === 0 || entries.some(([, d]) => !(d instanceof Dataset)))
    throw new Error('kiln.data.zip: expects a non-empty array or object of Datasets');
  const sizes = entries.map(([, d]) => d.size);
  const size = sizes.includes(null) ? null : Math.min(...(sizes as number[]));
  return new Dataset<Element>(async () => {
    const its = await Promise.all(entries.map(([, d]) => d.iterator()));
    return {
      next: async () => {
        const rs = await Promise.all(its.map((it) => it.next()));
        if (rs.some((r) => r.done)) return { done: true, value: undefined };
        const values = rs.map((r) => r.value);
        return { done: false, value: Array.isArray(datasets) ? values : Object.fromEntries(entries.map(([k], i) => [k, values[i]])) };
      },
    };
  }, size);
}

export interface ColumnConfig {
  required?: boolean;
  dtype?: 'float32' | 'int32' | 'bool' | 'string';
  default?: number | string | boolean;
  isLabel?: boolean;
}
export interface CSVConfig {
  hasHeader?: boolean;
  columnNames?: string[];
  columnConfigs?: Record<string, ColumnConfig>;
  configuredColumnsOnly?: boolean;
  delimiter?: string;
  delimWhitespace?: boolean;
}

/** Splits a CSV line; double-quoted fields may hold the delimiter and "" for a quote. */
function splitLine(line: string, delimiter: string, whitespace: boolean): string[] {
  if (whitespace) return line.trim().split(/\s+/);
  const out: string[] = [];
  let field = '', quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') field += '"', i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (line.startsWith(delimiter, i)) out.push(field), field = '', i += delimiter.length - 1;
    else field += ch;
  }
  out.push(field);
  return out;
}

async function readText(source: string | URL | { text(): Promise<string> }): Promise<string> {
  if (typeof source === 'object' && source !== null && typeof (source as { text?: unknown }).text === 'function' && !(source instanceof URL))
    return (source as { text(): Promise<string> }).text();
  const url = String(source);
  const isNode = typeof process !== 'undefined' && !!(process as { versions?: { node?: string } }).versions?.node;
  if (isNode && (url.startsWith('file://') || !/^[a-z][a-z0-9+.-]*:/i.test(url))) {
    const { readFile } = await nodeImport('node:fs/promises');
    return readFile(url.startsWith('file://') ? new URL(url) : url, 'utf8');
  }
  const r = await fetch(url);
  if (!r.ok) throw new Error(`kiln.data.csv: ${url}: HTTP ${r.status}`);
  return r.text();
}

/**
 * Rows of a CSV file (a URL, a path in Node, or anything with text()), as
 * TF.js's tf.data.csv: objects by column name, or {xs, ys} when a column is
 * configured as the label. Numbers are parsed; an empty field takes the
 * column's default, or is an error for a required column.
 */
export function csv(source: string | URL | { text(): Promise<string> }, config: CSVConfig = {}): Dataset<Element> {
  const what = 'kiln.data.csv';
  const delimiter = config.delimiter ?? ',';
  const whitespace = config.delimWhitespace ?? false;
  const hasHeader = config.hasHeader ?? true;
  const configs = config.columnConfigs ?? {};
  let rowsPromise: Promise<{ names: string[]; lines: string[] }> | null = null;
  const rows = () => (rowsPromise ??= readText(source).then((text) => {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const names = config.columnNames ?? (hasHeader ? splitLine(lines[0] ?? '', delimiter, whitespace) : []);
    if (names.length === 0) throw new Error(`${what}: no column names (give columnNames, or a header line with hasHeader)`);
    if (new Set(names).size !== names.length) throw new Error(`${what}: duplicate column names ${JSON.stringify(names)}`);
    for (const key of Object.keys(configs))
      if (!names.includes(key)) throw new Error(`${what}: columnConfigs names '${key}', which is not a column (${names.join(', ')})`);
    return { names, lines: hasHeader && !config.columnNames ? lines.slice(1) : lines.slice(hasHeader ? 1 : 0) };
  }));
  return new Dataset<Element>(async () => {
    const { names, lines } = await rows();
    const labels = names.filter((n) => configs[n]?.isLabel);
    let i = 0;
    return {
      next: async () => {
        if (i >= lines.length) return { done: true, value: undefined };
        const fields = splitLine(lines[i], delimiter, whitespace);
        const lineNo = i + (hasHeader ? 2 : 1);
        i++;
        if (fields.length !== names.length) throw new Error(`${what}: line ${lineNo} has ${fields.length} fields, the header ${names.length}`);
        const xs: Record<string, number | string | boolean> = {}, ys: Record<string, number | string | boolean> = {};
        names.forEach((name, k) => {
          const c = configs[name] ?? {};
          if (config.configuredColumnsOnly && !configs[name]) return;
          let value: number | string | boolean;
          const raw = fields[k];
          if (raw === '') {
            if (c.default !== undefined) value = c.default;
            else if (c.required) throw new Error(`${what}: line ${lineNo}: the required column '${name}' is empty`);
            else value = c.dtype === 'string' ? '' : NaN;
          } else if (c.dtype === 'string') value = raw;
          else if (c.dtype === 'bool') value = raw === '1' || raw.toLowerCase() === 'true';
          else {
            const n = Number(raw);
            value = Number.isNaN(n) && c.dtype === undefined ? raw : c.dtype === 'int32' ? Math.trunc(n) : n;
          }
          (c.isLabel ? ys : xs)[name] = value;
        });
        return { done: false, value: labels.length ? { xs, ys } : xs };
      },
    };
  }, null);
}

export const data = { array, generator, zip, csv, Dataset };
