// Which backend the core's plans prefer (TF.js's tf.setBackend / tf.getBackend).
// The wasm module is the host; inside it, plans place each step on a backend:
// 'cpu' runs the fast SIMD kernels (the default), 'reference' the plain
// reference kernels in memory of its own (for checking numerics and the
// backend seam the WebGPU backend will use). A step the chosen backend lacks
// falls back to 'cpu', and model.placement() reports it; `strict` makes that
// an error instead.
import { coreError, mod, withCString } from './backend.js';

export interface SetBackendOptions {
  /** Refuse to fall back: a model with an op the backend lacks fails to run, naming it. */
  strict?: boolean;
}

/** One compiled plan's placement, as model.placement() returns it. */
export interface PlanPlacement {
  plan: 'predict' | 'evaluate' | 'train' | 'gradients';
  batchSize: number;
  /**
   * Every step in run order: a graph node, or a 'Copy' between backends (backend: its
   * destination). `constant`: it reads only weights, and runs once per weight change.
   */
  steps: { op: string; backend: string; node?: number; fallback?: string; constant?: boolean }[];
  copies: number;
  /** Steps the preferred backend did not take; each step says why in `fallback`. */
  fallbacks: number;
}

/** The backends plans can prefer. */
export function backends(): string[] {
  return JSON.parse(mod().UTF8ToString(mod()._kiln_backend_names()));
}

/**
 * Makes `name` the backend plans prefer from now on (models re-place their
 * plans at their next call). 'wasm' names the default 'cpu' backend, which is
 * what runs inside the wasm module. Throws for a backend Kiln does not have.
 */
export async function setBackend(name: string, options: SetBackendOptions = {}): Promise<boolean> {
  for (const key of Object.keys(options))
    if (key !== 'strict') throw new Error(`kiln.setBackend: unknown option '${key}' (known: strict)`);
  withCString(name === 'wasm' ? 'cpu' : name, 'a backend name', (ptr) => {
    if (!mod()._kiln_set_backend(ptr, options.strict ? 1 : 0)) throw coreError('kiln.setBackend');
  });
  return true;
}

/** The backend plans prefer now: 'cpu' or 'reference'. */
export function getBackend(): string {
  return mod().UTF8ToString(mod()._kiln_backend());
}
