// Kernel-level access for tests and benchmarks (not needed by applications):
// the wasm GEMM micro-kernels of the loaded variant, and one product run with
// a named kernel or the scalar "reference".
import { mod, coreError, heapF32, copyIn, alloc, free } from './backend.js';
import { ACTIVATIONS, ActivationName, codeOf } from './codes.js';

// The loaded emscripten module and a view of its memory (the fuzz-corpus
// script reads what the core was handed).
export { mod as wasmModule, heapU8 } from './backend.js';

export interface GemmArgs {
  transA?: boolean;
  transB?: boolean;
  m: number;
  n: number;
  k: number;
  a: Float32Array;      // op(A) is [m, k]
  b: Float32Array;      // op(B) is [k, n]
  bias?: Float32Array;  // [n]
  c?: Float32Array;     // [m, n]: initial C when accumulate
  accumulate?: boolean;
  activation?: ActivationName;
}

export function gemmKernels(): string[] {
  const m = mod();
  return Array.from({ length: m._kiln_gemm_kernel_count() }, (_, i) => m.UTF8ToString(m._kiln_gemm_kernel_at(i)));
}

/** C = act(op(A) op(B) (+ C) + bias) with the named kernel; returns C. */
export function gemm(kernel: string, g: GemmArgs): Float32Array {
  const m = mod();
  const ptrs: number[] = [];
  try {
    const name = alloc(kernel.length * 4 + 1, 'kernel name');
    ptrs.push(name);
    m.stringToUTF8(kernel, name, kernel.length * 4 + 1);
    const a = copyIn(g.a, 'gemm A'), b = copyIn(g.b, 'gemm B');
    const c = g.c ? copyIn(g.c, 'gemm C') : alloc(g.m * g.n * 4, 'gemm C');
    const bias = g.bias ? copyIn(g.bias, 'gemm bias') : 0;
    ptrs.push(a, b, c, bias);
    const ok = m._kiln_gemm(name, g.transA ? 1 : 0, g.transB ? 1 : 0, g.m, g.n, g.k, a, b, bias, c,
      g.accumulate ? 1 : 0, codeOf(ACTIVATIONS, g.activation ?? 'linear', 'activation'));
    if (!ok) throw coreError('gemm');
    return heapF32().slice(c >> 2, (c >> 2) + g.m * g.n);
  } finally {
    ptrs.forEach(free);
  }
}

/** The layer classes the loaded core knows (src/layers/registry.cc). */
export function layerClasses(): string[] {
  return JSON.parse(mod().UTF8ToString(mod()._kiln_layer_classes()));
}
